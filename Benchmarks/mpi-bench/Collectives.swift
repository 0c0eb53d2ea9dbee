import MPI

/// Collective benchmarks in the manner of OSU's osu_barrier, osu_bcast, osu_allreduce and friends:
/// each rank times its own calls; the report gives the mean over ranks and the fastest and
/// slowest rank. Sizes are bytes per rank (per pair for all-to-all); rooted operations use root 0.
enum CollectiveBenchmarks {
    static func barrier(world: Communicator, options: BenchmarkOptions, reporter: inout Reporter) throws {
        let (timed, warmup) = options.iterations(for: 0)
        let mine = try time(world: world, timed: timed, warmup: warmup) { try world.barrier() }
        try report("barrier", mine, size: 0, iterations: timed, world: world, reporter: &reporter)
    }

    /// The data-moving and reducing collectives.
    enum Operation: String, CaseIterable {
        case bcast, reduce, allreduce, allgather, alltoall, gather, scatter
    }

    /// Runs `operation` at every size of `options`, summing with `sum` where it reduces.
    static func run<T: MessageElement>(
        _ operation: Operation, _ type: T.Type, sum: ReductionOp<T>,
        world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        let ranks = world.size
        for size in options.sizes.bytes {
            let count = size / MemoryLayout<T>.stride
            // Buffers for the largest layout any operation needs, allocated once per size.
            let send = UnsafeMutableBufferPointer<T>.allocate(capacity: max(count * ranks, 1))
            let receive = UnsafeMutableBufferPointer<T>.allocate(capacity: max(count * ranks, 1))
            defer {
                send.deallocate()
                receive.deallocate()
            }
            send.initialize(repeating: zero(T.self))
            receive.initialize(repeating: zero(T.self))
            let block = UnsafeBufferPointer(rebasing: send[0..<count])
            let blockOut = UnsafeMutableBufferPointer(rebasing: receive[0..<count])
            let all = UnsafeBufferPointer(rebasing: send[0..<(count * ranks)])
            let allOut = UnsafeMutableBufferPointer(rebasing: receive[0..<(count * ranks)])
            let call: () throws -> Void
            switch operation {
            // The buffer pointers are copied into each call (a captured `var` would cost the
            // closure a dynamic exclusivity check per call).
            case .bcast: call = { var out = blockOut; try world.broadcast(&out, root: 0) }
            case .reduce: call = { var out = blockOut; try world.reduce(block, into: &out, op: sum, root: 0) }
            case .allreduce: call = { var out = blockOut; try world.allReduce(block, into: &out, op: sum) }
            case .allgather: call = { var out = allOut; try world.allGather(block, into: &out) }
            case .alltoall: call = { var out = allOut; try world.allToAll(all, into: &out) }
            case .gather: call = { var out = allOut; try world.gather(block, into: &out, root: 0) }
            case .scatter: call = { var out = blockOut; try world.scatter(all, into: &out, root: 0) }
            }
            let (timed, warmup) = options.iterations(for: size)
            let mine = try time(world: world, timed: timed, warmup: warmup, call)
            try report(operation.rawValue, mine, size: count * MemoryLayout<T>.stride, iterations: timed, world: world, reporter: &reporter)
        }
    }

    /// The same all-reduce in its other two forms: `iallreduce` (OSU's osu_iallreduce without
    /// overlap: `immediateAllReduce` then `wait`) and `allreduce-persistent` (one
    /// `persistentAllReduce` made before timing, then `start` and `wait` per call), both on
    /// `MessageBuffer`s, the zero-copy buffers those forms lend.
    static func allReduceForms<T: MessageElement>(
        persistent: Bool, _ type: T.Type, sum: ReductionOp<T>,
        world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        for size in options.sizes.bytes {
            let count = size / MemoryLayout<T>.stride
            let input = MessageBuffer<T>(repeating: zero(T.self), count: count)
            let output = MessageBuffer<T>(repeating: zero(T.self), count: count)
            let (timed, warmup) = options.iterations(for: size)
            let mine: Double
            if persistent {
                var request = try world.persistentAllReduce(input, into: output, op: sum)
                mine = try time(world: world, timed: timed, warmup: warmup) {
                    try request.start()
                    _ = try request.wait()
                }
            } else {
                mine = try time(world: world, timed: timed, warmup: warmup) {
                    var request = try world.immediateAllReduce(input, into: output, op: sum)
                    _ = try request.wait()
                }
            }
            try report(persistent ? "allreduce-persistent" : "iallreduce", mine, size: count * MemoryLayout<T>.stride,
                iterations: timed, world: world, reporter: &reporter)
        }
    }

    /// This rank's mean time per call of `body`, in microseconds, after `warmup` untimed calls.
    private static func time(world: Communicator, timed: Int, warmup: Int, _ body: () throws -> Void) throws -> Double {
        var mine = 0.0
        for phase in 0..<2 {
            let rounds = phase == 0 ? warmup : timed
            try world.barrier()
            let start = try Environment.wallTime()
            for _ in 0..<rounds { try body() }
            mine = (try Environment.wallTime() - start) / Double(max(rounds, 1)) * 1e6
        }
        return mine
    }

    private static func report(
        _ benchmark: String, _ mine: Double, size: Int, iterations: Int, world: Communicator, reporter: inout Reporter
    ) throws {
        let all = try Gathering.toRoot(mine, world: world)
        reporter.report(Measurement(
            benchmark: benchmark, backend: Environment.backend?.rawValue ?? "?", ranks: world.size, size: size,
            averageMicroseconds: all.reduce(0, +) / Double(max(all.count, 1)),
            minimumMicroseconds: all.min() ?? 0, maximumMicroseconds: all.max() ?? 0, iterations: iterations))
    }
}
