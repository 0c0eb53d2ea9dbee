/* Many ranks flooding each other with nonblocking messages of mixed sizes. Every round each rank
 * posts a window of receives from and sends to the other ranks in turn (message i goes to rank
 * rank + 1 + i mod (ranks - 1)), one in ten of SIZE bytes and the rest of 64 bytes (or SIZE if
 * smaller), then waits for all. Timed on rank 0 in BATCHES batches: avg_us is the time per round,
 * min/max the fastest and slowest batch, mb_per_s the bytes all ranks sent per second, in 10^6
 * bytes. A hundredth of the latency iterations, as bw. Mirrors Flood.run in Benchmarks/mpi-bench. */
#include "common.h"

static long message_bytes(int i, long size) { return i % 10 == 9 ? size : (size < 64 ? size : 64); }

int main(int argc, char **argv) {
    int rank, ranks;
    options_t options;
    benchmark_init(&argc, &argv, "flood", 2, &options, &rank, &ranks);
    const int window = options.window, others = ranks - 1;
    MPI_Request *requests = malloc(sizeof(MPI_Request) * 2 * window);
    for (int s = 0; s < options.size_count; s++) {
        long size = options.sizes[s], slot = size > 64 ? size : 64;
        char *send = benchmark_buffer(slot), *receive = benchmark_buffer(slot * window);
        int timed, warmup;
        window_iterations_for(&options, size, &timed, &warmup);
        int batches = timed < BATCHES ? timed : BATCHES, per_batch = timed / batches;
        batch_stats_t stats = {0};
        double total = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        for (int batch = -1; batch < batches; batch++) {
            int rounds = batch < 0 ? warmup : per_batch;
            double start = MPI_Wtime();
            for (int r = 0; r < rounds; r++) {
                int pending = 0;
                for (int i = 0; i < window; i++) {
                    int source = (rank - (1 + i % others) + ranks) % ranks;
                    MPI_Irecv(receive + i * slot, (int)message_bytes(i, size), MPI_BYTE, source, i, MPI_COMM_WORLD,
                              &requests[pending++]);
                }
                for (int i = 0; i < window; i++) {
                    int destination = (rank + 1 + i % others) % ranks;
                    MPI_Isend(send, (int)message_bytes(i, size), MPI_BYTE, destination, i, MPI_COMM_WORLD,
                              &requests[pending++]);
                }
                MPI_Waitall(pending, requests, MPI_STATUSES_IGNORE);
            }
            double seconds = MPI_Wtime() - start;
            if (batch < 0) continue;
            total += seconds;
            batch_stats_add(&stats, seconds / rounds * 1e6);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            double per_round = 0;
            for (int i = 0; i < window; i++) per_round += (double)message_bytes(i, size);
            double bytes = per_round * per_batch * batches * ranks;
            print_json("flood", ranks, size, batch_stats_mean(&stats), stats.min, stats.max, (long)per_batch * batches,
                       total > 0 ? bytes / total / 1e6 : 0);
        }
        free(send);
        free(receive);
    }
    free(requests);
    MPI_Finalize();
    return 0;
}
