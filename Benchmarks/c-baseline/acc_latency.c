/* Accumulate latency (osu_acc_latency, -w allocate -s flush): an accumulate (MPI_SUM) of `size`
 * bytes of MPI_INT64_T and a flush, in the loop of rma.h (sizes count whole 8-byte elements).
 * Mirrors OneSided.accumulateLatency in Benchmarks/mpi-bench. */
#include <stdint.h>
#include "rma.h"

static void accumulate(void *origin, int count, MPI_Win win) {
    MPI_Accumulate(origin, count, MPI_INT64_T, 1, 0, count, MPI_INT64_T, MPI_SUM, win);
}

int main(int argc, char **argv) {
    return rma_latency_main(argc, argv, "accumulate-latency", (int)sizeof(int64_t), accumulate);
}
