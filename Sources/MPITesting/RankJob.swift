#if os(Linux)
import Glibc
#endif
import Synchronization
import Testing

/// One multi-rank run of tests of this test bundle: the bundle is started on `ranks` ranks by a
/// launcher, runs the tests whose identifier begins with `test`, and in each of those tests the
/// ``withRanks(_:timeout:launcher:label:environment:threadLevel:sourceLocation:_:)`` call for
/// `ranks` ranks runs its body on every rank.
///
/// ``withRanks(_:timeout:launcher:label:environment:threadLevel:sourceLocation:_:)`` builds one
/// for the test it is called from and turns its report into test issues; use `RankJob` directly
/// to look at a report yourself (for example to check that a job fails the way it should).
public struct RankJob: Sendable {
    /// The number of ranks.
    public var ranks: Int
    /// The beginning of the identifiers of the tests to run (`Test.ID`'s description, such as
    /// `"MyTests.RingTests/ring()"`).
    public var test: String
    /// How long the job may run before the launcher ends it (and the job fails).
    public var timeout: Duration
    public var launcher: RankLauncher
    /// Only the `withRanks` calls with this label run (nil: the calls without one).
    public var label: String?
    /// Variables added to (or replacing) the ranks' environment.
    public var environment: [String: String]

    public init(
        ranks: Int, test: String, timeout: Duration = .seconds(60), launcher: RankLauncher = .automatic,
        label: String? = nil, environment: [String: String] = [:]
    ) {
        self.ranks = ranks
        self.test = test
        self.timeout = timeout
        self.launcher = launcher
        self.label = label
        self.environment = environment
    }

    /// Whether this process is a rank of a ``RankJob`` (a test bundle started by one); for test
    /// fixtures that should run only there: `@Test(.enabled(if: RankJob.isInsideRankJob))`.
    public static var isInsideRankJob: Bool { RankCall.current != nil }

    /// The call site that selects the `withRanks` calls to run: nil for any.
    var callSite: String?

    /// Runs the job and says how it went. One job runs at a time per process (jobs started
    /// concurrently wait for each other), so that parallel tests do not oversubscribe the
    /// machine with several jobs at once.
    public func run() async throws(RankJobError) -> RankJobReport {
        guard ranks >= 1 else { throw RankJobError("a job needs at least 1 rank, not \(ranks)") }
        guard timeout > .zero else { throw RankJobError("the timeout must be positive, not \(timeout)") }
        #if os(Linux)
        await JobQueue.shared.acquire()
        do {
            let report = try await launch()
            await JobQueue.shared.release()
            return report
        } catch {
            await JobQueue.shared.release()
            throw error
        }
        #else
        throw RankJobError("MPITesting launches ranks on Linux only")
        #endif
    }

    #if os(Linux)
    private func launch() async throws(RankJobError) -> RankJobReport {
        guard let bundle = ChildProcess.currentExecutable else {
            throw RankJobError("cannot find this test bundle (/proc/self/exe)")
        }
        let directory = try ChildProcess.makeTemporaryDirectory()
        defer { ChildProcess.removeDirectory(directory) }

        let seconds = max(1, Int((timeout / .seconds(1)).rounded(.up)))
        // Each rank is the test bundle, run through a shell that names its event file after
        // its rank (which only the launcher knows).
        let rankCommand = [
            "/bin/sh", "-c",
            #"exec "$0" "$@" --event-stream-output-path "$SWIFTMPI_TESTING_EVENTS/rank-${SWIFTMPI_RANK:-$OMPI_COMM_WORLD_RANK}.jsonl" --event-stream-version 0"#,
            bundle, "--testing-library", "swift-testing", "--filter", RankJob.filterPattern(test),
        ]
        let program: String
        var arguments: [String]
        switch launcher.kind {
        case .swiftMPIExec:
            program = try RankJob.findSwiftMPIExec(besides: bundle)
            arguments = ["-n", "\(ranks)", "--timeout", "\(seconds)", "--tag-output", "--"]
        case .mpirun:
            #if OpenMPI
            guard let mpirun = ChildProcess.findInPath("mpirun") else { throw RankJobError("mpirun is not on PATH") }
            program = mpirun
            arguments = ["--oversubscribe", "-n", "\(ranks)", "--timeout", "\(seconds)", "--tag-output"]
            #else
            throw RankJobError("the mpirun launcher needs swift-mpi built with the OpenMPI trait (`--traits OpenMPI`)")
            #endif
        }
        arguments += rankCommand

        var variables = environment
        variables["SWIFTMPI_TESTING_CALL"] = RankCall(
            ranks: ranks, launcher: launcher.kind.rawValue, label: label ?? "", test: test, site: callSite ?? "*"
        ).encoded
        variables["SWIFTMPI_TESTING_EVENTS"] = directory
        // A rank that leaves its test without finalizing (it threw, or exited) is finalized at
        // exit; on Open MPI that finalize waits for the other ranks, stuck in the test, for
        // SWIFTMPI_EXIT_TIMEOUT seconds before it ends the job: not 60 s in a test.
        if variables["SWIFTMPI_EXIT_TIMEOUT"] == nil && RankJob.environment("SWIFTMPI_EXIT_TIMEOUT") == nil {
            variables["SWIFTMPI_EXIT_TIMEOUT"] = "2"
        }
        // So that a rank's `.automatic` is the launcher that started it.
        variables["SWIFTMPI_TESTING_LAUNCHER"] = launcher.kind.rawValue
        variables["NO_COLOR"] = "1"

        let outcome = try await ChildProcess.run(
            program, arguments, environment: variables,
            stdoutPath: "\(directory)/stdout", stderrPath: "\(directory)/stderr",
            hardLimit: timeout + .seconds(20)
        )
        var report = RankJobReport(
            ranks: ranks, launcher: launcher, exitCode: outcome.exitCode, signal: outcome.signal,
            elapsed: outcome.elapsed,
            timedOut: outcome.killed || (launcher.kind == .swiftMPIExec && outcome.exitCode == 124)
                || outcome.elapsed >= timeout,
            stdout: ChildProcess.contents(of: "\(directory)/stdout"),
            stderr: ChildProcess.contents(of: "\(directory)/stderr")
        )
        for rank in 0..<ranks {
            report.readEvents(ChildProcess.contents(of: "\(directory)/rank-\(rank).jsonl"), rank: rank)
            if access("\(directory)/rank-\(rank).done", F_OK) == 0 { report.completedRanks.append(rank) }
        }
        return report
    }

