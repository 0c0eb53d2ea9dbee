// swift-tools-version: 6.1
import PackageDescription

/// Compiler flags shared by every Swift target: whole-module builds specialise
/// the `@inlinable` generic entry points in each caller.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-mpi",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MPI", targets: ["MPI"]),
        .library(name: "MPITesting", targets: ["MPITesting"]),
        .executable(name: "swift-mpiexec", targets: ["swift-mpiexec"]),
        .executable(name: "ring", targets: ["ring"]),
        .executable(name: "mpi-bench", targets: ["mpi-bench"]),
        .executable(name: "pingpong", targets: ["pingpong"]),
        .executable(name: "vector-ring", targets: ["vector-ring"]),
        .executable(name: "data-parallel-training", targets: ["data-parallel-training"]),
        .executable(name: "heat-diffusion", targets: ["heat-diffusion"]),
        .executable(name: "monte-carlo-pi", targets: ["monte-carlo-pi"]),
        .executable(name: "word-count", targets: ["word-count"]),
    ],
    traits: [
        .trait(
            name: "OpenMPI",
            description: "Build the Open MPI backend (needs libopenmpi-dev: pkg-config `ompi-c`)."
        ),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The Codable codec of object messages (MessageEncoder/MessageDecoder). No C, no MPI.
        .target(name: "MPIBinaryCoding", swiftSettings: swiftSettings),
        // Public, backend-neutral API and the internal backend protocol. No C.
        .target(name: "MPICore", dependencies: ["MPIBinaryCoding"], swiftSettings: swiftSettings),

        // Open MPI's <mpi.h> with its handle macros turned into inline functions.
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        // The one place that calls MPI_*. Every file is wrapped in `#if OpenMPI`.
        .target(
            name: "MPIOpenMPI",
            dependencies: [
                "MPICore",
                .target(name: "CMPI", condition: .when(traits: ["OpenMPI"])),
            ],
            swiftSettings: swiftSettings
        ),
        // Linux system calls the Glibc module cannot import (futex through syscall(2)).
        .target(name: "CLinuxSystem"),
        // The pure-Swift shared-memory backend: segment, rings, matching, progress.
        .target(name: "MPISharedMemory", dependencies: ["MPICore", "CLinuxSystem"], swiftSettings: swiftSettings),

        // Umbrella: re-exports MPICore and chooses the backend at initialisation.
        .target(
            name: "MPI",
            dependencies: [
                "MPICore",
                "MPIBinaryCoding",
                "MPISharedMemory",
                .target(name: "MPIOpenMPI", condition: .when(traits: ["OpenMPI"])),
            ],
            swiftSettings: swiftSettings
        ),

        // Swift Testing tests whose body runs on N ranks (withRanks). It depends on the launcher
        // so that swift-mpiexec is built beside the test bundles that use it.
        .target(name: "MPITesting", dependencies: ["MPI", "swift-mpiexec"], swiftSettings: swiftSettings),

        .executableTarget(
            name: "swift-mpiexec",
            dependencies: [
                "MPISharedMemory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(name: "ring", dependencies: ["MPI", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "Examples/ring", swiftSettings: swiftSettings),
        .executableTarget(name: "data-parallel-training", dependencies: ["MPI", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "Examples/data-parallel-training", swiftSettings: swiftSettings),
        .executableTarget(name: "heat-diffusion", dependencies: ["MPI", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "Examples/heat-diffusion", swiftSettings: swiftSettings),
        .executableTarget(name: "monte-carlo-pi", dependencies: ["MPI", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "Examples/monte-carlo-pi", swiftSettings: swiftSettings),
        .executableTarget(name: "word-count", dependencies: ["MPI", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "Examples/word-count", swiftSettings: swiftSettings),
        .executableTarget(name: "vector-ring", dependencies: ["MPI", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "Examples/vector-ring", swiftSettings: swiftSettings),
        .executableTarget(name: "pingpong", dependencies: ["MPI", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "Examples/pingpong", swiftSettings: swiftSettings),

        .executableTarget(
            name: "mpi-bench",
            dependencies: ["MPI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/mpi-bench",
            swiftSettings: swiftSettings
        ),

        // Multi-rank scenarios: one executable, launched by the scenario driver under
        // `mpirun` and `swift-mpiexec` at several rank counts.
        .executableTarget(name: "mpi-scenarios", dependencies: ["MPI"], path: "Tests/Scenarios", swiftSettings: swiftSettings),

        .testTarget(name: "MPITestingTests", dependencies: ["MPITesting"], swiftSettings: swiftSettings),
        .testTarget(name: "MPICoreTests", dependencies: ["MPICore"], swiftSettings: swiftSettings),
        .testTarget(name: "MPIBinaryCodingTests", dependencies: ["MPIBinaryCoding"], swiftSettings: swiftSettings),
        .testTarget(name: "MPISharedMemoryTests", dependencies: ["MPISharedMemory"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ScenarioTests",
            dependencies: [
                "mpi-scenarios", "swift-mpiexec", "ring", "vector-ring", "pingpong",
                "data-parallel-training", "heat-diffusion", "monte-carlo-pi", "word-count", "mpi-bench",
            ],
            swiftSettings: swiftSettings
        ),
        // End-to-end tests of the launcher; they run the swift-mpiexec binary built beside them
        // (and the ring example, as a real swift-mpi rank).
        .testTarget(
            name: "LauncherTests",
            dependencies: ["swift-mpiexec", "ring", "MPISharedMemory", "MPITesting"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
