#!/usr/bin/env python3
"""Aggregates the JSON lines of scripts/bench-compare.sh into a CSV, ratio tables and plots.

    python3 scripts/bench_report.py RAW_DIR RESULTS_DIR

RAW_DIR holds files named rep<N>-<implementation>-<benchmark>-<ranks>.jsonl, each line one
measurement as mpi-bench --json prints it (benchmark, backend, ranks, size, avg_us, min_us,
max_us, iterations, mb_per_s). Writes RESULTS_DIR/bench.csv (every measurement of every
repetition), RESULTS_DIR/summary.md (the tables printed here, as Markdown) and latency.png,
bandwidth.png, allreduce.png.

The headline value of each benchmark:
  latency        avg_us   half round trip, mean over batches        (lower is better)
  put-latency, get-latency, accumulate-latency
                 avg_us   one operation and its flush, mean         (lower is better)
  bw, bibw, put-bw mb_per_s 10^6 bytes per second                   (higher is better)
  flood          avg_us   time per round on rank 0, mean of batches (lower is better)
  collectives    max_us   time per call on the slowest rank         (lower is better)
Ratios are taken within a repetition (the implementations of one repetition ran back to back)
and summarised by their median and interquartile range over repetitions; the plots show the
median and, as a band, the interquartile range. The CSV keeps every repetition, outliers too.
"""

import csv
import json
import os
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

BASELINE = "c-openmpi"
IMPLEMENTATIONS = ["c-openmpi", "c-osu", "c-posix", "swift-openmpi", "swift-shm", "previous-openmpi", "previous-shm"]
# The I/O benchmarks' second baseline: the same loop with plain pwrite/pread, no MPI-IO.
POSIX = "c-posix"
# BENCH_PREVIOUS_LABEL renames the "previous build" rows (scripts/bench-cluster.sh puts the
# binding without its truncation guard there).
_PREVIOUS = os.environ.get("BENCH_PREVIOUS_LABEL", "previous build")
LABELS = {"c-openmpi": "C / Open MPI", "c-osu": "C / OSU", "c-posix": "C / pwrite", "swift-openmpi": "Swift / Open MPI", "swift-shm": "Swift / shm",
          "previous-openmpi": f"{_PREVIOUS} / Open MPI", "previous-shm": f"{_PREVIOUS} / shm"}
COLORS = {"c-openmpi": "#444444", "c-osu": "#9467bd", "c-posix": "#2ca02c", "swift-openmpi": "#1f77b4", "swift-shm": "#ff7f0e",
          "previous-openmpi": "#9ecae1", "previous-shm": "#fdd0a2"}
# With BENCH_PREVIOUS, the same Swift benchmarks of another build ("previous-…"), in the same run.
PREVIOUS = {"swift-openmpi": "previous-openmpi", "swift-shm": "previous-shm"}
FILE_NAME = re.compile(r"rep(\d+)-(c-openmpi|c-osu|c-posix|swift-openmpi|swift-shm|previous-openmpi|previous-shm)-([a-z-]+)-(\d+)\.jsonl$")
FIELDS = ["rep", "implementation", "benchmark", "backend", "ranks", "size",
          "avg_us", "min_us", "max_us", "iterations", "mb_per_s"]


def headline(benchmark):
    """(field, unit, higher_is_better) of a benchmark's headline value."""
    if benchmark in ("latency", "immediate-latency", "persistent-latency", "waitall", "waitany", "testsome",
                     "flood", "put-latency", "get-latency", "accumulate-latency"):
        return "avg_us", "us", False
    if benchmark in ("bw", "bibw", "put-bw", "io-write", "io-read"):
        return "mb_per_s", "MB/s", True
    return "max_us", "us", False


