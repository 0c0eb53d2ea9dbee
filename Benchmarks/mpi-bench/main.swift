import ArgumentParser
import MPI

/// `mpi-bench`: OSU-style micro-benchmarks that run under `mpirun` and `swift-mpiexec` alike
/// and say which backend they measured.
struct MPIBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi-bench",
        abstract: "OSU-style MPI micro-benchmarks for swift-mpi.",
        discussion: """
            Run under a launcher, e.g. `swift-mpiexec -n 2 mpi-bench latency` (shared memory) or
            `mpirun -n 2 mpi-bench latency` (Open MPI, when built with --traits OpenMPI).
            """)

    /// The benchmarks, in `--help` order (scripts/bench-compare.sh looks for names there). A
    /// collective that moves data is a case here and one `CollectiveBenchmarks.sized` call below.
    enum Benchmark: String, ExpressibleByArgument, CaseIterable {
        case latency
        case immediateLatency = "immediate-latency"
        case persistentLatency = "persistent-latency"
        case objectLatency = "object-latency"
        case columnLatency = "column-latency"
        case multiLatency = "multi-latency"
        case bw
        case bibw
        case waitall, waitany, testsome
        case flood
        case barrier
        case bcast, reduce, allreduce, allgather, alltoall, gather, scatter
        case iallreduce
        case allreducePersistent = "allreduce-persistent"
        case putLatency = "put-latency"
        case getLatency = "get-latency"
        case putBw = "put-bw"
        case accumulateLatency = "accumulate-latency"
        case ioWrite = "io-write"
        case ioRead = "io-read"
        case ioWriteStrided = "io-write-strided"
    }

    @Argument(help: "Benchmarks to run: \(Benchmark.allCases.map(\.rawValue).joined(separator: ", ")).")
    var benchmarks: [Benchmark] = [.latency]

    @OptionGroup var options: BenchmarkOptions

    func run() throws {
        try Environment.initialize()
        let world = try Communicator.world
        for benchmark in benchmarks {
            var reporter = Reporter(json: options.json, isRoot: world.rank == 0)
            switch options.type {
            case .byte: try run(benchmark, UInt8.self, sum: .sum, world: world, reporter: &reporter)
            case .int32: try run(benchmark, Int32.self, sum: .sum, world: world, reporter: &reporter)
            case .float: try run(benchmark, Float.self, sum: .sum, world: world, reporter: &reporter)
            case .double: try run(benchmark, Double.self, sum: .sum, world: world, reporter: &reporter)
            }
            if world.rank == 0 && !options.json && benchmarks.count > 1 { print() }
        }
        try Environment.finalize()
    }

    private func run<T: MessageElement & Numeric & Codable & Sendable>(
        _ benchmark: Benchmark, _ type: T.Type, sum: ReductionOp<T>, world: Communicator, reporter: inout Reporter
    ) throws {
        switch benchmark {
        case .latency: try PointToPoint.latency(type, world: world, options: options, reporter: &reporter)
        case .immediateLatency: try PointToPoint.immediateLatency(type, world: world, options: options, reporter: &reporter)
        case .persistentLatency: try PointToPoint.persistentLatency(type, world: world, options: options, reporter: &reporter)
        case .waitall: try PointToPoint.requests(.waitAll, type, world: world, options: options, reporter: &reporter)
        case .waitany: try PointToPoint.requests(.waitAny, type, world: world, options: options, reporter: &reporter)
        case .testsome: try PointToPoint.requests(.testSome, type, world: world, options: options, reporter: &reporter)
        case .objectLatency: try PointToPoint.objectLatency(type, world: world, options: options, reporter: &reporter)
        case .columnLatency: try PointToPoint.columnLatency(type, world: world, options: options, reporter: &reporter)
        case .multiLatency: try PointToPoint.multiLatency(type, world: world, options: options, reporter: &reporter)
        case .bw: try PointToPoint.bandwidth(type, bidirectional: false, world: world, options: options, reporter: &reporter)
        case .bibw: try PointToPoint.bandwidth(type, bidirectional: true, world: world, options: options, reporter: &reporter)
        case .flood: try Flood.run(world: world, options: options, reporter: &reporter)
        case .putLatency: try OneSided.putLatency(type, world: world, options: options, reporter: &reporter)
        case .getLatency: try OneSided.getLatency(type, world: world, options: options, reporter: &reporter)
        case .putBw: try OneSided.putBandwidth(type, world: world, options: options, reporter: &reporter)
        case .accumulateLatency: try OneSided.accumulateLatency(world: world, options: options, reporter: &reporter)
        case .ioWrite: try IOBenchmarks.run(write: true, world: world, options: options, reporter: &reporter)
        case .ioRead: try IOBenchmarks.run(write: false, world: world, options: options, reporter: &reporter)
        case .ioWriteStrided: try IOBenchmarks.run(write: true, strided: true, world: world, options: options, reporter: &reporter)
        case .barrier: try CollectiveBenchmarks.barrier(world: world, options: options, reporter: &reporter)
        case .iallreduce, .allreducePersistent:
            try CollectiveBenchmarks.allReduceForms(persistent: benchmark == .allreducePersistent, type, sum: sum,
                world: world, options: options, reporter: &reporter)
        default:
            let operation = CollectiveBenchmarks.Operation(rawValue: benchmark.rawValue)!
            try CollectiveBenchmarks.run(operation, type, sum: sum, world: world, options: options, reporter: &reporter)
        }
    }
}

MPIBench.main()
