#!/usr/bin/env bash
# Shows that point-to-point messages and nonblocking requests allocate nothing per message: runs
# the pingpong example on 2 ranks for 10,000 and for 100,000 round trips of 8 bytes with a
# malloc-counting LD_PRELOAD library and compares each rank's allocation count; then the same
# with mpi-bench's column-latency (a strided MessageLayout, 1 KiB columns, 1,000 against 11,000
# round trips), whose messages are gathered and scattered by a derived datatype, and with
# mpi-bench's allreduce-persistent (8-byte persistent all-reduces, 1,000 against 11,000 starts;
# on Open MPI less the growth of the same loop in C, scripts/malloc-counter/persistent-allreduce.c,
# since Open MPI's libnbc itself allocates at each start), and with mpi-bench's put-latency,
# get-latency and accumulate-latency (one-sided operations and flushes under a lock), and with
# mpi-bench's waitall, waitany and testsome (windows of 64 immediate receives and 64 immediate
# sends in a RequestList, 1,000 against 11,000 windows). It does so on
# both backends (Open MPI under mpirun, shared memory under swift-mpiexec) and in each of the
# example's modes: blocking send/receive, immediate requests on message buffers, persistent
# requests. Fails when a rank allocates more in the longer run than the slack allows (Open MPI
# itself may grow a free list once or twice).
#
#   scripts/check-allocations.sh [debug|release]     (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."

configuration="${1:-release}"
scratch=.build-openmpi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1

# One binary serves both backends: mpirun starts it on Open MPI, swift-mpiexec on shared memory.
swift build -c "$configuration" --traits OpenMPI --scratch-path "$scratch" --product pingpong
swift build -c "$configuration" --traits OpenMPI --scratch-path "$scratch" --product swift-mpiexec
swift build -c "$configuration" --traits OpenMPI --scratch-path "$scratch" --product mpi-bench
bin="$(swift build -c "$configuration" --traits OpenMPI --scratch-path "$scratch" --show-bin-path)"
counter="$PWD/$scratch/malloc-counter.so"
cc -O2 -shared -fPIC -o "$counter" scripts/malloc-counter/malloc-counter.c
c_persistent="$PWD/$scratch/persistent-allreduce"
mpicc -O2 -o "$c_persistent" scripts/malloc-counter/persistent-allreduce.c

count() {  # backend mode iterations -> "rank0 rank1" allocation counts
    case "$1" in
    openmpi)
        mpirun -n 2 -x LD_PRELOAD="$counter" --tag-output "$bin/pingpong" "$3" 8 "$2" 2>&1 >/dev/null \
            | sed -n 's/^\[1,\([01]\)\]<stderr>:malloc-counter: pid [0-9]* allocations \([0-9]*\)$/\1 \2/p'
        ;;
    shm)
        # The counter goes to the ranks only (through env), not to the launcher.
        "$bin/swift-mpiexec" -n 2 --tag-output -- env LD_PRELOAD="$counter" "$bin/pingpong" "$3" 8 "$2" 2>&1 \
            | sed -n 's/^\[\([01]\)\] malloc-counter: pid [0-9]* allocations \([0-9]*\)$/\1 \2/p'
        ;;
    esac | sort | awk '{ printf "%s ", $2 }'
}

# The same for an mpi-bench run of `iterations` calls of a benchmark.
count_bench() {  # backend iterations benchmark-arguments... -> "rank0 rank1" allocation counts
    local arguments=("${@:3}" --warmup 0 --iterations "$2")
    case "$1" in
    openmpi)
        mpirun -n 2 -x LD_PRELOAD="$counter" --tag-output "$bin/mpi-bench" "${arguments[@]}" 2>&1 >/dev/null \
            | sed -n 's/^\[1,\([01]\)\]<stderr>:malloc-counter: pid [0-9]* allocations \([0-9]*\)$/\1 \2/p'
        ;;
    shm)
        "$bin/swift-mpiexec" -n 2 --tag-output -- env LD_PRELOAD="$counter" "$bin/mpi-bench" "${arguments[@]}" 2>&1 \
            | sed -n 's/^\[\([01]\)\] malloc-counter: pid [0-9]* allocations \([0-9]*\)$/\1 \2/p'
        ;;
    esac | sort | awk '{ printf "%s ", $2 }'
}