    /// The launcher: `SWIFTMPI_MPIEXEC`, else the one built beside the test bundle, else `PATH`'s.
    static func findSwiftMPIExec(besides bundle: String) throws(RankJobError) -> String {
        if let explicit = environment("SWIFTMPI_MPIEXEC"), !explicit.isEmpty { return explicit }
        let beside = bundle[..<(bundle.lastIndex(of: "/") ?? bundle.startIndex)] + "/swift-mpiexec"
        if access(String(beside), X_OK) == 0 { return String(beside) }
        if let found = ChildProcess.findInPath("swift-mpiexec") { return found }
        throw RankJobError("cannot find swift-mpiexec beside the test bundle or on PATH; set SWIFTMPI_MPIEXEC")
    }
    #endif

    /// A `--filter` regular expression that matches identifiers beginning with `prefix`.
    static func filterPattern(_ prefix: String) -> String {
        var pattern = "^"
        for character in prefix {
            if #"\^$.|?*+()[]{}"#.contains(character) { pattern.append("\\") }
            pattern.append(character)
        }
        return pattern
    }

    /// A variable of this process's environment.
    static func environment(_ name: String) -> String? {
        #if os(Linux)
        getenv(name).map { String(cString: $0) }
        #else
        nil
        #endif
    }
}

/// Why a ``RankJob`` could not run, or why a `withRanks` call cannot run its body.
public struct RankJobError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Which `withRanks` calls a rank of a job runs: passed down in `SWIFTMPI_TESTING_CALL`.
struct RankCall: Equatable {
    var ranks: Int
    var launcher: String
    var label: String
    /// The beginning of the test identifier.
    var test: String
    /// `fileID:line:column` of the call, or `*` for any.
    var site: String

    /// Fields joined by newlines (none of them contains one).
    var encoded: String { ["\(ranks)", launcher, label, site, test].joined(separator: "\n") }

    /// This process's call, when it is a rank of a job.
    static let current: RankCall? = {
        guard let text = RankJob.environment("SWIFTMPI_TESTING_CALL") else { return nil }
        let fields = text.split(separator: "\n", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 5, let ranks = Int(fields[0]) else { return nil }
        return RankCall(ranks: ranks, launcher: fields[1], label: fields[2], test: fields[4], site: fields[3])
    }()

    /// Whether the call `other` (made in this rank's test `testID`) is one to run.
    func selects(_ other: RankCall, testID: String) -> Bool {
        ranks == other.ranks && launcher == other.launcher && label == other.label
            && testID.hasPrefix(test) && (site == "*" || site == other.site)
    }

    /// Set by the first call that runs its body: a rank initializes MPI once.
    static let claimed = Mutex<String?>(nil)
}

/// Jobs of one process, one at a time, in the order they asked.
actor JobQueue {
    static let shared = JobQueue()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}
