/* The cost of a request: ranks 0 and 1 each post a window of nonblocking receives from the
 * other and as many nonblocking sends to it (both directions at once, as osu_bibw), then
 * complete all of them with MPI_Waitall ("waitall"), or, built with -DCOMPLETION=1, one at a
 * time with MPI_Waitany ("waitany"), or with -DCOMPLETION=2 by calling MPI_Testsome until none
 * is left ("testsome"). A rank alone sends to itself. avg_us is the time per request (2 x window
 * requests per round), min/max the fastest and slowest batch. Mirrors PointToPoint.requests in
 * Benchmarks/mpi-bench. */
#include "common.h"

#ifndef COMPLETION
#define COMPLETION 0
#endif
#if COMPLETION == 0
#define NAME "waitall"
#elif COMPLETION == 1
#define NAME "waitany"
#else
#define NAME "testsome"
#endif

int main(int argc, char **argv) {
    int rank, ranks;
    options_t options;
    benchmark_init(&argc, &argv, NAME, 1, &options, &rank, &ranks);
    const int window = options.window;
    MPI_Request *requests = malloc(sizeof(MPI_Request) * 2 * window);
    int *indices = malloc(sizeof(int) * 2 * window);
    for (int s = 0; s < options.size_count; s++) {
        long size = options.sizes[s];
        char *send = benchmark_buffer(size), *receive = benchmark_buffer(size);
        int timed, warmup;
        window_iterations_for(&options, size, &timed, &warmup);
        int batches = timed < BATCHES ? timed : BATCHES, per_batch = timed / batches;
        batch_stats_t stats = {0};
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank < 2) {
            int peer = ranks > 1 ? 1 - rank : 0;
            for (int batch = -1; batch < batches; batch++) {
                int rounds = batch < 0 ? warmup : per_batch;
                double start = MPI_Wtime();
                for (int i = 0; i < rounds; i++) {
                    int pending = 0;
                    for (int w = 0; w < window; w++)
                        MPI_Irecv(receive, (int)size, MPI_BYTE, peer, 100, MPI_COMM_WORLD, &requests[pending++]);
                    for (int w = 0; w < window; w++)
                        MPI_Isend(send, (int)size, MPI_BYTE, peer, 100, MPI_COMM_WORLD, &requests[pending++]);
#if COMPLETION == 0
                    MPI_Waitall(pending, requests, MPI_STATUSES_IGNORE);
#elif COMPLETION == 1
                    for (int done = 0; done < pending; done++) {
                        int index;
                        MPI_Waitany(pending, requests, &index, MPI_STATUS_IGNORE);
                    }
#else
                    for (int done = 0; done < pending;) {
                        int completed;
                        MPI_Testsome(pending, requests, &completed, indices, MPI_STATUSES_IGNORE);
                        if (completed != MPI_UNDEFINED) done += completed;
                    }
#endif
                }
                double us = (MPI_Wtime() - start) / ((double)rounds * 2 * window) * 1e6;
                if (batch >= 0) batch_stats_add(&stats, us);
            }
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) print_json(NAME, ranks, size, batch_stats_mean(&stats), stats.min, stats.max,
                                  (long)per_batch * batches, -1);
        free(send);
        free(receive);
    }
    free(indices);
    free(requests);
    MPI_Finalize();
    return 0;
}
