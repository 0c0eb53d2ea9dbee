/* MPI_Barrier (osu_barrier). Every rank times its own calls after a warm-up; avg/min/max are
 * the mean, fastest and slowest rank. Mirrors CollectiveBenchmarks.barrier in mpi-bench. */
#include "common.h"

int main(int argc, char **argv) {
    int rank, ranks;
    options_t options;
    benchmark_init(&argc, &argv, "barrier", 1, &options, &rank, &ranks);
    int timed, warmup;
    iterations_for(&options, 0, &timed, &warmup);
    double mine = 0;
    for (int phase = 0; phase < 2; phase++) {
        int rounds = phase == 0 ? warmup : timed;
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        for (int i = 0; i < rounds; i++) MPI_Barrier(MPI_COMM_WORLD);
        mine = (MPI_Wtime() - start) / rounds * 1e6;
    }
    double avg, min, max;
    over_ranks(mine, ranks, &avg, &min, &max);
    if (rank == 0) print_json("barrier", ranks, 0, avg, min, max, timed, -1);
    MPI_Finalize();
    return 0;
}
