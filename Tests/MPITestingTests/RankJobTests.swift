import MPI
@testable import MPITesting
import Synchronization
import Testing

/// The helper's own contract, checked on jobs of the fixtures (one per launcher this build has).
@Suite struct RankJobTests {
    static func fixture(_ name: String) -> String { "MPITestingTests.Fixtures/\(name)()" }

    @Test(arguments: RankLauncher.available)
    func passingJobPasses(launcher: RankLauncher) async throws {
        let report = try await RankJob(ranks: 4, test: Self.fixture("passes"), launcher: launcher).run()
        #expect(report.passed, "\(report)")
        #expect(report.completedRanks == [0, 1, 2, 3])
        #expect(report.issues.isEmpty)
        for rank in 0..<4 { #expect(report.output(ofRank: rank) == ["hello from \(rank) of 4"]) }
    }

    @Test(arguments: RankLauncher.available)
    func failedExpectationNamesRankAndMessage(launcher: RankLauncher) async throws {
        let report = try await RankJob(ranks: 4, test: Self.fixture("failsOnRankTwo"), launcher: launcher).run()
        #expect(!report.passed)
        #expect(report.exitCode != 0)
        try #require(report.issues.count == 1, "\(report)")
        let issue = report.issues[0]
        #expect(issue.rank == 2)
        #expect(issue.message.contains("Expectation failed"))
        #expect(issue.message.contains("rank two disagrees"))
        #expect(issue.sourceLocation?.fileID == "MPITestingTests/Fixtures.swift")
        #expect(issue.sourceLocation?.line == 27)
    }

    @Test(arguments: RankLauncher.available)
    func thrownErrorNamesRankAndError(launcher: RankLauncher) async throws {
        let report = try await RankJob(ranks: 3, test: Self.fixture("throwsOnRankOne"), launcher: launcher).run()
        #expect(!report.passed)
        let issues = report.issues.filter { $0.message.contains("the widget on rank 1 is broken") }
        #expect(issues.map(\.rank) == [1], "\(report)")
    }

    @Test(arguments: RankLauncher.available)
    func deadlockFailsWithinItsTimeout(launcher: RankLauncher) async throws {
        let report = try await RankJob(ranks: 2, test: Self.fixture("deadlocks"), timeout: .seconds(5), launcher: launcher).run()
        #expect(!report.passed)
        #expect(report.timedOut, "\(report)")
        #expect(report.elapsed >= .seconds(5))
        #expect(report.elapsed < .seconds(20), "the launcher ends a job that overstays its timeout")
        #expect(report.completedRanks.isEmpty)
        if launcher == .swiftMPIExec {
            // Each rank says what it is blocked on.
            for rank in 0..<2 {
                #expect(report.launcherMessages.contains { $0.contains("rank \(rank) is blocked in a receive") }, "\(report)")
            }
        }
    }

    @Test(arguments: RankLauncher.available)
    func lostRankFailsTheJob(launcher: RankLauncher) async throws {
        let report = try await RankJob(ranks: 3, test: Self.fixture("exitsOnRankOne"), launcher: launcher).run()
        #expect(!report.passed)
        #expect(!report.completedRanks.contains(1))
        #expect(report.exitCode != 0)
        if launcher == .swiftMPIExec {
            #expect(report.launcherMessages.contains { $0.contains("rank 1") && $0.contains("3") }, "\(report)")
        }
    }

    @Test func testThatDoesNotExistFails() async throws {
        let report = try await RankJob(ranks: 2, test: Self.fixture("noSuchFixture"), launcher: .swiftMPIExec).run()
        #expect(!report.passed)
        #expect(report.completedRanks.isEmpty)
    }

    @Test func badArgumentsThrow() async throws {
        await #expect(throws: RankJobError.self) { try await RankJob(ranks: 0, test: "x").run() }
        await #expect(throws: RankJobError.self) { try await RankJob(ranks: 2, test: "x", timeout: .zero).run() }
    }

    // MARK: Issues in the calling test

    /// A report as a failing 4-rank job gives it, turned into issues of this test.
    @Test func issuesNameTheirRanks() {
        let location = SourceLocation(fileID: "App/RingTests.swift", filePath: "/src/RingTests.swift", line: 12, column: 9)
        var report = RankJobReport(
            ranks: 4, launcher: .swiftMPIExec, exitCode: 1, signal: nil, elapsed: .seconds(1), timedOut: false,
            stdout: "", stderr: "swift-mpiexec: rank 2 exited with status 1\n"
        )
        report.completedRanks = [0, 1, 3]
        report.issues = [
            RankIssue(rank: 2, message: "Expectation failed: x == 1 — the sum", sourceLocation: location),
            RankIssue(rank: 0, message: "Expectation failed: size == 2", sourceLocation: location),
            RankIssue(rank: 1, message: "Expectation failed: size == 2", sourceLocation: location),
        ]
        let recorded = Mutex<[String]>([])
        withKnownIssue {
            report.recordIssues(at: location, timeout: .seconds(60))
        } matching: { issue in
            recorded.withLock { $0.append(issue.comments.map(\.rawValue).joined()) }
            return issue.sourceLocation == location
        }
        #expect(recorded.withLock { $0 } == ["rank 2: Expectation failed: x == 1 — the sum", "ranks 0, 1: Expectation failed: size == 2"])
    }

    /// A timeout with no issue: one issue saying so, with where each rank was stuck.
    @Test func timeoutIsOneIssueWithTheStuckReport() {
        let site = SourceLocation(fileID: "App/T.swift", filePath: "/src/T.swift", line: 3, column: 5)
        let report = RankJobReport(
            ranks: 2, launcher: .swiftMPIExec, exitCode: 124, signal: nil, elapsed: .seconds(5), timedOut: true,
            stdout: "",
            stderr: "swift-mpiexec: the job has run for 5 s\n[0] swift-mpi: rank 0 is blocked in a receive from rank 1\n[1] ◇ Test started.\n"
        )
        let recorded = Mutex<[String]>([])
        withKnownIssue {
            report.recordIssues(at: site, timeout: .seconds(5))
        } matching: { issue in
            recorded.withLock { $0.append(issue.comments.map(\.rawValue).joined()) }
            return true
        }
        let issues = recorded.withLock { $0 }
        #expect(issues.count == 1)
        #expect(issues.first?.contains("ran into its timeout of 5.0 seconds") == true)
        #expect(issues.first?.contains("[0] swift-mpi: rank 0 is blocked in a receive from rank 1") == true)
        #expect(issues.first?.contains("Test started") == false)
    }

    @Test func taggedLinesOfBothLaunchers() {
        #expect(RankJobReport.untagged("[3] hello").map { "\($0.rank)|\($0.text)" } == "3|hello")
        #expect(RankJobReport.untagged("[1,12]<stdout>: hi there").map { "\($0.rank)|\($0.text)" } == "12|hi there")
        #expect(RankJobReport.untagged("swift-mpiexec: done") == nil)
    }

    @Test func filterPatternIsAnEscapedPrefix() throws {
        let pattern = RankJob.filterPattern("M.S/f(x:)/F.swift:4:4")
        #expect(pattern == #"^M\.S/f\(x:\)/F\.swift:4:4"#)
        let regex = try Regex(pattern)
        #expect("M.S/f(x:)/F.swift:4:4".contains(regex))
        #expect(!"MxS/f(x:)/F.swift:4:4".contains(regex))
    }
}