def load(raw):
    rows = []
    for path in sorted(raw.glob("*.jsonl")):
        match = FILE_NAME.search(path.name)
        if not match:
            continue
        rep, implementation = int(match.group(1)), match.group(2)
        expected_backend = {"c-openmpi": "c-openmpi", "c-osu": "c-osu", "c-posix": "c-posix", "swift-openmpi": "openmpi", "swift-shm": "shm",
                            "previous-openmpi": "openmpi", "previous-shm": "shm"}[implementation]
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if record["backend"] != expected_backend:
                sys.exit(f"{path.name}: measured backend {record['backend']!r}, expected {expected_backend!r}")
            record["rep"] = rep
            record["implementation"] = implementation
            rows.append(record)
    return rows


def write_csv(rows, path):
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in sorted(rows, key=lambda r: (r["benchmark"], r["ranks"], r["size"], r["implementation"], r["rep"])):
            writer.writerow({field: row.get(field, "") for field in FIELDS})


def size_label(size):
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


def quartiles(values):
    """(first quartile, median, third quartile); all three the value itself for one value."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def spread(values):
    """'median (q1-q3)' of a list of numbers."""
    if not values:
        return "-"
    q1, median, q3 = quartiles(values)
    if len(values) == 1:
        return f"{median:.2f}"
    return f"{median:.2f} ({q1:.2f}-{q3:.2f})"


def value_text(values, unit):
    if not values:
        return "-"
    median = statistics.median(values)
    if unit == "MB/s":
        return f"{median:,.0f}"
    return f"{median:.3g}" if median < 100 else f"{median:,.0f}"


def tables(rows):
    """Markdown tables, one per (benchmark, ranks): medians and ratios to the C baseline."""
    # values[(benchmark, ranks)][size][implementation][rep] = headline value
    values = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    for row in rows:
        field, _, _ = headline(row["benchmark"])
        value = row.get(field)
        if value is None:
            continue
        values[(row["benchmark"], row["ranks"])][row["size"]][row["implementation"]][row["rep"]] = float(value)

    order = {"latency": 0, "immediate-latency": 0.1, "persistent-latency": 0.2, "bw": 1, "bibw": 2,
             "waitall": 2.1, "waitany": 2.2, "testsome": 2.3, "allreduce": 3, "put-latency": 4, "get-latency": 5, "put-bw": 6,
             "accumulate-latency": 7, "io-write": 8, "io-read": 9}
    out = []
    for (benchmark, ranks) in sorted(values, key=lambda key: (order.get(key[0], 9), key[0], key[1])):
        field, unit, higher = headline(benchmark)
        present = [i for i in IMPLEMENTATIONS if any(i in by_impl for by_impl in values[(benchmark, ranks)].values())]
        compared = [i for i in present if i not in (BASELINE, POSIX)]
        what = "time per round" if benchmark == "flood" else {"avg_us": "mean latency", "mb_per_s": "bandwidth", "max_us": "time on the slowest rank"}[field]
        better = "higher is better" if higher else "lower is better"
        out.append(f"### {benchmark}, {ranks} ranks — {what} in {unit}, median of repetitions ({better})")
        out.append("")
        header = ["size"] + [f"{LABELS[i]} ({unit})" for i in present]
        if BASELINE in present:
            header += [f"{LABELS[i]} ÷ C" for i in compared]
        if POSIX in present:
            header += [f"{LABELS[i]} ÷ pwrite" for i in [BASELINE] + compared if i in present]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join(["---:"] * len(header)) + "|")
        for size in sorted(values[(benchmark, ranks)]):
            by_impl = values[(benchmark, ranks)][size]
            cells = [size_label(size)]
            cells += [value_text(list(by_impl.get(i, {}).values()), unit) for i in present]
            if BASELINE in present:
                base = by_impl.get(BASELINE, {})
                for i in compared:
                    ratios = [by_impl[i][rep] / base[rep] for rep in by_impl.get(i, {})
                              if rep in base and base[rep] > 0]
                    cells.append(spread(ratios))
            if POSIX in present:
                posix = by_impl.get(POSIX, {})
                for i in [BASELINE] + compared:
                    if i not in present:
                        continue
                    ratios = [by_impl[i][rep] / posix[rep] for rep in by_impl.get(i, {}) if rep in posix and posix[rep] > 0]
                    cells.append(spread(ratios))
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    previous_rows = []
    for (benchmark, ranks) in sorted(values, key=lambda key: (order.get(key[0], 9), key[0], key[1])):
        for current, previous in PREVIOUS.items():
            for size in sorted(values[(benchmark, ranks)]):
                by_impl = values[(benchmark, ranks)][size]
                ratios = [by_impl[current][rep] / by_impl[previous][rep] for rep in by_impl.get(current, {})
                          if by_impl.get(previous, {}).get(rep)]
                if ratios:
                    previous_rows.append(f"| {benchmark} | {ranks} | {LABELS[current]} | {size_label(size)} | {spread(ratios)} |")
    if previous_rows:
        out.append(f"### This build ÷ {_PREVIOUS} (same run, same repetition)")
        out.append("")
        out.append(f"| benchmark | ranks | implementation | size | this ÷ {_PREVIOUS} |")
        out.append("|---|---:|---|---:|---:|")
        out += previous_rows
        out.append("")
    if any(v for v in values):
        out.append("Ratios: each repetition's value divided by the C baseline's value from the same "
                   "repetition; median (interquartile range) over repetitions. For times, above 1 is slower than C; "
                   "for bandwidth, below 1 is slower than C.")
    return "\n".join(out)


HIGHLIGHT_SIZES = [8, 1024, 16384, 65536, 1048576, 4194304]


def highlights(rows):
    """One short Markdown table: selected sizes of the 2-rank benchmarks, as ratios to C."""
    osu = any(r["implementation"] == "c-osu" for r in rows)
    shown = (["c-osu"] if osu else []) + ["swift-openmpi", "swift-shm"]
    lines = ["| benchmark (2 ranks) | size | C / Open MPI | " + " | ".join(f"{LABELS[i]} ÷ C" for i in shown) + " |",
             "|---|---:|---:|" + "---:|" * len(shown)]
    for benchmark in ("latency", "immediate-latency", "persistent-latency", "bw", "bibw", "waitall", "waitany", "testsome",
                      "allreduce", "put-latency", "get-latency", "put-bw", "accumulate-latency", "io-write", "io-read"):
        field, unit, _ = headline(benchmark)
        for size in (HIGHLIGHT_SIZES if not benchmark.startswith("io-") else [1048576, 16777216, 268435456]):
            by_impl = defaultdict(dict)
            for r in rows:
                if r["benchmark"] == benchmark and r["ranks"] == 2 and r["size"] == size and r.get(field) is not None:
                    by_impl[r["implementation"]][r["rep"]] = float(r[field])
            base = by_impl.get(BASELINE)
            if not base:
                continue
            cells = [benchmark, size_label(size), f"{value_text(list(base.values()), unit)} {unit}"]
            for implementation in shown:
                ratios = [v / base[rep] for rep, v in by_impl.get(implementation, {}).items() if base.get(rep)]
                cells.append(spread(ratios) if ratios else "not measured")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def request_overhead(rows):
    """What a request costs over the blocking call: immediate-latency and persistent-latency
    divided by latency of the same implementation, size and repetition (medians and spread)."""
    by = defaultdict(dict)
    for r in rows:
        if r["ranks"] == 2 and r["benchmark"] in ("latency", "immediate-latency", "persistent-latency") and r.get("avg_us") is not None:
            by[(r["implementation"], r["size"], r["benchmark"])][r["rep"]] = float(r["avg_us"])
    lines = ["| implementation | size | immediate ÷ blocking | persistent ÷ blocking |", "|---|---:|---:|---:|"]
    for implementation in IMPLEMENTATIONS:
        for size in sorted({key[1] for key in by if key[0] == implementation}):
            blocking = by.get((implementation, size, "latency"))
            if not blocking:
                continue
            cells = [LABELS[implementation], size_label(size)]
            for form in ("immediate-latency", "persistent-latency"):
                measured = by.get((implementation, size, form), {})
                ratios = [v / blocking[rep] for rep, v in measured.items() if blocking.get(rep)]
                cells.append(spread(ratios) if ratios else "not measured")
            if any(c != "not measured" for c in cells[2:]):
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


def plot(rows, results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = [
        ("latency.png", ["latency"], "Ping-pong latency (half round trip)", "latency (µs)"),
        ("bandwidth.png", ["bw", "bibw"], "Streaming bandwidth (window of 64)", "bandwidth (MB/s, 10^6 B/s)"),
        ("allreduce.png", ["allreduce"], "MPI_Allreduce, float sum (slowest rank)", "time per call (µs)"),
    ]
    for name, benchmarks, title, ylabel in figures:
        fig, axis = plt.subplots(figsize=(8, 5), dpi=100)
        drawn = False
        for benchmark in benchmarks:
            field, _, _ = headline(benchmark)
            rank_counts = sorted({r["ranks"] for r in rows if r["benchmark"] == benchmark})
            for ranks in rank_counts:
                for implementation in IMPLEMENTATIONS:
                    points = defaultdict(list)
                    for r in rows:
                        if (r["benchmark"], r["ranks"], r["implementation"]) == (benchmark, ranks, implementation) \
                                and r["size"] > 0 and r.get(field) is not None and float(r[field]) > 0:
                            points[r["size"]].append(float(r[field]))
                    if not points:
                        continue
                    sizes = sorted(points)
                    spreads = [quartiles(points[s]) for s in sizes]
                    medians = [q[1] for q in spreads]
                    style = "-" if ranks == 2 else "--"
                    marker = "o" if ranks == 2 else "s"
                    label = f"{LABELS[implementation]}, {ranks} ranks"
                    if len({r["benchmark"] for r in rows if r["benchmark"] in benchmarks}) > 1:
                        label = f"{benchmark}: " + label
                    axis.plot(sizes, medians, style, marker=marker, markersize=3.5, linewidth=1.4,
                              color=COLORS[implementation], label=label)
                    axis.fill_between(sizes, [q[0] for q in spreads], [q[2] for q in spreads],
                                      color=COLORS[implementation], alpha=0.2, linewidth=0)
                    drawn = True
        if not drawn:
            axis.text(0.5, 0.5, "no measurements", ha="center", va="center", transform=axis.transAxes)
        else:
            axis.set_xscale("log", base=2)
            axis.set_yscale("log")
            low, high = axis.get_xlim()
            ticks = [4 ** k for k in range(12) if low <= 4 ** k <= high]
            axis.set_xticks(ticks, [size_label(t).replace(" ", "\u2009") for t in ticks])
            axis.minorticks_off()
        if name == "allreduce.png" and not any(r["benchmark"] == "allreduce" and r["implementation"] != BASELINE
                                               for r in rows):
            axis.text(0.02, 0.97, "swift-mpi: no allreduce in this build yet (C baseline only)",
                      transform=axis.transAxes, va="top", fontsize=9, color="#aa0000")
        axis.set_title(title + " — median, band: interquartile range of repetitions", fontsize=10)
        axis.set_xlabel("message size (bytes)")
        axis.set_ylabel(ylabel)
        axis.grid(True, which="major", alpha=0.3)
        if drawn:
            axis.legend(fontsize=8, loc="best")
        fig.tight_layout()
        fig.savefig(results / name)
        plt.close(fig)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    raw, results = Path(sys.argv[1]), Path(sys.argv[2])
    results.mkdir(parents=True, exist_ok=True)
    rows = load(raw)
    if not rows:
        sys.exit(f"no measurements in {raw}")
    write_csv(rows, results / "bench.csv")
    overhead = request_overhead(rows)
    text = "## Highlights\n\n" + highlights(rows)
    if overhead:
        text += "\n\n## Request overhead (2 ranks, same repetition)\n\n" + overhead
    text += "\n\n## All sizes\n\n" + tables(rows)
    (results / "summary.md").write_text(text + "\n")
    print(text)
    plot(rows, results)
    print(f"\nwrote {results / 'bench.csv'}, {results / 'summary.md'}, latency.png, bandwidth.png, allreduce.png")


if __name__ == "__main__":
    main()