# The C persistent all-reduce's counts for `iterations` starts.
count_c() {  # iterations -> "rank0 rank1" allocation counts
    mpirun -n 2 -x LD_PRELOAD="$counter" --tag-output "$c_persistent" "$1" 2>&1 >/dev/null \
        | sed -n 's/^\[1,\([01]\)\]<stderr>:malloc-counter: pid [0-9]* allocations \([0-9]*\)$/\1 \2/p' \
        | sort | awk '{ printf "%s ", $2 }'
}

slack=50
# The collective rows vary by up to ~70 between runs on shared memory whatever the form (the
# blocking all-reduce too, measured), without growing with the calls; one allocation per call
# would show 10,000.
collective_slack=200
failed=0
row() { printf '%-8s %-11s %6s %20s %20s %8s\n' "$@"; }
compare() {  # backend mode "short0 short1" "long0 long1" ["allowed0 allowed1"]: a row per rank, fails on growth
    local shorts=($3) longs=($4) allowed=(${5:-0 0})
    if [ "${#shorts[@]}" -ne 2 ] || [ "${#longs[@]}" -ne 2 ]; then
        echo "FAIL: no allocation counts from both ranks for $1 $2 (got '$3' and '$4')" >&2
        failed=1
        return
    fi
    for rank in 0 1; do
        local growth=$((longs[rank] - shorts[rank] - allowed[rank]))
        row "$1" "$2" "$rank" "${shorts[$rank]}" "${longs[$rank]}" "$growth"
        if (( growth > ${6:-$slack} )); then failed=1; fi
    done
}
row backend mode rank "10,000 round trips" "100,000 round trips" growth
for backend in openmpi shm; do
    for mode in blocking immediate persistent; do
        compare "$backend" "$mode" "$(count "$backend" "$mode" 10000)" "$(count "$backend" "$mode" 100000)"
    done
done
row backend benchmark rank "1,000 calls" "11,000 calls" growth
for backend in openmpi shm; do
    column=(column-latency --type double --sizes 1024)
    compare "$backend" column "$(count_bench "$backend" 1000 "${column[@]}")" "$(count_bench "$backend" 11000 "${column[@]}")"
    persistent=(allreduce-persistent --type double --sizes 8)
    allowed="0 0"
    if [ "$backend" = openmpi ]; then
        c_short=($(count_c 1000)) c_long=($(count_c 11000))
        allowed="$((c_long[0] - c_short[0])) $((c_long[1] - c_short[1]))"
    fi
    compare "$backend" p-allreduce "$(count_bench "$backend" 1000 "${persistent[@]}")" "$(count_bench "$backend" 11000 "${persistent[@]}")" "$allowed" "$collective_slack"
    # One-sided: a put, a get and an accumulate, each with a flush, under one lock.
    for rma in put-latency get-latency accumulate-latency; do
        compare "$backend" "$rma" "$(count_bench "$backend" 1000 "$rma" --sizes 8)" "$(count_bench "$backend" 11000 "$rma" --sizes 8)"
    done
    # Request lists: a window of 128 requests per call (mpi-bench runs iterations / 100 windows).
    # On shared memory messages that arrive before their receive take a pooled buffer; the pool
    # grows to the most such messages outstanding at once (up to 128 here, differing between
    # runs by tens), so these rows get the collective slack; one allocation per message would
    # show 1,280,000.
    for requests in waitall waitany testsome; do
        compare "$backend" "$requests" "$(count_bench "$backend" 100000 "$requests" --sizes 8)" "$(count_bench "$backend" 1100000 "$requests" --sizes 8)" "0 0" "$collective_slack"
    done
done
if (( failed )); then
    echo "FAIL: a rank allocated more than $slack times more in the longer run ($configuration)" >&2
    exit 1
fi
echo "OK ($configuration): the allocation count does not grow with the number of messages"
