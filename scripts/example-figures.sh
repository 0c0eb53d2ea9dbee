#!/usr/bin/env bash
# Measures the issue-7 examples on both backends, interleaved, and prints the README's table:
# data-parallel-training samples/s (mean of the epochs after the first) with its all-reduce
# share, and heat-diffusion time per iteration, at 1, 2 and 4 ranks, each the median of
# FIGURE_REPS runs (default 5). Builds release binaries with and without the OpenMPI trait.
#
#   scripts/example-figures.sh               # ~2 minutes on 2 cores once the builds are done
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${FIGURE_REPS:-5}
if ! command -v mpirun >/dev/null 2>&1; then
    echo "example-figures: needs Open MPI (scripts/test.sh installs it)" >&2
    exit 1
fi
swift build -c release --product swift-mpiexec >/dev/null
swift build -c release --product data-parallel-training >/dev/null
swift build -c release --product heat-diffusion >/dev/null
swift build -c release --traits OpenMPI --scratch-path .build-openmpi --product data-parallel-training >/dev/null
swift build -c release --traits OpenMPI --scratch-path .build-openmpi --product heat-diffusion >/dev/null
shm_bin=$(swift build -c release --show-bin-path)
ompi_bin=$(swift build -c release --traits OpenMPI --scratch-path .build-openmpi --show-bin-path)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

run() {  # backend ranks example → its output
    local backend=$1 ranks=$2 example=$3
    if [ "$backend" = shm ]; then
        "$shm_bin/swift-mpiexec" -n "$ranks" "$shm_bin/$example"
    else
        mpirun --oversubscribe -n "$ranks" "$ompi_bin/$example"
    fi
}

for rep in $(seq "$reps"); do
    for ranks in 1 2 4; do
        for backend in shm openmpi; do
            # Training: epochs 2 and later (the first includes warm-up); columns samples/s, share.
            run "$backend" "$ranks" data-parallel-training \
                | awk -v b="$backend" -v n="$ranks" '$1 ~ /^[0-9]+$/ && $1 > 1 { s += $3; a += $4; k++ }
                    END { printf "training %s %s %.0f %.1f\n", b, n, s / k, a / k }' >>"$raw"
            run "$backend" "$ranks" heat-diffusion \
                | awk -v b="$backend" -v n="$ranks" '/time per iteration/ { printf "heat %s %s %s\n", b, n, $4 }' >>"$raw"
        done
    done
done

python3 - "$raw" "$reps" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def median(kind, backend, ranks, column=3):
    values = [float(r[column]) for r in rows if r[0] == kind and r[1] == backend and r[2] == str(ranks)]
    return statistics.median(values)
print(f"medians of {sys.argv[2]} interleaved runs")
print("| ranks | training samples/s, shm (all-reduce share) | training samples/s, Open MPI (all-reduce share) | heat-diffusion µs/iteration, shm | heat-diffusion µs/iteration, Open MPI |")
print("|---:|---:|---:|---:|---:|")
for n in (1, 2, 4):
    shm = f"{median('training', 'shm', n):,.0f} ({median('training', 'shm', n, 4):.1f} %)"
    ompi = f"{median('training', 'openmpi', n):,.0f} ({median('training', 'openmpi', n, 4):.1f} %)"
    print(f"| {n} | {shm} | {ompi} | {median('heat', 'shm', n):.1f} | {median('heat', 'openmpi', n):.1f} |")
PY
