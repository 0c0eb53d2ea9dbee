/* Put bandwidth (osu_put_bw, -w allocate -s flush): rank 1's window of `size` x `--window`
 * bytes is made by MPI_Win_allocate; rank 0 takes one shared lock on rank 1 and, each
 * iteration, puts a window of messages of `size` bytes, each from its own part of the origin
 * buffer to its own part of the target window, then calls MPI_Win_flush once; rank 1 waits in a
 * barrier. Timed on rank 0 in BATCHES batches: avg_us is the time per message, min/max the
 * fastest and slowest batch, mb_per_s the bytes put per second over all batches, in 10^6 bytes.
 * Mirrors OneSided.putBandwidth in Benchmarks/mpi-bench. */
#include "common.h"

int main(int argc, char **argv) {
    int rank, ranks;
    options_t options;
    benchmark_init(&argc, &argv, "put-bw", 2, &options, &rank, &ranks);
    const int window = options.window;
    for (int s = 0; s < options.size_count; s++) {
        long size = options.sizes[s];
        char *origin = benchmark_buffer(size * window), *base = NULL;
        MPI_Win win;
        MPI_Win_allocate(rank == 1 ? size * window : 0, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
        int timed, warmup;
        window_iterations_for(&options, size, &timed, &warmup);
        int batches = timed < BATCHES ? timed : BATCHES, per_batch = timed / batches;
        batch_stats_t stats = {0};
        double total = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            MPI_Win_lock(MPI_LOCK_SHARED, 1, 0, win);
            for (int batch = -1; batch < batches; batch++) {
                int rounds = batch < 0 ? warmup : per_batch;
                double start = MPI_Wtime();
                for (int i = 0; i < rounds; i++) {
                    for (int w = 0; w < window; w++)
                        MPI_Put(origin + (long)w * size, (int)size, MPI_BYTE, 1, (MPI_Aint)w * size, (int)size, MPI_BYTE, win);
                    MPI_Win_flush(1, win);
                }
                double seconds = MPI_Wtime() - start;
                if (batch < 0) continue;
                total += seconds;
                batch_stats_add(&stats, seconds / ((double)rounds * window) * 1e6);
            }
            MPI_Win_unlock(1, win);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            double bytes = (double)size * window * per_batch * batches;
            print_json("put-bw", ranks, size, batch_stats_mean(&stats), stats.min, stats.max,
                       (long)per_batch * batches, total > 0 ? bytes / total / 1e6 : 0);
        }
        MPI_Win_free(&win);
        free(origin);
    }
    MPI_Finalize();
    return 0;
}
