#!/usr/bin/env python3
"""Turns the text an OSU Micro-Benchmarks 7.x program prints into mpi-bench's JSON lines.

    mpirun -n 2 $OSU_DIR/c/mpi/pt2pt/standard/osu_latency -m 1:1024 | scripts/osu_to_json.py latency 2

The first argument names the benchmark as mpi-bench does (latency, bw, bibw, allreduce), the
second the rank count. Rows are "size value" (latency: average µs; bw, bibw: MB/s) or, with
OSU's -f, "size avg min max iterations". The backend is "c-osu"; scripts/bench_report.py then
shows OSU beside the project's C baseline (Benchmarks/c-baseline).
"""
import json
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    benchmark, ranks = sys.argv[1], int(sys.argv[2])
    for line in sys.stdin:
        fields = line.split()
        if not fields or line.startswith("#") or not fields[0].isdigit():
            continue
        try:
            values = [float(f) for f in fields[1:]]
        except ValueError:
            continue
        if not values:
            continue
        size = int(fields[0])
        record = {"benchmark": benchmark, "backend": "c-osu", "ranks": ranks, "size": size}
        if benchmark in ("bw", "bibw"):
            bandwidth = values[0]
            per_message = size / bandwidth if bandwidth > 0 else 0.0
            record.update(avg_us=per_message, min_us=per_message, max_us=per_message, iterations=0, mb_per_s=bandwidth)
        else:
            average = values[0]
            minimum = values[1] if len(values) > 1 else average
            maximum = values[2] if len(values) > 2 else average
            iterations = int(values[3]) if len(values) > 3 else 0
            record.update(avg_us=average, min_us=minimum, max_us=maximum, iterations=iterations)
        print(json.dumps(record, separators=(",", ":")))


if __name__ == "__main__":
    main()
