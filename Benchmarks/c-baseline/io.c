/* io-write / io-read as mpi-bench measures them (Benchmarks/mpi-bench/IO.swift): each rank
 * accesses `size` bytes at offset rank × size of one shared file, collectively, every iteration
 * between a barrier and the slowest rank's return (an MPI_Allreduce of the times, untimed);
 * 256 MiB per rank of iterations, at least 3 and at most --iterations, after one untimed access.
 *
 * Built four ways by scripts/build-c-baseline.sh: io_write and io_read use MPI-IO
 * (MPI_File_write_at_all / MPI_File_read_at_all, backend "c-openmpi"); io_write_posix and
 * io_read_posix (-DPOSIX_IO) the plain loop the issue asks to compare with: every rank opens the
 * file itself and calls pwrite/pread (backend "c-posix"), MPI only to synchronize and time.
 * The file is $TMPDIR (or /tmp)/c-baseline-io-PID.bin, removed at the end. */
#ifdef POSIX_IO
#define BASELINE_BACKEND "c-posix"
#endif
#define _GNU_SOURCE
#include "common.h"

#include <fcntl.h>
#include <unistd.h>

#ifndef READING
#define READING 0
#endif

#ifdef POSIX_IO
/* Moves all `size` bytes (pwrite/pread may move fewer at once). */
static long posix_transfer(int fd, char *buffer, long size, long offset) {
    long done = 0;
    while (done < size) {
        ssize_t moved = READING ? pread(fd, buffer + done, size - done, offset + done)
                                : pwrite(fd, buffer + done, size - done, offset + done);
        if (moved <= 0) return done;
        done += moved;
    }
    return done;
}
#endif

int main(int argc, char **argv) {
    options_t options;
    int rank, ranks;
    const char *name = READING ? "io-read" : "io-write";
    benchmark_init(&argc, &argv, name, 1, &options, &rank, &ranks);
    long pid = getpid();
    MPI_Bcast(&pid, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    const char *directory = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/c-baseline-io-%ld.bin", directory, pid);
    for (int s = 0; s < options.size_count; s++) {
        long size = options.sizes[s];
        if (size <= 0) continue;
        char *buffer = benchmark_buffer(size);
        memset(buffer, 'a' + rank, (size_t)size);
        long offset = rank * size;
#ifdef POSIX_IO
        if (rank == 0) close(open(path, O_CREAT | O_RDWR, 0644));
        MPI_Barrier(MPI_COMM_WORLD);
        int fd = open(path, O_RDWR);
        if (fd < 0) MPI_Abort(MPI_COMM_WORLD, 4);
        if (READING && pwrite(fd, buffer, size, offset) != size) MPI_Abort(MPI_COMM_WORLD, 5);
#else
        MPI_File file;
        if (MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR | MPI_MODE_DELETE_ON_CLOSE, MPI_INFO_NULL, &file) != MPI_SUCCESS)
            MPI_Abort(MPI_COMM_WORLD, 4);
        if (READING) MPI_File_write_at_all(file, offset, buffer, (int)size, MPI_BYTE, MPI_STATUS_IGNORE);
#endif
        long timed = (1L << 28) / size;
        if (timed > options.iterations) timed = options.iterations;
        if (timed < 3) timed = 3;
        int warmup = options.warmup > 0 ? 1 : 0;
        double total = 0, fastest = 1e300, slowest = 0;
        for (long iteration = 0; iteration < warmup + timed; iteration++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            long moved;
#ifdef POSIX_IO
            moved = posix_transfer(fd, buffer, size, offset);
#else
            MPI_Status status;
            int count = 0;
            if (READING) MPI_File_read_at_all(file, offset, buffer, (int)size, MPI_BYTE, &status);
            else MPI_File_write_at_all(file, offset, buffer, (int)size, MPI_BYTE, &status);
            MPI_Get_count(&status, MPI_BYTE, &count);
            moved = count;
#endif
            double mine = MPI_Wtime() - start, seconds;
            MPI_Allreduce(&mine, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (moved != size) MPI_Abort(MPI_COMM_WORLD, 6);
            if (iteration < warmup) continue;
            total += seconds;
            if (seconds < fastest) fastest = seconds;
            if (seconds > slowest) slowest = seconds;
        }
#ifdef POSIX_IO
        close(fd);
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) unlink(path);
#else
        MPI_File_close(&file);
#endif
        double average = total / timed;
        if (rank == 0) print_json(name, ranks, size, average * 1e6, fastest * 1e6, slowest * 1e6, timed, (double)size * ranks / average / 1e6);
        free(buffer);
    }
    MPI_Finalize();
    return 0;
}
