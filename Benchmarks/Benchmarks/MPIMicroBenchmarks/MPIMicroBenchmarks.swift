import Benchmark
import MPI

// Hot paths of swift-mpi, measured in one process through the public API: the process starts
// alone, so MPI gives it a world of one on the shared-memory backend, whose send to self goes
// through a real ring of the job segment (enqueue, then dequeue and matching on receive). Each
// benchmark reports wall-clock time and heap allocations (package-benchmark's malloc
// interposer) per operation: `scaledIterations` runs 1000 operations per measured iteration.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(1),
        maxIterations: 10_000)

    // MARK: Type mapping: a scalar's Datatype, as every typed call computes it.

    datatypeBenchmark(Int8.self)
    datatypeBenchmark(Int16.self)
    datatypeBenchmark(Int32.self)
    datatypeBenchmark(Int64.self)
    datatypeBenchmark(Int.self)
    datatypeBenchmark(UInt8.self)
    datatypeBenchmark(UInt16.self)
    datatypeBenchmark(UInt32.self)
    datatypeBenchmark(UInt64.self)
    datatypeBenchmark(UInt.self)
    datatypeBenchmark(Float.self)
    datatypeBenchmark(Double.self)
    datatypeBenchmark(Bool.self)
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    datatypeBenchmark(Float16.self)
    #endif

    // MARK: Ring: send to self (enqueue) + receive (dequeue, match, copy out).

    for bytes in [8, 1024, 16 << 10] {
        Benchmark("ring/send+receive to self \(bytes) B") { benchmark in
            let world = try SelfWorld.communicator()
            var message = [UInt8](repeating: 7, count: bytes)
            for _ in benchmark.scaledIterations {
                try world.send(message, to: 0, tag: 1)
                try world.receive(into: &message, from: 0, tag: 1)
            }
            blackHole(message)
        }
    }

    // MARK: Matching: a receive searches an unexpected queue of `depth` unmatched messages.

    for depth in [0, 16, 256] {
        Benchmark(
            "matching/unexpected queue \(depth) deep",
            closure: { benchmark in
                let world = try SelfWorld.communicator()
                var value = 0
                for _ in benchmark.scaledIterations {
                    try world.send(value &+ 1, to: 0, tag: 1)
                    value = try world.receive(Int.self, from: 0, tag: 1)
                }
                blackHole(value)
            },
            setup: { try SelfWorld.fillUnexpected(depth) },
            teardown: { try SelfWorld.drainUnexpected(depth) })
    }

    // MARK: Nonblocking: one window of 64 immediate receives and sends to self, then waitAll,
    // as mpi-bench's bw posts them. Not scaled: time and allocations are per window.

    Benchmark(
        "nonblocking/window of 64 to self, 8 B (per window)",
        configuration: .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .one,
            maxDuration: .seconds(1), maxIterations: 10_000)
    ) { benchmark in
        let world = try SelfWorld.communicator()
        let receive = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: 1)
        defer { receive.deallocate() }
        receive.initialize(repeating: 0)
        var send: UInt64 = 42
        for _ in benchmark.scaledIterations {
            try world.withRequests { (requests: inout RequestList) throws(MPIError) in
                for _ in 0..<64 {
                    requests.add(try world.immediateReceive(into: UnsafeMutableBufferPointer(rebasing: receive[..<1]), from: 0, tag: 2))
                }
                try withUnsafePointer(to: &send) { (pointer) throws(MPIError) in
                    for _ in 0..<64 {
                        requests.add(try world.immediateSend(UnsafeBufferPointer(start: pointer, count: 1), to: 0, tag: 2))
                    }
                    try requests.waitAll()
                }
            }
        }
        blackHole(receive[0])
    }
}

/// A `Datatype` lookup benchmark for element type `T`.
func datatypeBenchmark<T: MessageElement>(_ type: T.Type) {
    Benchmark("datatype/\(T.self)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(T.datatype)
            blackHole(T.datatype.size)
        }
    }
}

/// The world of one that every benchmark of this process shares.
enum SelfWorld {
    /// Tags of the messages left unmatched in the unexpected queue; no benchmark receives them.
    static let unmatchedTagBase = 10_000

    /// The world communicator, initializing MPI on first use (finalized at exit).
    static func communicator() throws -> Communicator {
        if !Environment.isInitialized { try Environment.initialize() }
        return try Communicator.world
    }

    /// Leaves `depth` messages with tags no receive asks for in the unexpected queue: sent to
    /// self, then drained from the ring by a probe that matches none of them.
    static func fillUnexpected(_ depth: Int) throws {
        let world = try communicator()
        for index in 0..<depth { try world.send(index, to: 0, tag: unmatchedTagBase + index) }
        _ = try world.immediateProbe(from: 0, tag: unmatchedTagBase - 1)
    }

    /// Receives the messages `fillUnexpected(depth)` left.
    static func drainUnexpected(_ depth: Int) throws {
        let world = try communicator()
        for index in 0..<depth { _ = try world.receive(Int.self, from: 0, tag: unmatchedTagBase + index) }
    }
}
