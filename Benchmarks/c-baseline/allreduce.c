/* MPI_Allreduce of floats with MPI_SUM (osu_allreduce). Every rank times its own calls after a
 * warm-up and a barrier; avg/min/max are the mean, fastest and slowest rank. Sizes below one
 * float are skipped, as OSU does. Mirrors CollectiveBenchmarks in Benchmarks/mpi-bench. */
#include "common.h"

int main(int argc, char **argv) {
    int rank, ranks;
    options_t options;
    benchmark_init(&argc, &argv, "allreduce", 1, &options, &rank, &ranks);
    for (int s = 0; s < options.size_count; s++) {
        long size = options.sizes[s];
        int count = (int)(size / sizeof(float));
        if (count == 0) continue;
        float *send = benchmark_buffer(size), *receive = benchmark_buffer(size);
        for (int i = 0; i < count; i++) send[i] = 1.0f;
        int timed, warmup;
        iterations_for(&options, size, &timed, &warmup);
        double mine = 0;
        for (int phase = 0; phase < 2; phase++) {
            int rounds = phase == 0 ? warmup : timed;
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            for (int i = 0; i < rounds; i++) MPI_Allreduce(send, receive, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            mine = (MPI_Wtime() - start) / rounds * 1e6;
        }
        double avg, min, max;
        over_ranks(mine, ranks, &avg, &min, &max);
        if (rank == 0) print_json("allreduce", ranks, (long)count * sizeof(float), avg, min, max, timed, -1);
        free(send);
        free(receive);
    }
    MPI_Finalize();
    return 0;
}
