import MPI

/// Collective benchmarks in the manner of OSU's osu_barrier and friends: each rank times its own
/// calls; the report gives the mean over ranks and the fastest and slowest rank.
enum CollectiveBenchmarks {
    static func barrier(world: Communicator, options: BenchmarkOptions, reporter: inout Reporter) throws {
        let (timed, warmup) = options.iterations(for: 0)
        var mine = 0.0
        for phase in 0..<2 {
            let rounds = phase == 0 ? warmup : timed
            try world.barrier()
            let start = try Environment.wallTime()
            for _ in 0..<rounds { try world.barrier() }
            mine = (try Environment.wallTime() - start) / Double(rounds) * 1e6
        }
        let all = try Gathering.toRoot(mine, world: world)
        reporter.report(Measurement(
            benchmark: "barrier", backend: Environment.backend?.rawValue ?? "?", ranks: world.size, size: 0,
            averageMicroseconds: all.reduce(0, +) / Double(max(all.count, 1)),
            minimumMicroseconds: all.min() ?? 0, maximumMicroseconds: all.max() ?? 0, iterations: timed))
    }
}
