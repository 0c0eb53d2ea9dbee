// swift-tools-version: 6.1
// Microbenchmarks of swift-mpi's hot paths with ordo-one's package-benchmark, which also counts
// heap allocations (mallocs) per iteration. A package of its own, so the library's users never
// resolve package-benchmark. Run from this directory:
//
//   swift package benchmark
//
// The OSU-style multi-rank benchmarks (mpi-bench) and the C baseline live beside this package;
// see docs/benchmarks.md.
import PackageDescription

let package = Package(
    name: "swift-mpi-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-mpi", path: ".."),
        // Only the malloc interposer (allocation counts): its Linux ARC interposer for Swift 6.3
        // is a further package that the default traits would pull in.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "MPIMicroBenchmarks",
            dependencies: [
                .product(name: "MPI", package: "swift-mpi"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/MPIMicroBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
