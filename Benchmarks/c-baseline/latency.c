/* Ping-pong latency between ranks 0 and 1 (osu_latency): half the round-trip time, averaged
 * over BATCHES batches of the timed iterations; min/max are the fastest and slowest batch.
 * Mirrors PointToPoint.latency in Benchmarks/mpi-bench. */
#include "common.h"

int main(int argc, char **argv) {
    int rank, ranks;
    options_t options;
    benchmark_init(&argc, &argv, "latency", 2, &options, &rank, &ranks);
    for (int s = 0; s < options.size_count; s++) {
        long size = options.sizes[s];
        char *buffer = benchmark_buffer(size);
        int timed, warmup;
        iterations_for(&options, size, &timed, &warmup);
        int batches = timed < BATCHES ? timed : BATCHES, per_batch = timed / batches;
        batch_stats_t stats = {0};
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank < 2) {
            int peer = 1 - rank;
            for (int batch = -1; batch < batches; batch++) {
                int rounds = batch < 0 ? warmup : per_batch;
                double start = MPI_Wtime();
                for (int i = 0; i < rounds; i++) {
                    if (rank == 0) {
                        MPI_Send(buffer, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
                        MPI_Recv(buffer, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    } else {
                        MPI_Recv(buffer, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                        MPI_Send(buffer, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
                    }
                }
                double us = (MPI_Wtime() - start) / (2.0 * rounds) * 1e6;
                if (batch >= 0) batch_stats_add(&stats, us);
            }
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) print_json("latency", ranks, size, batch_stats_mean(&stats), stats.min, stats.max,
                                  (long)per_batch * batches, -1);
        free(buffer);
    }
    MPI_Finalize();
    return 0;
}
