/* Put latency (osu_put_latency, -w allocate -s flush): rank 1's window is made by
 * MPI_Win_allocate; rank 0 takes one shared lock on rank 1 and puts `size` bytes, each put
 * followed by MPI_Win_flush; rank 1 waits in a barrier. avg_us is the time per put and flush,
 * averaged over BATCHES batches; min/max are the fastest and slowest batch. Mirrors
 * OneSided.putLatency in Benchmarks/mpi-bench. */
#include "common.h"

int main(int argc, char **argv) {
    int rank, ranks;
    options_t options;
    benchmark_init(&argc, &argv, "put-latency", 2, &options, &rank, &ranks);
    for (int s = 0; s < options.size_count; s++) {
        long size = options.sizes[s];
        char *origin = benchmark_buffer(size), *base = NULL;
        MPI_Win win;
        MPI_Win_allocate(rank == 1 ? size : 0, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
        int timed, warmup;
        iterations_for(&options, size, &timed, &warmup);
        int batches = timed < BATCHES ? timed : BATCHES, per_batch = timed / batches;
        batch_stats_t stats = {0};
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            MPI_Win_lock(MPI_LOCK_SHARED, 1, 0, win);
            for (int batch = -1; batch < batches; batch++) {
                int rounds = batch < 0 ? warmup : per_batch;
                double start = MPI_Wtime();
                for (int i = 0; i < rounds; i++) {
                    MPI_Put(origin, (int)size, MPI_BYTE, 1, 0, (int)size, MPI_BYTE, win);
                    MPI_Win_flush(1, win);
                }
                double us = (MPI_Wtime() - start) / rounds * 1e6;
                if (batch >= 0) batch_stats_add(&stats, us);
            }
            MPI_Win_unlock(1, win);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) print_json("put-latency", ranks, size, batch_stats_mean(&stats), stats.min, stats.max,
                                  (long)per_batch * batches, -1);
        MPI_Win_free(&win);
        free(origin);
    }
    MPI_Finalize();
    return 0;
}
