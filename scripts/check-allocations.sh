#!/usr/bin/env bash
# Shows that a blocking send/receive allocates nothing per message on the Open MPI backend: runs
# the pingpong example on 2 ranks for 10,000 and for 100,000 round trips of 8 bytes with a
# malloc-counting LD_PRELOAD library and compares each rank's allocation count. Fails when a
# rank allocates more in the longer run than the slack allows (Open MPI itself may grow a free
# list once or twice).
#
#   scripts/check-allocations.sh [debug|release]     (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."

configuration="${1:-release}"
scratch=.build-openmpi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1

swift build -c "$configuration" --traits OpenMPI --scratch-path "$scratch" --product pingpong
binary="$(swift build -c "$configuration" --traits OpenMPI --scratch-path "$scratch" --show-bin-path)/pingpong"
counter="$scratch/malloc-counter.so"
cc -O2 -shared -fPIC -o "$counter" scripts/malloc-counter/malloc-counter.c

count() {  # iterations -> "rank0 rank1" allocation counts
    mpirun -n 2 -x LD_PRELOAD="$PWD/$counter" --tag-output "$binary" "$1" 8 2>&1 >/dev/null \
        | sed -n 's/^\[1,\([01]\)\]<stderr>:malloc-counter: pid [0-9]* allocations \([0-9]*\)$/\1 \2/p' \
        | sort | awk '{ printf "%s ", $2 }'
}

read -r short0 short1 <<<"$(count 10000)"
read -r long0 long1 <<<"$(count 100000)"
echo "allocations per rank ($configuration): 10,000 round trips: rank 0 $short0, rank 1 $short1;" \
    "100,000 round trips: rank 0 $long0, rank 1 $long1"
slack=50
for pair in "$short0 $long0" "$short1 $long1"; do
    read -r short long <<<"$pair"
    if (( long - short > slack )); then
        echo "FAIL: $((long - short)) more allocations for 90,000 more round trips" >&2
        exit 1
    fi
done
echo "OK: the allocation count does not grow with the number of messages"
