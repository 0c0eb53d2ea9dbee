/* Put latency (osu_put_latency, -w allocate -s flush): a put of `size` bytes and a flush, in the
 * loop of rma.h. Mirrors OneSided.putLatency in Benchmarks/mpi-bench. */
#include "rma.h"

static void put(void *origin, int count, MPI_Win win) {
    MPI_Put(origin, count, MPI_BYTE, 1, 0, count, MPI_BYTE, win);
}

int main(int argc, char **argv) { return rma_latency_main(argc, argv, "put-latency", 1, put); }
