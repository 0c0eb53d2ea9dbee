import MPI

/// Point-to-point benchmarks in the manner of OSU's osu_latency and osu_multi_lat.
enum PointToPoint {
    /// Ping-pong between ranks 0 and 1; half the round-trip time. Other ranks wait.
    /// min/max are the extremes over ten batches of the timed iterations.
    static func latency<T: MessageElement>(
        _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        guard world.size >= 2 else { throw MPIError(.argument, "latency needs at least 2 ranks") }
        for size in options.sizes.bytes {
            let count = size / MemoryLayout<T>.stride
            var buffer = [T](repeating: zero(T.self), count: count)
            let (timed, warmup) = options.iterations(for: size)
            let batches = min(10, timed)
            let perBatch = timed / batches
            var batchTimes: [Double] = []
            try world.barrier()
            if world.rank < 2 {
                let peer = 1 - world.rank
                for batch in -1..<batches {
                    let rounds = batch < 0 ? warmup : perBatch
                    let start = try Environment.wallTime()
                    for _ in 0..<rounds {
                        if world.rank == 0 {
                            try world.send(buffer, to: peer, tag: 1)
                            try world.receive(into: &buffer, from: peer, tag: 1)
                        } else {
                            try world.receive(into: &buffer, from: peer, tag: 1)
                            try world.send(buffer, to: peer, tag: 1)
                        }
                    }
                    if batch >= 0 { batchTimes.append((try Environment.wallTime() - start) / Double(2 * rounds) * 1e6) }
                }
            }
            try world.barrier()
            let average = batchTimes.isEmpty ? 0 : batchTimes.reduce(0, +) / Double(batchTimes.count)
            reporter.report(Measurement(
                benchmark: "latency", backend: Environment.backend?.rawValue ?? "?", ranks: world.size,
                size: count * MemoryLayout<T>.stride, averageMicroseconds: average,
                minimumMicroseconds: batchTimes.min() ?? 0, maximumMicroseconds: batchTimes.max() ?? 0,
                iterations: perBatch * batches))
        }
    }

    /// Every rank in the lower half ping-pongs with its partner in the upper half at once;
    /// reports the mean over pairs, and the fastest and slowest pair.
    static func multiLatency<T: MessageElement>(
        _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        guard world.size >= 2 else { throw MPIError(.argument, "multi-latency needs at least 2 ranks") }
        let pairs = world.size / 2
        for size in options.sizes.bytes {
            let count = size / MemoryLayout<T>.stride
            var buffer = [T](repeating: zero(T.self), count: count)
            let (timed, warmup) = options.iterations(for: size)
            var mine = 0.0
            try world.barrier()
            if world.rank < 2 * pairs {
                let lower = world.rank < pairs
                let peer = lower ? world.rank + pairs : world.rank - pairs
                for phase in 0..<2 {
                    let rounds = phase == 0 ? warmup : timed
                    let start = try Environment.wallTime()
                    for _ in 0..<rounds {
                        if lower {
                            try world.send(buffer, to: peer, tag: 2)
                            try world.receive(into: &buffer, from: peer, tag: 2)
                        } else {
                            try world.receive(into: &buffer, from: peer, tag: 2)
                            try world.send(buffer, to: peer, tag: 2)
                        }
                    }
                    mine = (try Environment.wallTime() - start) / Double(2 * rounds) * 1e6
                }
            }
            let all = try Gathering.toRoot(mine, world: world)
            let used = Array(all.prefix(2 * pairs))
            reporter.report(Measurement(
                benchmark: "multi-latency", backend: Environment.backend?.rawValue ?? "?", ranks: world.size,
                size: count * MemoryLayout<T>.stride, averageMicroseconds: used.reduce(0, +) / Double(max(used.count, 1)),
                minimumMicroseconds: used.min() ?? 0, maximumMicroseconds: used.max() ?? 0, iterations: timed))
        }
    }
}

/// A zero value of any bitwise-copyable element type.
func zero<T: MessageElement>(_ type: T.Type) -> T {
    withUnsafeTemporaryAllocation(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment) { raw in
        raw.initializeMemory(as: UInt8.self, repeating: 0)
        return raw.load(as: T.self)
    }
}

/// Collecting one value per rank on rank 0 with point-to-point messages.
enum Gathering {
    /// Rank 0 gets every rank's value in rank order; other ranks get an empty array.
    static func toRoot(_ value: Double, world: Communicator) throws -> [Double] {
        if world.rank == 0 {
            var all = [value]
            for peer in 1..<world.size { all.append(try world.receive(Double.self, from: peer, tag: 99)) }
            return all
        }
        try world.send(value, to: 0, tag: 99)
        return []
    }
}
