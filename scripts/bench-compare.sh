#!/usr/bin/env bash
# Compares swift-mpi with plain Open MPI on this machine, in one run:
#   c-openmpi      the C baseline (Benchmarks/c-baseline, mpicc -O2) under mpirun
#   swift-openmpi  mpi-bench built with --traits OpenMPI, under mpirun
#   swift-shm      mpi-bench on the shared-memory backend, under swift-mpiexec
# Installs what it needs (Open MPI, matplotlib), builds release binaries and the C baseline,
# then runs BENCH_REPS repetitions (default 7), interleaved — each repetition runs every
# benchmark for C, Swift/Open MPI and Swift/shm in turn, so slow drifts in machine load hit all
# three alike. Measured at 2 ranks: latency, its immediate and persistent forms
# (immediate-latency, persistent-latency: 8 B, 1 KiB, 16 KiB; the report adds each form ÷ the
# blocking one), bw, bibw, the request completions waitall, waitany and testsome (windows of 64
# receives and 64 sends, 8 B), allreduce (Swift only when
# mpi-bench offers it), the one-sided put-latency, get-latency, put-bw (8 B, 1 KiB, 64 KiB,
# 1 MiB) and accumulate-latency (8 B) at 2 ranks unless BENCH_ONE_SIDED=0 (OSU's
# `-w allocate -s flush`: one lock, a flush per operation or per window of 64 puts), and
# latency and allreduce at 4 ranks (oversubscribed on 2 cores) unless
# BENCH_FOUR_RANKS=0, and flood (mixed-size immediate traffic between all ranks) at 8 ranks
# (oversubscribed 4 to a core) unless BENCH_FLOOD=0, and the parallel I/O io-write and io-read
# (a collective access of 1, 16 and 256 MiB per rank into one file in $TMPDIR or /tmp) at 2
# ranks unless BENCH_IO=0, with a second C baseline, "c-posix": the same loop with plain
# pwrite/pread, what the file system gives without MPI-IO. scripts/bench_report.py then prints the median ratios with their spread and
# writes Benchmarks/results/bench.csv, summary.md, machine.txt and latency.png, bandwidth.png,
# allreduce.png (raw JSON lines stay in Benchmarks/results/raw/, which git ignores).
#
#   scripts/bench-compare.sh                # 2-3 minutes on 2 cores once the builds are done
#   BENCH_REPS=3 BENCH_FOUR_RANKS=0 scripts/bench-compare.sh
#   BENCH_TWO_RANKS=0 BENCH_ONE_SIDED=0 BENCH_FOUR_RANKS=0 BENCH_FLOOD=0 scripts/bench-compare.sh   # I/O only
#   scripts/bench-compare.sh --under-load   # 8 B latency and all-reduce beside one `yes` per core
#   OSU_DIR=~/osu-micro-benchmarks-7.4 scripts/bench-compare.sh   # OSU as a second C baseline
#
# OSU_DIR names a built OSU Micro-Benchmarks 7.x tree (./configure CC=mpicc CXX=mpicxx && make;
# no package ships it, so it is never vendored: bring your own). Its osu_latency, osu_bw, osu_bibw
# and osu_allreduce (with -f) then run in every repetition beside the C baseline, as
# implementation "c-osu" (scripts/osu_to_json.py turns their tables into JSON lines), and the
# report shows OSU ÷ C beside the rest. OSU takes size ranges only: for a list of sizes it runs
# the range from the smallest to the largest.
#
# --under-load measures how each implementation copes with other work on the machine: it starts
# one CPU-bound `yes > /dev/null` per core (BENCH_LOAD_PROCESSES to choose how many), measures
# 8-byte latency and 8-byte all-reduce at 2 ranks (BENCH_REPS repetitions, 5,000 iterations), stops
# the load, and reports into Benchmarks/results/under-load/ instead of Benchmarks/results/.
#   BENCH_PREVIOUS=../other-checkout scripts/bench-compare.sh
#
# BENCH_PREVIOUS names another checkout of the project (e.g. `git worktree add ../prev HEAD~1`):
# its mpi-bench and swift-mpiexec are built there the same way and measured in the same
# repetitions as "previous-openmpi"/"previous-shm", and the report adds this build ÷ previous.
#
# Open MPI runs with its defaults (no OMPI_MCA_pml/btl): on one node that is the ob1 PML over
# the vader shared-memory BTL, which this script checks is present.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
under_load=0
if [ "${1:-}" = "--under-load" ]; then under_load=1; shift; fi
results=Benchmarks/results
if [ "$under_load" = 1 ]; then results=Benchmarks/results/under-load; fi
raw=$results/raw
reps=${BENCH_REPS:-7}
four_ranks=${BENCH_FOUR_RANKS:-1}
one_sided=${BENCH_ONE_SIDED:-1}
flood=${BENCH_FLOOD:-1}
io=${BENCH_IO:-1}
two_ranks=${BENCH_TWO_RANKS:-1}
started=$(date +%s)

