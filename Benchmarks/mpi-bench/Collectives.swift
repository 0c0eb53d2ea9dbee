import MPI

/// Collective benchmarks in the manner of OSU's osu_barrier, osu_allreduce and friends: after a
/// warm-up and a barrier every rank times its own calls; the report gives the mean over ranks
/// (avg), the fastest rank (min) and the slowest rank (max).
///
/// A collective that moves data is one call of ``sized(_:_:shape:world:options:reporter:operation:)``
/// with the operation as a closure over a send and a receive array, e.g. (with the collectives
/// API) `sized("allreduce", T.self, …) { send, receive in try world.allReduce(send, into: &receive, op: .sum) }`.
enum CollectiveBenchmarks {
    /// Which buffers of a collective hold one block per rank rather than one block.
    struct BufferShape {
        var sendPerRank = false
        var receivePerRank = false

        /// bcast, reduce, allreduce: one block in, one block out.
        static let single = BufferShape()
        /// gather, allgather: every rank's block arrives.
        static let gathering = BufferShape(receivePerRank: true)
        /// scatter: one block per rank leaves.
        static let scattering = BufferShape(sendPerRank: true)
        /// alltoall: one block per rank each way.
        static let allToAll = BufferShape(sendPerRank: true, receivePerRank: true)
    }

    static func barrier(world: Communicator, options: BenchmarkOptions, reporter: inout Reporter) throws {
        let (timed, warmup) = options.iterations(for: 0)
        let mine = try timeEveryRank(world: world, timed: timed, warmup: warmup) { () throws(MPIError) in
            try world.barrier()
        }
        try report("barrier", size: 0, mine: mine, iterations: timed, world: world, reporter: &reporter)
    }

    /// Times `operation` at every message size of `options` (in bytes per block; sizes below one
    /// element are skipped, as OSU starts reductions at one element). The send array holds ones.
    static func sized<T: MessageElement & Numeric>(
        _ name: String, _ type: T.Type, shape: BufferShape, world: Communicator, options: BenchmarkOptions,
        reporter: inout Reporter, operation: (_ send: [T], _ receive: inout [T]) throws(MPIError) -> Void
    ) throws {
        for size in options.sizes.bytes {
            let count = size / MemoryLayout<T>.stride
            guard count > 0 else { continue }
            let send = [T](repeating: 1, count: shape.sendPerRank ? count * world.size : count)
            var receive = [T](repeating: 0, count: shape.receivePerRank ? count * world.size : count)
            let (timed, warmup) = options.iterations(for: size)
            let mine = try timeEveryRank(world: world, timed: timed, warmup: warmup) { () throws(MPIError) in
                try operation(send, &receive)
            }
            try report(name, size: count * MemoryLayout<T>.stride, mine: mine, iterations: timed, world: world, reporter: &reporter)
        }
    }

    /// Microseconds per call of `body` on this rank: a barrier, `warmup` calls, a barrier, then
    /// `timed` calls.
    @inline(__always)
    private static func timeEveryRank(
        world: Communicator, timed: Int, warmup: Int, _ body: () throws(MPIError) -> Void
    ) throws -> Double {
        try world.barrier()
        for _ in 0..<warmup { try body() }
        try world.barrier()
        let start = try Environment.wallTime()
        for _ in 0..<timed { try body() }
        return (try Environment.wallTime() - start) / Double(max(timed, 1)) * 1e6
    }

    private static func report(
        _ name: String, size: Int, mine: Double, iterations: Int, world: Communicator, reporter: inout Reporter
    ) throws {
        let all = try Gathering.toRoot(mine, world: world)
        reporter.report(Measurement(
            benchmark: name, backend: Environment.backend?.rawValue ?? "?", ranks: world.size, size: size,
            averageMicroseconds: all.reduce(0, +) / Double(max(all.count, 1)),
            minimumMicroseconds: all.min() ?? 0, maximumMicroseconds: all.max() ?? 0, iterations: iterations))
    }
}
