#if os(Linux)
import Glibc
#endif
import MPI
import Testing

/// Runs `body` on `ranks` ranks, each with the job's world communicator, as part of the Swift
/// Testing test it is called from.
///
/// ```swift
/// @Test func ring() async throws {
///     try await withRanks(4) { world in
///         let next = (world.rank + 1) % world.size
///         let previous = (world.rank + world.size - 1) % world.size
///         var received = [0]
///         if world.rank == 0 { try world.send([1], to: next, tag: 0) }
///         try world.receive(into: &received, from: previous, tag: 0)
///         if world.rank != 0 { try world.send([received[0] + 1], to: next, tag: 0) }
///         if world.rank == 0 { #expect(received[0] == world.size) }
///     }
/// }
/// ```
///
/// The call starts a job of `ranks` copies of the test bundle under `launcher`; each copy runs
/// this test (only this one), and in it this call initializes MPI, runs `body`, waits for the
/// other ranks in a barrier and finalizes. Back in the calling test, every failed expectation
/// and thrown error of any rank becomes an issue of the test at the line where it happened,
/// prefixed with the rank (`rank 2: Expectation failed: …`). A job that fails without any (a
/// crash, or a deadlock that runs into `timeout`) records one issue with what the launcher and
/// the ranks said: the exit status, and on a timeout where each rank was blocked. Lines the
/// ranks print to standard output are printed here, tagged with their rank.
///
/// Code of the test outside the call runs in every rank's copy too, as in any SPMD program;
/// the call returns at once there when it is not the call that the job is for. Jobs run one at
/// a time. A test may make several calls; in one test (all its parameterized cases included)
/// the calls with the same rank count, launcher and source line need distinct `label`s.
///
/// A body whose only `try` is inside `#expect(try …)` must be written `{ world throws in … }`:
/// Swift infers a closure's effects from its syntax, before the macro expands.
///
/// Needs Linux. The ranks see `SWIFTMPI_TESTING_CALL` and `SWIFTMPI_TESTING_EVENTS` in their
/// environment.
///
/// - Parameters:
///   - ranks: The number of ranks.
///   - timeout: How long the job may run; the test fails (and the job is ended) after it.
///   - launcher: `swift-mpiexec` (shared memory) or `mpirun` (Open MPI); by default
///     `SWIFTMPI_TESTING_LAUNCHER`'s choice, else `swift-mpiexec`.
///   - label: Tells apart calls that would otherwise look the same (see above).
///   - environment: Variables added to the ranks' environment.
///   - threadLevel: The thread support each rank initializes MPI with. `body` may resume on
///     any thread after an `await`, so the default is `.serialized`.
/// - Throws: ``RankJobError`` when the job cannot start (no launcher, no test, not Linux);
///   a failing job records issues instead of throwing.
public func withRanks(
    _ ranks: Int,
    timeout: Duration = .seconds(60),
    launcher: RankLauncher = .automatic,
    label: String? = nil,
    environment: [String: String] = [:],
    threadLevel: ThreadLevel = .serialized,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (Communicator) async throws -> Void
) async throws {
    guard let test = Test.current else {
        throw RankJobError("withRanks must be called from inside a Swift Testing test")
    }
    let site = "\(sourceLocation.fileID):\(sourceLocation.line):\(sourceLocation.column)"
    let call = RankCall(ranks: ranks, launcher: launcher.kind.rawValue, label: label ?? "", test: test.id.description, site: site)

    if let job = RankCall.current {
        // A rank: run the body if this is the call the job is for.
        guard job.selects(call, testID: test.id.description) else { return }
        try await runOnRank(call, threadLevel: threadLevel, body)
        return
    }

    var job = RankJob(ranks: ranks, test: test.id.description, timeout: timeout, launcher: launcher, label: label, environment: environment)
    job.callSite = site
    let report = try await job.run()
    report.recordIssues(at: sourceLocation, timeout: timeout)
}