say() { printf '== %s\n' "$*"; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# --- what the run needs --------------------------------------------------------------------
if ! command -v mpicc >/dev/null 2>&1; then
    say "installing Open MPI (libopenmpi-dev, openmpi-bin)"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y libopenmpi-dev openmpi-bin
fi
if ! python3 -c "import matplotlib" >/dev/null 2>&1; then
    say "installing matplotlib"
    python3 -m pip install --quiet matplotlib
fi

# mpirun refuses root unless told; more ranks than cores need --oversubscribe (passed below).
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Measure Open MPI as it comes: drop transport choices a caller's environment may carry.
unset OMPI_MCA_pml OMPI_MCA_btl OMPI_MCA_mtl
# Like with like: the binding turns Open MPI 4.1's single-copy (CMA) path off to avoid its
# truncation overrun (docs/openmpi-backend.md), which the C baseline keeps; measure the binding's
# own cost with the same transport unless told otherwise (SWIFTMPI_OPENMPI_CMA_GUARD=1).
export SWIFTMPI_OPENMPI_CMA_GUARD=${SWIFTMPI_OPENMPI_CMA_GUARD:-0}
if ompi_info 2>/dev/null | grep -q "MCA btl: vader"; then
    say "Open MPI $(ompi_info --version 2>/dev/null | head -1 | awk '{print $NF}'): vader shared-memory BTL present"
else
    say "warning: Open MPI's vader BTL is missing; on-node messages may take a slower path"
fi

# --- builds ----------------------------------------------------------------------------------
say "building mpi-bench and swift-mpiexec (release, shared memory)"
swift build -c release --product mpi-bench
swift build -c release --product swift-mpiexec
shm_bin=$(swift build -c release --show-bin-path)

say "building mpi-bench with the OpenMPI trait (release, .build-openmpi)"
ompi_bin=""
if swift build -c release --traits OpenMPI --scratch-path .build-openmpi --product mpi-bench; then
    ompi_bin=$(swift build -c release --traits OpenMPI --scratch-path .build-openmpi --show-bin-path)
else
    say "warning: the OpenMPI-trait build failed; Swift over Open MPI is left out of this run"
fi

previous=${BENCH_PREVIOUS:-}
previous_shm_bin="" previous_ompi_bin=""
if [ -n "$previous" ]; then
    say "building the previous build in $previous (release, both configurations)"
    (cd "$previous" && swift build -c release --product mpi-bench && swift build -c release --product swift-mpiexec)
    previous_shm_bin=$(cd "$previous" && swift build -c release --show-bin-path)
    if (cd "$previous" && swift build -c release --traits OpenMPI --scratch-path .build-openmpi --product mpi-bench); then
        previous_ompi_bin=$(cd "$previous" && swift build -c release --traits OpenMPI --scratch-path .build-openmpi --show-bin-path)
    fi
fi

say "building the C baseline"
scripts/build-c-baseline.sh

# --- what to measure ------------------------------------------------------------------------
# 2 ranks: every power of two, mpi-bench's default iterations (10000, 10x fewer above 64 KiB;
# bw a hundredth of that in windows of 64). 4 ranks: fewer sizes and iterations, to stay
# inside the run's budget.
latency_sizes=0:4194304
bw_sizes=1:4194304
bibw_sizes=8,1024,16384,65536,1048576,4194304
request_sizes=8,1024,16384
allreduce_sizes=4:1048576
common=(--iterations 10000 --warmup 200)
four_latency_sizes=0,8,64,512,4096,32768,262144,1048576
four_allreduce_sizes=4,64,1024,16384,262144
four=(--iterations 2000 --warmup 100)
# One-sided at 2 ranks: a few sizes, the default iterations (put-bw a hundredth, as bw).
one_sided_sizes=8,1024,65536,1048576
accumulate_sizes=8
# Parallel I/O at 2 ranks: bytes per rank (256 MiB per rank of iterations, at least 3).
io_sizes=1048576,16777216,268435456
# 8 ranks flooding each other: 200 timed rounds of a window of 64 messages per rank.
flood_sizes=16384,65536
flood_options=(--iterations 20000 --warmup 1000)

swift_allreduce=0
if "$shm_bin/mpi-bench" --help 2>/dev/null | grep -qw allreduce; then
    swift_allreduce=1
else
    say "mpi-bench has no allreduce in this build: measuring it for the C baseline only"
fi

rm -rf "$raw"
mkdir -p "$raw"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit: $(git rev-parse --short HEAD)"
    changes=$(git status --porcelain -- Package.swift Sources Benchmarks/mpi-bench Benchmarks/c-baseline | awk '{print $2}' | paste -sd' ' -)
    echo "uncommitted changes built in: ${changes:-none}"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')$(lscpu 2>/dev/null | awk -F': *' '/Hypervisor vendor/ {print ", " $2 " guest"}')"
    echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
    echo "kernel: $(uname -r)"
    echo "swift: $(swift --version 2>&1 | head -1)"
    echo "openmpi: $(ompi_info --version 2>/dev/null | head -1)"
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "repetitions: $reps"
    if [ -n "$previous" ]; then echo "previous build: $previous at $(git -C "$previous" rev-parse --short HEAD)"; fi
} >"$raw/machine.txt"

