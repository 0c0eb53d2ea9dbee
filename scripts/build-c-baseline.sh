#!/usr/bin/env bash
# Builds the C baseline (Benchmarks/c-baseline) with `mpicc -O2` into .build-c/:
# latency, immediate_latency, persistent_latency, waitall, waitany, testsome, bw, bibw, allreduce, barrier, flood and the one-sided put_latency, get_latency,
# put_bw and acc_latency, the I/O io_write, io_read (MPI-IO) and io_write_posix, io_read_posix
# (pwrite/pread; backend "c-posix"), each printing mpi-bench's JSON lines with backend
# "c-openmpi". Needs Open MPI's compiler wrapper (libopenmpi-dev); scripts/bench-compare.sh
# installs it when missing.
#
#   scripts/build-c-baseline.sh && mpirun -n 2 .build-c/latency --sizes 0:1024
set -euo pipefail

cd "$(dirname "$0")/.."
source=Benchmarks/c-baseline
output=.build-c
mkdir -p "$output"

CC=${MPICC:-mpicc}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "build-c-baseline: $CC not found (install libopenmpi-dev openmpi-bin)" >&2
    exit 1
fi

flags=(-O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra)
for program in latency allreduce barrier flood put_latency get_latency put_bw acc_latency; do
    "$CC" "${flags[@]}" -o "$output/$program" "$source/$program.c"
done
"$CC" "${flags[@]}" -DIMMEDIATE=1 -o "$output/immediate_latency" "$source/latency.c"
"$CC" "${flags[@]}" -DPERSISTENT=1 -o "$output/persistent_latency" "$source/latency.c"
"$CC" "${flags[@]}" -o "$output/waitall" "$source/requests.c"
"$CC" "${flags[@]}" -DCOMPLETION=1 -o "$output/waitany" "$source/requests.c"
"$CC" "${flags[@]}" -DCOMPLETION=2 -o "$output/testsome" "$source/requests.c"
"$CC" "${flags[@]}" -o "$output/bw" "$source/bw.c"
"$CC" "${flags[@]}" -DBIDIRECTIONAL=1 -o "$output/bibw" "$source/bw.c"
# Parallel I/O: MPI-IO (io_write, io_read) and the plain pwrite/pread loop (…_posix).
"$CC" "${flags[@]}" -o "$output/io_write" "$source/io.c"
"$CC" "${flags[@]}" -DREADING=1 -o "$output/io_read" "$source/io.c"
"$CC" "${flags[@]}" -DPOSIX_IO -o "$output/io_write_posix" "$source/io.c"
"$CC" "${flags[@]}" -DPOSIX_IO -DREADING=1 -o "$output/io_read_posix" "$source/io.c"
echo "build-c-baseline: built $(cd "$output" && echo latency immediate_latency persistent_latency waitall waitany testsome bw bibw allreduce barrier flood put_latency get_latency put_bw acc_latency io_write io_read io_write_posix io_read_posix) in $output/"
