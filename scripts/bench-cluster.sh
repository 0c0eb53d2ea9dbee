#!/usr/bin/env bash
# Compares Swift over Open MPI with C over Open MPI across hosts of the simulated cluster
# (scripts/cluster.sh: network namespaces, Open MPI's TCP transport), in one run: latency and
# bw between 2 hosts and allreduce over 3 hosts, one rank per host, BENCH_REPS repetitions
# (default 5) interleaved C / Swift. Both run with the binding's truncation guard settings
# (btl_tcp_flags without put) unless SWIFTMPI_OPENMPI_CMA_GUARD=0, so the ratio is the
# binding's own cost; BENCH_GUARD_COST=1 adds Swift runs with the guard off, to price it.
# Writes Benchmarks/results/cluster/ (summary.md, bench.csv, plots) via scripts/bench_report.py.
# Needs root (network namespaces).
#
#   scripts/bench-cluster.sh
#   BENCH_REPS=3 BENCH_GUARD_COST=1 scripts/bench-cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${BENCH_REPS:-5}
guard_cost=${BENCH_GUARD_COST:-0}
results=Benchmarks/results/cluster
raw=$results/raw

scripts/cluster.sh check || { echo "bench-cluster: cannot create network namespaces here (needs root)"; exit 1; }
swift build -c release --traits OpenMPI --scratch-path .build-openmpi --product mpi-bench
bin=$(swift build -c release --traits OpenMPI --scratch-path .build-openmpi --show-bin-path)
scripts/build-c-baseline.sh
trap 'scripts/cluster.sh down' EXIT
scripts/cluster.sh up 3 1

# The guard's TCP setting for C too (like with like), unless the guard is off.
guard_flags=()
if [ "${SWIFTMPI_OPENMPI_CMA_GUARD:-1}" != 0 ]; then
    guard_flags=(--mca btl_tcp_flags send,inplace,need-ack,need-csum,hetero-rdma)
fi

rm -rf "$raw"
mkdir -p "$raw"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit: $(git rev-parse --short HEAD)"
    echo "nproc: $(nproc)"
    echo "transport: Open MPI $(ompi_info --version 2>/dev/null | head -1 | awk '{print $NF}') TCP BTL over veth pairs and a bridge between network namespaces"
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "repetitions: $reps"
} >"$raw/machine.txt"

# run NAME RANKS PROGRAM ARGS…: one job across the first RANKS hosts, its JSON lines kept.
run() {
    local name=$1 ranks=$2
    shift 2
    if ! scripts/cluster.sh run -t 300 -- -n "$ranks" "$@" >"$raw/$name.jsonl" 2>"$raw/$name.err"; then
        echo "warning: $name failed (see $raw/$name.err); left out"
        rm -f "$raw/$name.jsonl"
    fi
}

for rep in $(seq 1 "$reps"); do
    echo "== repetition $rep of $reps"
    for spec in "latency 2 0,8,1024,65536,1048576" "bw 2 8,1024,65536,1048576,4194304" "allreduce 3 8,1024,1048576"; do
        read -r bench ranks sizes <<<"$spec"
        type=()
        [ "$bench" = allreduce ] && type=(--type float)
        options=(--sizes "$sizes" --iterations 2000 --warmup 100)
        run "rep$rep-c-openmpi-$bench-$ranks" "$ranks" "${guard_flags[@]}" ".build-c/$bench" "${options[@]}"
        run "rep$rep-swift-openmpi-$bench-$ranks" "$ranks" -x SWIFTMPI_BACKEND=openmpi "$bin/mpi-bench" "$bench" --json "${type[@]}" "${options[@]}"
        if [ "$guard_cost" = 1 ]; then
            # Swift without the guard, recorded as the "previous" build so the report prices it.
            run "rep$rep-previous-openmpi-$bench-$ranks" "$ranks" -x SWIFTMPI_BACKEND=openmpi -x SWIFTMPI_OPENMPI_CMA_GUARD=0 \
                "$bin/mpi-bench" "$bench" --json "${type[@]}" "${options[@]}"
        fi
    done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw/machine.txt"
BENCH_PREVIOUS_LABEL="Swift, guard off" python3 scripts/bench_report.py "$raw" "$results"
cp "$raw/machine.txt" "$results/machine.txt"
