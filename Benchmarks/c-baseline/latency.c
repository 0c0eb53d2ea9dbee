/* Ping-pong latency between ranks 0 and 1 (osu_latency): half the round-trip time, averaged
 * over BATCHES batches of the timed iterations; min/max are the fastest and slowest batch.
 * Mirrors PointToPoint.latency in Benchmarks/mpi-bench. Built with -DIMMEDIATE=1 each blocking
 * call becomes MPI_Isend/MPI_Irecv and MPI_Wait ("immediate-latency"); with -DPERSISTENT=1 one
 * MPI_Send_init and one MPI_Recv_init are made per size and each trip is MPI_Start and MPI_Wait
 * ("persistent-latency"). */
#include "common.h"

#if defined(IMMEDIATE)
#define NAME "immediate-latency"
#define SEND(buffer, size, peer) do { MPI_Request r; MPI_Isend(buffer, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, &r); MPI_Wait(&r, MPI_STATUS_IGNORE); } while (0)
#define RECV(buffer, size, peer) do { MPI_Request r; MPI_Irecv(buffer, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, &r); MPI_Wait(&r, MPI_STATUS_IGNORE); } while (0)
#elif defined(PERSISTENT)
#define NAME "persistent-latency"
#define SEND(buffer, size, peer) do { MPI_Start(&send_request); MPI_Wait(&send_request, MPI_STATUS_IGNORE); } while (0)
#define RECV(buffer, size, peer) do { MPI_Start(&receive_request); MPI_Wait(&receive_request, MPI_STATUS_IGNORE); } while (0)
#else
#define NAME "latency"
#define SEND(buffer, size, peer) MPI_Send(buffer, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD)
#define RECV(buffer, size, peer) MPI_Recv(buffer, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE)
#endif

int main(int argc, char **argv) {
    int rank, ranks;
    options_t options;
    benchmark_init(&argc, &argv, NAME, 2, &options, &rank, &ranks);
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
#ifdef PERSISTENT
            MPI_Request send_request, receive_request;
            MPI_Send_init(buffer, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, &send_request);
            MPI_Recv_init(buffer, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, &receive_request);
#endif
            for (int batch = -1; batch < batches; batch++) {
                int rounds = batch < 0 ? warmup : per_batch;
                double start = MPI_Wtime();
                for (int i = 0; i < rounds; i++) {
                    if (rank == 0) {
                        SEND(buffer, size, peer);
                        RECV(buffer, size, peer);
                    } else {
                        RECV(buffer, size, peer);
                        SEND(buffer, size, peer);
                    }
                }
                double us = (MPI_Wtime() - start) / (2.0 * rounds) * 1e6;
                if (batch >= 0) batch_stats_add(&stats, us);
            }
#ifdef PERSISTENT
            MPI_Request_free(&send_request);
            MPI_Request_free(&receive_request);
#endif
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) print_json(NAME, ranks, size, batch_stats_mean(&stats), stats.min, stats.max,
                                  (long)per_batch * batches, -1);
        free(buffer);
    }
    MPI_Finalize();
    return 0;
}