# run NAME RANKS LAUNCHER... : one job, its JSON lines kept as raw/NAME.jsonl. A job that fails
# or hangs (2-minute limit) is reported and left out rather than ending the whole run.
run() {
    local name=$1 ranks=$2
    shift 2
    local file="$raw/$name.jsonl"
    if ! timeout 120 "$@" >"$file" 2>"$raw/$name.err"; then
        say "warning: $name failed (see $raw/$name.err); left out"
        rm -f "$file"
    fi
}

mpirun_n() {
    local ranks=$1
    if [ "$ranks" -gt "$(nproc)" ]; then echo "mpirun -n $ranks --oversubscribe"; else echo "mpirun -n $ranks"; fi
}

# measure REP RANKS BENCH SIZES OPTIONS...: one benchmark for C, Swift/Open MPI and Swift/shm.
measure() {
    local rep=$1 ranks=$2 bench=$3 sizes=$4
    shift 4
    local c_program=${bench//-/_} type=()
    if [ "$bench" = accumulate-latency ]; then c_program=acc_latency; fi
    if [ "$bench" = allreduce ]; then type=(--type float); fi
    # shellcheck disable=SC2046
    run "rep$rep-c-openmpi-$bench-$ranks" "$ranks" $(mpirun_n "$ranks") ".build-c/$c_program" --sizes "$sizes" "$@"
    if [ -n "${OSU_DIR:-}" ]; then
        local osu_program="" osu_flags=()
        case "$bench" in
            latency) osu_program=c/mpi/pt2pt/standard/osu_latency ;;
            bw) osu_program=c/mpi/pt2pt/standard/osu_bw ;;
            bibw) osu_program=c/mpi/pt2pt/standard/osu_bibw ;;
            allreduce) osu_program=c/mpi/collective/blocking/osu_allreduce; osu_flags=(-f) ;;
        esac
        if [ -n "$osu_program" ] && [ -x "$OSU_DIR/$osu_program" ]; then
            local range=$sizes
            if [ "${sizes#*:}" = "$sizes" ]; then
                range="$(echo "$sizes" | tr ',' '\n' | sort -n | head -1):$(echo "$sizes" | tr ',' '\n' | sort -n | tail -1)"
            fi
            local iterations=10000 warmup=200 arguments=("$@")
            for ((i = 0; i < ${#arguments[@]}; i++)); do
                case "${arguments[$i]}" in
                    --iterations) iterations=${arguments[$((i + 1))]} ;;
                    --warmup) warmup=${arguments[$((i + 1))]} ;;
                esac
            done
            if [ "$bench" = bw ] || [ "$bench" = bibw ]; then iterations=$((iterations / 100)); warmup=$((warmup / 100 > 0 ? warmup / 100 : 1)); fi
            local file="$raw/rep$rep-c-osu-$bench-$ranks.jsonl"
            # shellcheck disable=SC2046
            if ! timeout 120 $(mpirun_n "$ranks") "$OSU_DIR/$osu_program" -m "$range" -i "$iterations" -x "$warmup" "${osu_flags[@]}" \
                2>"$raw/rep$rep-c-osu-$bench-$ranks.err" | python3 scripts/osu_to_json.py "$bench" "$ranks" >"$file"; then
                say "warning: OSU $bench failed (see $raw/rep$rep-c-osu-$bench-$ranks.err); left out"
                rm -f "$file"
            fi
        fi
    fi
    if [ "${bench#io-}" != "$bench" ]; then
        # shellcheck disable=SC2046
        run "rep$rep-c-posix-$bench-$ranks" "$ranks" $(mpirun_n "$ranks") ".build-c/${c_program}_posix" --sizes "$sizes" "$@"
    fi
    if [ "$bench" = allreduce ] && [ "$swift_allreduce" = 0 ]; then return; fi
    if [ -n "$ompi_bin" ]; then
        # shellcheck disable=SC2046
        run "rep$rep-swift-openmpi-$bench-$ranks" "$ranks" $(mpirun_n "$ranks") \
            "$ompi_bin/mpi-bench" "$bench" --json --sizes "$sizes" "${type[@]}" "$@"
    fi
    run "rep$rep-swift-shm-$bench-$ranks" "$ranks" "$shm_bin/swift-mpiexec" -n "$ranks" \
        "$shm_bin/mpi-bench" "$bench" --json --sizes "$sizes" "${type[@]}" "$@"
    if [ -n "$previous_ompi_bin" ]; then
        # shellcheck disable=SC2046
        run "rep$rep-previous-openmpi-$bench-$ranks" "$ranks" $(mpirun_n "$ranks") \
            "$previous_ompi_bin/mpi-bench" "$bench" --json --sizes "$sizes" "${type[@]}" "$@"
    fi
    if [ -n "$previous_shm_bin" ]; then
        run "rep$rep-previous-shm-$bench-$ranks" "$ranks" "$previous_shm_bin/swift-mpiexec" -n "$ranks" \
            "$previous_shm_bin/mpi-bench" "$bench" --json --sizes "$sizes" "${type[@]}" "$@"
    fi
}

