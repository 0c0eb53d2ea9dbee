/* Unidirectional (osu_bw) and, built with -DBIDIRECTIONAL=1, bidirectional (osu_bibw)
 * bandwidth between ranks 0 and 1. Each iteration posts a window of nonblocking operations on one buffer and
 * waits for all; in bw the receiver then acknowledges with a 4-byte message. Timed on rank 0
 * in BATCHES batches: avg_us is the time per message, min/max the fastest and slowest batch,
 * mb_per_s the bytes moved (both directions for bibw) per second over all batches, in 10^6
 * bytes. Mirrors PointToPoint.bandwidth in Benchmarks/mpi-bench. */
#include "common.h"

#ifndef BIDIRECTIONAL
#define BIDIRECTIONAL 0
#endif

int main(int argc, char **argv) {
    int rank, ranks;
    const int bidirectional = BIDIRECTIONAL;
    options_t options;
    benchmark_init(&argc, &argv, BIDIRECTIONAL ? "bibw" : "bw", 2, &options, &rank, &ranks);
    const int window = options.window;
    MPI_Request *requests = malloc(sizeof(MPI_Request) * 2 * window);
    for (int s = 0; s < options.size_count; s++) {
        long size = options.sizes[s];
        char *send = benchmark_buffer(size), *receive = benchmark_buffer(size);
        int ack = 0, timed, warmup;
        window_iterations_for(&options, size, &timed, &warmup);
        int batches = timed < BATCHES ? timed : BATCHES, per_batch = timed / batches;
        batch_stats_t stats = {0};
        double total = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank < 2) {
            int peer = 1 - rank;
            for (int batch = -1; batch < batches; batch++) {
                int rounds = batch < 0 ? warmup : per_batch;
                double start = MPI_Wtime();
                for (int i = 0; i < rounds; i++) {
                    int pending = 0;
                    if (bidirectional || rank == 1)
                        for (int w = 0; w < window; w++)
                            MPI_Irecv(receive, (int)size, MPI_BYTE, peer, 100, MPI_COMM_WORLD, &requests[pending++]);
                    if (bidirectional || rank == 0)
                        for (int w = 0; w < window; w++)
                            MPI_Isend(send, (int)size, MPI_BYTE, peer, 100, MPI_COMM_WORLD, &requests[pending++]);
                    MPI_Waitall(pending, requests, MPI_STATUSES_IGNORE);
                    if (!bidirectional) {
                        if (rank == 0) MPI_Recv(&ack, 1, MPI_INT, peer, 101, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                        else MPI_Send(&ack, 1, MPI_INT, peer, 101, MPI_COMM_WORLD);
                    }
                }
                double seconds = MPI_Wtime() - start;
                if (batch < 0) continue;
                total += seconds;
                batch_stats_add(&stats, seconds / ((double)rounds * window) * 1e6);
            }
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            double bytes = (double)size * window * per_batch * batches * (bidirectional ? 2 : 1);
            print_json(bidirectional ? "bibw" : "bw", ranks, size, batch_stats_mean(&stats), stats.min, stats.max,
                       (long)per_batch * batches, total > 0 ? bytes / total / 1e6 : 0);
        }
        free(send);
        free(receive);
    }
    free(requests);
    MPI_Finalize();
    return 0;
}
