import MPI
import MPITesting
import Testing

#if os(Linux)
import Glibc
#endif

/// Multi-rank tests that fail on purpose, run only as ranks of the jobs that RankJobTests start
/// and inspect (in the test run itself they are skipped).
@Suite(.enabled(if: RankJob.isInsideRankJob))
struct Fixtures {
    struct Broken: Error, CustomStringConvertible {
        var description: String { "the widget on rank 1 is broken" }
    }

    @Test func passes() async throws {
        try await withRanks(4) { world in
            print("hello from \(world.rank) of \(world.size)")
            let ranks = try world.allReduce(1, op: .sum)
            #expect(ranks == world.size)
        }
    }

    @Test func failsOnRankTwo() async throws {
        try await withRanks(4) { world in
            #expect(world.rank != 2, "rank two disagrees")
        }
    }

    @Test func throwsOnRankOne() async throws {
        try await withRanks(3) { world in
            if world.rank == 1 { throw Broken() }
            try world.barrier()
        }
    }

    @Test func failsOnEveryRank() async throws {
        try await withRanks(3) { world in
            #expect(world.size == 2, "a world of two was expected")
        }
    }

    /// Every rank waits for a message nobody sends.
    @Test func deadlocks() async throws {
        try await withRanks(2, timeout: .seconds(5)) { world in
            _ = try world.receive(Int.self, from: 1 - world.rank, tag: 9)
        }
    }

    /// Rank 1 leaves the job in the middle, without a word.
    @Test func exitsOnRankOne() async throws {
        try await withRanks(3) { world in
            if world.rank == 1 { exit(3) }
            try world.barrier()
        }
    }
}
