#!/usr/bin/env bash
# Builds and tests swift-mpi twice: without the OpenMPI trait (shared-memory backend only) and
# with it (in its own scratch path, so neither build invalidates the other), and between the two
# runs the nonblocking scenarios under AddressSanitizer and scripts/check-allocations.sh. Installs Open MPI first when it is
# missing. Exits non-zero on the first failure; the last thing it prints is the test runner's
# summary of the Open MPI configuration.
#
#   scripts/test.sh
#   SWIFTMPI_TEST_BACKENDS=openmpi scripts/test.sh   # run only the mpirun scenario launches
set -euo pipefail

cd "$(dirname "$0")/.."

packages=()
command -v mpicc >/dev/null 2>&1 || packages+=(libopenmpi-dev openmpi-bin)
# ip netns for the simulated cluster, unshare for the small /dev/shm, bc for adversarial.sh's times.
command -v ip >/dev/null 2>&1 || packages+=(iproute2)
command -v unshare >/dev/null 2>&1 || packages+=(util-linux)
command -v bc >/dev/null 2>&1 || packages+=(bc)
command -v pgrep >/dev/null 2>&1 || packages+=(procps)
if [ ${#packages[@]} -gt 0 ]; then
    echo "== installing ${packages[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${packages[@]}"
fi

# mpirun refuses root unless told, needs --oversubscribe for more ranks than cores (the driver
# passes it), and starts fast with the ob1 point-to-point layer.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_pml=ob1
export OMPI_MCA_rmaps_base_oversubscribe=1

echo "== without the OpenMPI trait"
swift build --build-tests
swift test

# The segment reserves its memory at launch and grows about linearly with the ranks: 64 ranks run
# in a 64 MiB /dev/shm (Docker's default), and one too small is a clear launch error, not a SIGBUS.
# A private mount namespace gives the job its own small /dev/shm (root only; skipped otherwise).
echo "== small /dev/shm (64 ranks in 64 MiB; 16 ranks in 4 MiB refused at launch)"
debug_bin="$(swift build --show-bin-path)"
if unshare -m true 2>/dev/null; then
    small_shm() { size=$1; shift; unshare -m sh -c 'mount -t tmpfs -o size='"$size"' tmpfs /dev/shm && "$@"' sh "$@"; }
    small_shm 64m "$debug_bin/swift-mpiexec" -n 64 --timeout 300 "$debug_bin/mpi-scenarios" ring | grep -c ' PASS ring' | grep -qx 64
    if out=$(small_shm 4m "$debug_bin/swift-mpiexec" -n 16 /bin/true 2>&1); then
        echo "16 ranks in a 4 MiB /dev/shm should not launch"; exit 1
    fi
    echo "$out" | grep -q 'needs a 16.0 MiB segment in /dev/shm; /dev/shm has 4.0 MiB free' || { echo "unexpected: $out"; exit 1; }
    echo "ok: $out"
else
    echo "skipped: cannot create a mount namespace here (needs root)"
fi

# The nonblocking and async scenarios lend caller memory to pending operations, and the datatype
# scenarios gather and scatter it through staging buffers: run them under AddressSanitizer
# (shared-memory backend), so a request that outlives its buffer or a backend that writes past
# one fails loudly. nb-large-message (2 GiB per rank) is left out.
echo "== nonblocking scenarios under AddressSanitizer"
swift build --sanitize=address --scratch-path .build-asan --product mpi-scenarios
swift build --sanitize=address --scratch-path .build-asan --product swift-mpiexec
asan_bin="$(swift build --sanitize=address --scratch-path .build-asan --show-bin-path)"
nonblocking=$("$asan_bin/mpi-scenarios" --list | grep -E '^(nb|async|datatype|persistent)-|^collective-buffer-kinds$' | grep -v '^nb-large-message$')
for ranks in 2 4; do
    echo "-- swift-mpiexec -n $ranks (AddressSanitizer, ThreadLevel.multiple for the async scenarios)"
    # (pipefail: a failed job fails the script.)
    "$asan_bin/swift-mpiexec" -n "$ranks" --timeout 300 -- "$asan_bin/mpi-scenarios" --thread-level multiple $nonblocking | grep -v ' BEGIN '
done

# No allocation per message or per request on either backend (release builds, as users run).
echo "== allocations per message and per request (scripts/check-allocations.sh)"
scripts/check-allocations.sh release

echo "== with the OpenMPI trait"
swift build --traits OpenMPI --scratch-path .build-openmpi --build-tests

# Ranks that die, leave or deadlock, on both backends: each job ends in time, with the expected
# status, no process left behind and no file left in /dev/shm (a table; about 20 s).
echo "== adversarial cases (scripts/adversarial.sh)"
scripts/adversarial.sh "$debug_bin" "$(swift build --traits OpenMPI --scratch-path .build-openmpi --show-bin-path)"

# The same binaries across hosts: a simulated 3-host cluster (network namespaces, one per host,
# Open MPI's TCP transport between them, vader within one), at 1 and 2 ranks per host: the
# scenario suite (less nb-large-message, 2 GiB per rank) with a check that the job spans 3 hosts
# and the hierarchical node/leader all-reduce, then every example. Root only; skipped otherwise.
echo "== simulated cluster: 3 hosts over TCP (scripts/cluster.sh)"
if scripts/cluster.sh check; then
    ompi_bin="$(swift build --traits OpenMPI --scratch-path .build-openmpi --show-bin-path)"
    trap 'scripts/cluster.sh down' EXIT
    cluster_scenarios=$("$ompi_bin/mpi-scenarios" --list | grep -v '^nb-large-message$')
    scenario_count=$(echo "$cluster_scenarios" | wc -l)
    for per_host in 1 2; do
        ranks=$((3 * per_host))
        scripts/cluster.sh up 3 "$per_host"
        echo "-- mpi-scenarios on 3 hosts x $per_host ($ranks ranks)"
        passed=$(scripts/cluster.sh run -t 900 -- -n "$ranks" -x SWIFTMPI_BACKEND=openmpi -x SWIFTMPI_TEST_EXPECT_HOSTS=3 \
            "$ompi_bin/mpi-scenarios" $cluster_scenarios | grep -cE '^\[[0-9]+\] (PASS|SKIP) ')
        [ "$passed" -eq $((ranks * scenario_count)) ] || { echo "only $passed of $((ranks * scenario_count)) scenario results passed"; exit 1; }
        echo "ok: $scenario_count scenarios passed on every one of $ranks ranks"
        for example in "ring" "vector-ring" "pingpong" \
            "data-parallel-training --samples 2048 --batch-size 128 --epochs 2 --hidden 16" \
            "heat-diffusion --size 48 --iterations 40" "heat-diffusion --size 48 --iterations 40 --halo neighbor" "monte-carlo-pi --samples 100000" "word-count --lines 4000"; do
            # shellcheck disable=SC2086
            scripts/cluster.sh run -t 300 -- -n "$ranks" -x SWIFTMPI_BACKEND=openmpi "$ompi_bin/"$example >/dev/null \
                || { echo "example failed on 3 hosts x $per_host: $example"; exit 1; }
        done
        echo "ok: every example on 3 hosts x $per_host"
        scripts/cluster.sh down
    done
    trap - EXIT
else
    echo "skipped: cannot create network namespaces here (needs root and iproute2's ip netns)"
fi

swift test --traits OpenMPI --scratch-path .build-openmpi
