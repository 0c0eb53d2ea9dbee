/* Shared options, iteration rules and JSON output of the C baseline programs.
 *
 * The programs measure plain Open MPI the way mpi-bench measures swift-mpi: the same options
 * (--sizes, --iterations, --warmup, --window), the same iteration reduction above 64 KiB, the
 * same batching, and the same one-JSON-object-per-line output with the same field names, so
 * scripts/bench_report.py reads both alike. Backend is always "c-openmpi".
 */
#ifndef SWIFTMPI_C_BASELINE_COMMON_H
#define SWIFTMPI_C_BASELINE_COMMON_H

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIZES 64
#define LARGE_MESSAGE 65536
#define BATCHES 10

typedef struct {
    long sizes[MAX_SIZES];
    int size_count;
    int iterations;
    int warmup;
    int window;
} options_t;

/* Parses "0,8,1024" or "LO:HI" (powers of two from LO to HI; LO == 0 adds the empty message). */
static inline int parse_sizes(const char *text, options_t *options) {
    options->size_count = 0;
    const char *colon = strchr(text, ':');
    if (colon) {
        long low = atol(text), high = atol(colon + 1);
        if (low < 0 || high < low) return -1;
        if (low == 0) options->sizes[options->size_count++] = 0;
        for (long size = 1; size <= high && options->size_count < MAX_SIZES; size <<= 1)
            if (size >= low) options->sizes[options->size_count++] = size;
        return 0;
    }
    char *copy = strdup(text), *save = NULL;
    for (char *part = strtok_r(copy, ",", &save); part && options->size_count < MAX_SIZES;
         part = strtok_r(NULL, ",", &save)) {
        long size = atol(part);
        if (size < 0) { free(copy); return -1; }
        options->sizes[options->size_count++] = size;
    }
    free(copy);
    return options->size_count > 0 ? 0 : -1;
}

/* Defaults as in mpi-bench: sizes 0 and 1 B .. 4 MiB, 10000 iterations, 200 warm-up. */
static inline void parse_options(int argc, char **argv, options_t *options) {
    options->iterations = 10000;
    options->warmup = 200;
    options->window = 64;
    parse_sizes("0:4194304", options);
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--json") == 0) continue; /* JSON is the only output format */
        if (!value) goto usage;
        if (strcmp(argv[i], "--sizes") == 0) {
            if (parse_sizes(value, options) != 0) goto usage;
        } else if (strcmp(argv[i], "--iterations") == 0) {
            options->iterations = atoi(value);
        } else if (strcmp(argv[i], "--warmup") == 0) {
            options->warmup = atoi(value);
        } else if (strcmp(argv[i], "--window") == 0) {
            options->window = atoi(value);
        } else {
            goto usage;
        }
        i++;
    }
    if (options->iterations > 0 && options->warmup >= 0 && options->window > 0) return;
usage:
    fprintf(stderr, "usage: %s [--sizes LIST|LO:HI] [--iterations N] [--warmup N] [--window N] [--json]\n", argv[0]);
    MPI_Abort(MPI_COMM_WORLD, 2);
}

/* Timed and warm-up iterations for a message of `size` bytes: 10x fewer above 64 KiB. */
static inline void iterations_for(const options_t *options, long size, int *timed, int *warmup) {
    if (size > LARGE_MESSAGE) {
        *timed = options->iterations / 10 > 10 ? options->iterations / 10 : 10;
        *warmup = options->warmup / 10 > 2 ? options->warmup / 10 : 2;
    } else {
        *timed = options->iterations;
        *warmup = options->warmup;
    }
}

/* Iterations of a benchmark whose iteration moves a whole window (bw, bibw, flood): a hundredth
 * of the latency iterations. */
static inline void window_iterations_for(const options_t *options, long size, int *timed, int *warmup) {
    iterations_for(options, size, timed, warmup);
    *timed = *timed / 100 > 2 ? *timed / 100 : 2;
    *warmup = *warmup / 100 > 1 ? *warmup / 100 : 1;
}

/* The "backend" field of every line: "c-openmpi", or what a program defines before including
 * this header (io.c built with -DPOSIX_IO reports "c-posix"). */
#ifndef BASELINE_BACKEND
#define BASELINE_BACKEND "c-openmpi"
#endif

/* One measurement as mpi-bench's --json prints it. mb_per_s < 0 leaves the field out. */
static inline void print_json(const char *benchmark, int ranks, long size, double avg_us, double min_us,
                       double max_us, long iterations, double mb_per_s) {
    printf("{\"benchmark\":\"%s\",\"backend\":\"%s\",\"ranks\":%d,\"size\":%ld,"
           "\"avg_us\":%.4f,\"min_us\":%.4f,\"max_us\":%.4f,\"iterations\":%ld",
           benchmark, BASELINE_BACKEND, ranks, size, avg_us, min_us, max_us, iterations);
    if (mb_per_s >= 0) printf(",\"mb_per_s\":%.4f", mb_per_s);
    printf("}\n");
    fflush(stdout);
}

/* A buffer of `bytes` bytes (at least one), page-aligned and touched, as OSU allocates them. */
static inline void *benchmark_buffer(long bytes) {
    void *buffer = NULL;
    if (posix_memalign(&buffer, 4096, bytes > 0 ? (size_t)bytes : 1) != 0) MPI_Abort(MPI_COMM_WORLD, 3);
    memset(buffer, 'a', bytes > 0 ? (size_t)bytes : 1);
    return buffer;
}

/* MPI_Init, this rank and the world size, and the options; aborts when fewer than
 * `minimum_ranks` ranks run. */
static inline void benchmark_init(int *argc, char ***argv, const char *name, int minimum_ranks,
                                  options_t *options, int *rank, int *ranks) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, ranks);
    parse_options(*argc, *argv, options);
    if (*ranks < minimum_ranks) {
        if (*rank == 0) fprintf(stderr, "%s needs at least %d ranks\n", name, minimum_ranks);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

/* Mean, fastest and slowest of the timed batches of a point-to-point benchmark. */
typedef struct {
    double sum, min, max;
    int count;
} batch_stats_t;

static inline void batch_stats_add(batch_stats_t *stats, double value) {
    if (stats->count == 0 || value < stats->min) stats->min = value;
    if (stats->count == 0 || value > stats->max) stats->max = value;
    stats->sum += value;
    stats->count++;
}

static inline double batch_stats_mean(const batch_stats_t *stats) {
    return stats->count > 0 ? stats->sum / stats->count : 0;
}

/* Mean, minimum and maximum of one value per rank, on rank 0 (as OSU's collective reports). */
static inline void over_ranks(double mine, int ranks, double *avg, double *min, double *max) {
    MPI_Reduce(&mine, avg, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&mine, min, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
    MPI_Reduce(&mine, max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    *avg /= ranks;
}

#endif
