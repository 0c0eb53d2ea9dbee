/* The C baseline of check-allocations.sh's persistent all-reduce row: N starts of one 8-byte
 * MPIX_Allreduce_init request. Open MPI 4.1's libnbc reallocates its round's request array at
 * every start (two allocations per start here), which the Swift run is allowed too. */
#include <mpi.h>
#include <mpi-ext.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int n = atoi(argv[1]);
    double in = 1, out = 0;
    MPI_Request r;
    MPIX_Allreduce_init(&in, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, MPI_INFO_NULL, &r);
    for (int i = 0; i < n; i++) { MPI_Start(&r); MPI_Wait(&r, MPI_STATUS_IGNORE); }
    MPI_Request_free(&r);
    MPI_Finalize();
}
