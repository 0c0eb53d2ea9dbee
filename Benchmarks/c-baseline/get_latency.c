/* Get latency (osu_get_latency, -w allocate -s flush): a get of `size` bytes and a flush, in the
 * loop of rma.h. Mirrors OneSided.getLatency in Benchmarks/mpi-bench. */
#include "rma.h"

static void get(void *origin, int count, MPI_Win win) {
    MPI_Get(origin, count, MPI_BYTE, 1, 0, count, MPI_BYTE, win);
}

int main(int argc, char **argv) { return rma_latency_main(argc, argv, "get-latency", 1, get); }
