import MPI
import MPITesting
import Testing

/// Tests written with the helper the way users write them: bodies that run on N ranks.
@Suite struct WithRanksTests {
    @Test(arguments: [1, 2, 3, 4, 8])
    func allReduceSumsTheRanks(ranks: Int) async throws {
        // (A body whose only `try` is inside `#expect` must say `throws`: Swift infers a
        // closure's effects from its syntax, before macros expand.)
        try await withRanks(ranks) { world throws in
            #expect(world.size == ranks)
            #expect(try world.allReduce(world.rank, op: .sum) == ranks * (ranks - 1) / 2)
        }
    }

    @Test func ringOfFour() async throws {
        try await withRanks(4) { world in
            let next = (world.rank + 1) % world.size
            let previous = (world.rank + world.size - 1) % world.size
            var token = [0]
            if world.rank == 0 { try world.send([1], to: next, tag: 3) }
            try world.receive(into: &token, from: previous, tag: 3)
            if world.rank != 0 { try world.send([token[0] + 1], to: next, tag: 3) }
            if world.rank == 0 { #expect(token[0] == world.size) }
        }
    }

    /// The same body under each launcher this build has: shared memory under swift-mpiexec,
    /// Open MPI under mpirun.
    @Test(arguments: RankLauncher.available)
    func eachLauncherRunsItsBackend(launcher: RankLauncher) async throws {
        try await withRanks(3, launcher: launcher) { world in
            #expect(Environment.backend == (launcher == .mpirun ? .openMPI : .sharedMemory))
            let sums = try world.allReduce([Double(world.rank), 1], op: .sum)
            #expect(sums == [3, 3])
        }
    }

    /// Two jobs in one test, told apart by their rank counts and labels.
    @Test func severalJobsInOneTest() async throws {
        for label in ["first", "second"] {
            try await withRanks(2, label: label) { world in
                let got = try world.allReduce(label == "first" ? 1 : 10, op: .sum)
                #expect(got == (label == "first" ? 2 : 20))
            }
        }
    }

    @Test func environmentReachesTheRanks() async throws {
        try await withRanks(2, environment: ["RING_GREETING": "hello"]) { _ in
            #expect(RankJob.isInsideRankJob)
            #expect(getenvString("RING_GREETING") == "hello")
        }
    }
}

#if os(Linux)
import Glibc
#endif

func getenvString(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}