load_pids=()
stop_load() {
    if [ "${#load_pids[@]}" -gt 0 ]; then kill "${load_pids[@]}" 2>/dev/null || true; fi
    load_pids=()
}
trap stop_load EXIT
if [ "$under_load" = 1 ]; then
    for _ in $(seq 1 "${BENCH_LOAD_PROCESSES:-$(nproc)}"); do
        yes >/dev/null &
        load_pids+=($!)
    done
    echo "under load: ${#load_pids[@]} processes of yes > /dev/null beside every job" >>"$raw/machine.txt"
    say "under load: ${#load_pids[@]} CPU-bound processes started"
fi

measuring_started=$(date +%s)
for rep in $(seq 1 "$reps"); do
    if [ "$under_load" = 1 ]; then
        say "repetition $rep of $reps (under load)"
        measure "$rep" 2 latency 8 --iterations 5000 --warmup 200
        measure "$rep" 2 allreduce 8 --iterations 5000 --warmup 200
        continue
    fi
    say "repetition $rep of $reps"
    if [ "$two_ranks" = 1 ]; then
        measure "$rep" 2 latency "$latency_sizes" "${common[@]}"
        measure "$rep" 2 immediate-latency "$request_sizes" "${common[@]}"
        measure "$rep" 2 persistent-latency "$request_sizes" "${common[@]}"
        measure "$rep" 2 bw "$bw_sizes" "${common[@]}"
        measure "$rep" 2 bibw "$bibw_sizes" "${common[@]}"
        for completion in waitall waitany testsome; do measure "$rep" 2 "$completion" 8 "${common[@]}"; done
        measure "$rep" 2 allreduce "$allreduce_sizes" "${common[@]}"
    fi
    if [ "$one_sided" = 1 ]; then
        measure "$rep" 2 put-latency "$one_sided_sizes" "${common[@]}"
        measure "$rep" 2 get-latency "$one_sided_sizes" "${common[@]}"
        measure "$rep" 2 put-bw "$one_sided_sizes" "${common[@]}"
        measure "$rep" 2 accumulate-latency "$accumulate_sizes" "${common[@]}"
    fi
    if [ "$four_ranks" = 1 ]; then
        measure "$rep" 4 latency "$four_latency_sizes" "${four[@]}"
        measure "$rep" 4 allreduce "$four_allreduce_sizes" "${four[@]}"
    fi
    if [ "$flood" = 1 ]; then
        measure "$rep" 8 flood "$flood_sizes" "${flood_options[@]}"
    fi
    if [ "$io" = 1 ]; then
        measure "$rep" 2 io-write "$io_sizes" "${common[@]}"
        measure "$rep" 2 io-read "$io_sizes" "${common[@]}"
    fi
done
stop_load
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw/machine.txt"
echo "measuring seconds: $(($(date +%s) - measuring_started))" >>"$raw/machine.txt"

say "report"
python3 scripts/bench_report.py "$raw" "$results"
cp "$raw/machine.txt" "$results/machine.txt"
say "done in $(($(date +%s) - started)) s: $root/$results"
