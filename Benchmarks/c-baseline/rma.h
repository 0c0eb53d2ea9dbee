/* The loop the one-sided latency baselines share (osu_put_latency, osu_get_latency,
 * osu_acc_latency with -w allocate -s flush): rank 1's window is made by MPI_Win_allocate with
 * elements of `element` bytes; rank 0 takes one shared lock on rank 1 and runs `operation` on
 * `size` bytes of it, each followed by MPI_Win_flush; rank 1 waits in a barrier. Sizes count whole
 * elements (smaller ones are left out). avg_us is the time per operation and flush, averaged over
 * BATCHES batches; min/max are the fastest and slowest batch. Mirrors OneSided.latency in
 * Benchmarks/mpi-bench. `operation` is a constant at each call, so the compiler inlines it: the
 * timed loop is what a hand-written one would be. */
#ifndef RMA_H
#define RMA_H
#include "common.h"

/* One operation of `count` elements from or into `origin` on rank 1's window at displacement 0. */
typedef void (*rma_operation_t)(void *origin, int count, MPI_Win win);

static inline int rma_latency_main(int argc, char **argv, const char *name, int element, rma_operation_t operation) {
    int rank, ranks;
    options_t options;
    benchmark_init(&argc, &argv, name, 2, &options, &rank, &ranks);
    for (int s = 0; s < options.size_count; s++) {
        long count = options.sizes[s] / element;
        if (options.sizes[s] > 0 && count == 0) continue; /* smaller than one element */
        long size = count * element;
        char *origin = benchmark_buffer(size), *base = NULL;
        MPI_Win win;
        MPI_Win_allocate(rank == 1 ? size : 0, element, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
        memset(origin, 0, size > 0 ? (size_t)size : 1); /* accumulates add zeros, as mpi-bench does */
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
                    operation(origin, (int)count, win);
                    MPI_Win_flush(1, win);
                }
                double us = (MPI_Wtime() - start) / rounds * 1e6;
                if (batch >= 0) batch_stats_add(&stats, us);
            }
            MPI_Win_unlock(1, win);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) print_json(name, ranks, size, batch_stats_mean(&stats), stats.min, stats.max,
                                  (long)per_batch * batches, -1);
        MPI_Win_free(&win);
        free(origin);
    }
    MPI_Finalize();
    return 0;
}
#endif
