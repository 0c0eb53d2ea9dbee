/* Accumulate latency (osu_acc_latency, -w allocate -s flush): rank 1's window of int64_t is made
 * by MPI_Win_allocate; rank 0 takes one shared lock on rank 1 and accumulates (MPI_SUM) `size`
 * bytes of MPI_INT64_T, each accumulate followed by MPI_Win_flush; rank 1 waits in a barrier.
 * Sizes count whole 8-byte elements (1 to 7 bytes are left out). avg_us is the time per
 * accumulate and flush, averaged over BATCHES batches; min/max are the fastest and slowest
 * batch. Mirrors OneSided.accumulateLatency in Benchmarks/mpi-bench. */
#include <stdint.h>

#include "common.h"

int main(int argc, char **argv) {
    int rank, ranks;
    options_t options;
    benchmark_init(&argc, &argv, "accumulate-latency", 2, &options, &rank, &ranks);
    for (int s = 0; s < options.size_count; s++) {
        long count = options.sizes[s] / (long)sizeof(int64_t);
        if (options.sizes[s] > 0 && count == 0) continue; /* smaller than one element */
        long size = count * (long)sizeof(int64_t);
        int64_t *origin = benchmark_buffer(size), *base = NULL;
        MPI_Win win;
        MPI_Win_allocate(rank == 1 ? size : 0, sizeof(int64_t), MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
        memset(origin, 0, size > 0 ? (size_t)size : 1); /* sums of zeros, as mpi-bench adds */
        if (rank == 1) memset(base, 0, (size_t)size);
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
                    MPI_Accumulate(origin, (int)count, MPI_INT64_T, 1, 0, (int)count, MPI_INT64_T, MPI_SUM, win);
                    MPI_Win_flush(1, win);
                }
                double us = (MPI_Wtime() - start) / rounds * 1e6;
                if (batch >= 0) batch_stats_add(&stats, us);
            }
            MPI_Win_unlock(1, win);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) print_json("accumulate-latency", ranks, size, batch_stats_mean(&stats), stats.min, stats.max,
                                  (long)per_batch * batches, -1);
        MPI_Win_free(&win);
        free(origin);
    }
    MPI_Finalize();
    return 0;
}