/// The body's run in one rank: initialize, body, barrier, finalize, and a mark that the rank got
/// to the end.
private func runOnRank(
    _ call: RankCall, threadLevel: ThreadLevel, _ body: (Communicator) async throws -> Void
) async throws {
    let earlier: String? = RankCall.claimed.withLock { claimed in
        defer { if claimed == nil { claimed = call.site } }
        return claimed
    }
    if let earlier {
        throw RankJobError(
            "two withRanks calls of this test (at \(earlier) and \(call.site)) are for the same job of \(call.ranks) ranks under \(call.launcher): give them distinct labels"
        )
    }
    try Environment.initialize(threadLevel: threadLevel)
    let world = try Communicator.world
    try await body(world)
    try world.barrier()
    let rank = world.rank
    try Environment.finalize()
    if let directory = RankJob.environment("SWIFTMPI_TESTING_EVENTS") {
        RankJob.touch("\(directory)/rank-\(rank).done")
    }
}

extension RankJobReport {
    /// Records the job's failures as issues of the current test.
    func recordIssues(at callSite: SourceLocation, timeout: Duration) {
        for rank in 0..<ranks {
            for line in output(ofRank: rank) { print("[\(rank)] \(line)") }
        }
        // The same failure on several ranks is one issue naming them all.
        var grouped: [(ranks: [Int], issue: RankIssue)] = []
        for issue in issues {
            if let index = grouped.firstIndex(where: { $0.issue.message == issue.message && $0.issue.sourceLocation == issue.sourceLocation }) {
                grouped[index].ranks.append(issue.rank)
            } else {
                grouped.append(([issue.rank], issue))
            }
        }
        for (ranks, issue) in grouped {
            let who = ranks.count == 1 ? "rank \(ranks[0])" : "ranks \(ranks.map(String.init).joined(separator: ", "))"
            Issue.record("\(who): \(issue.message)", sourceLocation: issue.sourceLocation ?? callSite)
        }
        guard !passed else { return }
        // What the ranks' issues do not explain: a timeout, a crash, a rank that never got to
        // the body (or left it without an issue).
        let silent = (0..<ranks).filter { rank in
            !completedRanks.contains(rank) && !issues.contains { $0.rank == rank }
        }
        guard timedOut || !silent.isEmpty || issues.isEmpty else { return }
        var lines: [String] = []
        if timedOut {
            lines.append("the \(self.ranks)-rank job under \(launcher) ran into its timeout of \(timeout) (a deadlock?)")
        } else {
            let status = exitCode.map { "exit status \($0)" } ?? signal.map { "signal \($0)" } ?? "an unknown status"
            lines.append("the \(self.ranks)-rank job under \(launcher) failed (\(status))")
        }
        if !silent.isEmpty, silent.count < self.ranks || !timedOut {
            lines.append("rank\(silent.count == 1 ? "" : "s") \(silent.map(String.init).joined(separator: ", ")) recorded no issue and did not finish the body")
        }
        lines += launcherMessages
        // The start of what a silent rank wrote to standard error (a crash's `Fatal error: …`
        // comes first; the backtrace after it is in the job's output).
        for rank in silent {
            let errors = errorOutput(ofRank: rank).filter { !$0.allSatisfy(\.isWhitespace) }.prefix(4)
            lines += errors.map { "[\(rank)] \($0)" }
        }
        if completedRanks.isEmpty && issues.isEmpty && launcherMessages.isEmpty && !timedOut {
            lines.append("no rank ran the body: is the test in this bundle, and enabled in its ranks?")
        }
        Issue.record(Comment(rawValue: lines.joined(separator: "\n")), sourceLocation: callSite)
    }
}

extension RankJob {
    /// Creates an empty file.
    static func touch(_ path: String) {
        #if os(Linux)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor >= 0 { close(descriptor) }
        #endif
    }
}
