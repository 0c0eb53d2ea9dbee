import Glibc
import MPISharedMemory

/// Runs one shared-memory job: creates the segment, starts the ranks, forwards their output and
/// the launcher's signals, ends the whole job when one rank fails, and unlinks the segment.
///
/// Everything happens on one thread in one `poll()` loop. Its inputs are the ranks' output pipes
/// (with `--tag-output`) and the ``SignalRelay`` pipe, which says when a rank may have exited or the
/// launcher was signalled; the only timeouts are the deadlines of `--timeout` and of the grace
/// period between SIGTERM and SIGKILL.
struct Launcher {
    /// What to run, from the command line.
    struct Configuration {
        /// The programs, one part per program of an MPMD command line (`-n 1 a : -n 3 b`):
        /// ranks are numbered consecutively across the parts.
        var parts: [Part]
        var timeout: Double?
        var tagOutput: Bool
        /// Bytes per ring; `nil`: the default for the job's size.
        var ringBytes: Int?
        /// Bind each rank to one CPU: `nil` decides (bind when the ranks fit the CPUs).
        var bindToCore: Bool? = nil
        /// Say on stderr which CPU each rank is bound to (`--report-bindings`).
        var reportBindings = false

        /// The ranks of the job, all parts together.
        var ranks: Int { parts.reduce(0) { $0 + $1.ranks } }
    }

    /// One program of the job and the ranks that run it.
    struct Part {
        var ranks: Int
        /// The program followed by its arguments.
        var command: [String]
        /// `NAME=value` entries to set in these ranks' environment (`-x`).
        var environment: [String] = []
        /// The ranks' working directory (`--wdir`), or `nil` for the launcher's.
        var directory: String? = nil
    }

    /// How long ranks have between SIGTERM and SIGKILL once the job is being ended. Short enough
    /// that every rank is gone within 2 s of a failure, long enough for a rank to flush output.
    static let terminationGrace: Duration = .seconds(1)

    private let configuration: Configuration
    private let segment: JobSegment.Created
    /// Ends the process group if the launcher dies without ending the job.
    private let guardian: Guardian
    private let clock = ContinuousClock()
    private var ranks: [RankProcess] = []
    /// The process group of the ranks; 0 until the first rank exists.
    private var processGroup: pid_t = 0
    /// Why the job is being ended, once it is.
    private var outcome: JobOutcome?
    /// When the ranks were told to end, or `nil` while the job runs normally.
    private var endingSince: ContinuousClock.Instant?
    private var sentKill = false
    /// When the job's timeout passed and the ranks were asked where they are stuck.
    private var reportsRequestedAt: ContinuousClock.Instant?
    /// How long ranks get to say where they are stuck before the job is ended.
    static let reportGrace = Duration.seconds(1)

    private init(configuration: Configuration, segment: JobSegment.Created, guardian: Guardian) {
        self.configuration = configuration
        self.segment = segment
        self.guardian = guardian
    }

    /// Runs the job to its end and says how it ended. When this returns, every rank has been
    /// reaped and the segment is gone.
    static func run(_ configuration: Configuration) throws(LaunchError) -> JobOutcome {
        // A launcher that was SIGKILLed could not unlink its segment, but its lock is gone.
        JobSegment.removeStale()
        // Forked first, so it holds neither the segment's lock nor the signal pipe.
        var guardian = try Guardian.start()
        defer { guardian.release() }
        try SignalRelay.install()
        let segment: JobSegment.Created
        do {
            segment = try JobSegment.create(ranks: configuration.ranks, ringBytes: configuration.ringBytes)
        } catch {
            throw .segment(error)
        }
        // The large-message protocol, by measurement, unless SWIFTMPI_CMA says (0: never single
        // copy; anything else: single copy above the default threshold).
        if configuration.ranks > 1 && getenv("SWIFTMPI_CMA") == nil {
            segment.segment.setSingleCopyThreshold(CrossMemory.calibrate())
        }
        defer { segment.remove() }

        var launcher = Launcher(configuration: configuration, segment: segment, guardian: guardian)
        do {
            try launcher.spawnRanks()
        } catch {
            launcher.endJob(signal: SIGTERM)
            launcher.waitForRanks()
            throw error
        }
        launcher.waitForRanks()
        return launcher.outcome ?? .completed
    }

    /// Writes `swift-mpiexec: <line>` to stderr in one `write`, so it never splits around output
    /// of the ranks.
    static func report(_ line: String) {
        let text = "swift-mpiexec: \(line)\n"
        _ = text.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
    }

    // MARK: Starting

    /// Variables the launcher sets for every rank; values inherited from an enclosing job, or
    /// given with `-x`, would otherwise appear twice or contradict the launcher.
    static let reservedVariables = [
        "SWIFTMPI_RANK", "SWIFTMPI_SIZE", "SWIFTMPI_SEGMENT", "SWIFTMPI_LAUNCHER_PID", JobSegment.secretVariable,
    ]

    private mutating func spawnRanks() throws(LaunchError) {
        let reserved = Launcher.reservedVariables.map { $0 + "=" }
        let inherited = CStringArray.currentEnvironment.filter { entry in
            !reserved.contains { entry.hasPrefix($0) }
        }
        let shared = inherited + [
            "SWIFTMPI_SIZE=\(configuration.ranks)",
            "SWIFTMPI_SEGMENT=\(segment.name)",
            "SWIFTMPI_LAUNCHER_PID=\(getpid())",
        ]
        ranks.reserveCapacity(configuration.ranks)
        // Bound to cores unless asked not to or the job oversubscribes the CPUs (then every rank
        // must be free to run wherever a core is idle).
        let available = CoreBinding()
        let binding = available.flatMap { binding in
            (configuration.bindToCore ?? (configuration.ranks <= binding.cpus.count)) && !binding.cpus.isEmpty ? binding : nil
        }
        let tagOutput = configuration.tagOutput
        let secrets = segment.secrets
        var rank = 0
        for part in configuration.parts {
            let argv = CStringArray(part.command)
            // -x replaces an inherited value of the same variable.
            let exported = part.environment.map { String($0.prefix { $0 != "=" }) + "=" }
            let environment = shared.filter { entry in !exported.contains { entry.hasPrefix($0) } } + part.environment
            for _ in 0..<part.ranks {
                let group = processGroup
                let current = rank
                let spawn = { () throws(LaunchError) -> RankProcess in
                    try RankProcess.spawn(
                        rank: current,
                        argv: argv,
                        environment: CStringArray(environment + [
                            "SWIFTMPI_RANK=\(current)", "\(JobSegment.secretVariable)=\(secrets[current])",
                        ]),
                        processGroup: group,
                        tagOutput: tagOutput,
                        defaultSignals: SignalRelay.ignoredForLauncherOnly,
                        directory: part.directory
                    )
                }
                let process: RankProcess
                if let binding {
                    process = try binding.spawning(rank: rank, spawn)
                } else {
                    process = try spawn()
                }
                // The leader stays a zombie (never reaped before all ranks exist), so the group
                // outlives it even if it exits at once.
                if rank == 0 {
                    processGroup = process.pid
                    guardian.watch(processGroup: processGroup)
                }
                ranks.append(process)
                if configuration.reportBindings {
                    let cpus = available.map { $0.cpus.map(String.init).joined(separator: ",") } ?? "any"
                    Launcher.report(binding.map { "rank \(current) (pid \(process.pid)) bound to CPU \($0.cpu(for: current))" }
                        ?? "rank \(current) (pid \(process.pid)) not bound: runs on any of CPUs \(cpus)")
                }
                rank += 1
            }
        }
    }

    // MARK: Waiting

    private mutating func waitForRanks() {
        let jobDeadline = configuration.timeout.map { clock.now + .seconds($0) }
        while ranks.contains(where: { !$0.hasExited }) {
            let now = clock.now
            if endingSince == nil, reportsRequestedAt == nil, let jobDeadline, now >= jobDeadline {
                requestReports()
            }
            if endingSince == nil, let asked = reportsRequestedAt, now >= asked + Launcher.reportGrace || allRanksReported {
                reportSilentRanks()
                beginEnding(.timedOut(seconds: configuration.timeout!))
            }
            if let endingSince, !sentKill, now >= endingSince + Launcher.terminationGrace {
                endJob(signal: SIGKILL)
            }
            // While the ranks report, wake often to see whether all have.
            let deadline = endingSince.map { sentKill ? nil : $0 + Launcher.terminationGrace }
                ?? reportsRequestedAt.map { _ in now + .milliseconds(20) } ?? jobDeadline

            var sources: [(rank: Int, output: Int)] = []
            var descriptors = [pollfd(fd: SignalRelay.readEnd, events: Int16(POLLIN), revents: 0)]
            for (rank, process) in ranks.enumerated() {
                for output in process.openOutputs {
                    sources.append((rank, output.index))
                    descriptors.append(pollfd(fd: output.descriptor, events: Int16(POLLIN), revents: 0))
                }
            }
            // EINTR (a signal arrived) needs no handling: the relay pipe is readable next time.
            guard poll(&descriptors, nfds_t(descriptors.count), milliseconds(until: deadline)) > 0 else {
                continue
            }
            for (position, source) in sources.enumerated() where descriptors[position + 1].revents != 0 {
                ranks[source.rank].forwardOutput(at: source.output)
            }
            if descriptors[0].revents != 0 {
                for number in SignalRelay.drain() {
                    if number == SIGCHLD { reapExitedRanks() } else { handleLauncherSignal(number) }
                }
            }
        }
        if endingSince != nil && !sentKill {
            // The ranks are gone; whatever they started and left in the group goes with them.
            endJob(signal: SIGKILL)
        }
    }

    private mutating func reapExitedRanks() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid < 0 && errno == EINTR { continue }
            guard pid > 0 else { return }
            guard let index = ranks.firstIndex(where: { $0.pid == pid }) else { continue }
            ranks[index].reaped(status: status)
            guard endingSince == nil else { continue }
            if let abort = abortOutcome() {
                beginEnding(abort)
            } else if let failure = JobOutcome(rank: ranks[index].rank, pid: pid, waitStatus: status) {
                beginEnding(failure)
            } else if [.claimed, .attached].contains(segment.segment.state(of: ranks[index].rank)) {
                beginEnding(.exitedWithoutFinalizing(rank: ranks[index].rank, pid: pid))
            }
        }
    }

    /// The abort, if a rank has aborted the job. A rank that aborts sets the abort word before it
    /// exits or signals anyone, so checking at every exit and every signal reports the abort
    /// rather than its consequences, whichever comes first.
    private func abortOutcome() -> JobOutcome? {
        segment.segment.abortCode.map { .aborted(code: $0) }
    }

    private mutating func handleLauncherSignal(_ number: Int32) {
        if endingSince == nil {
            beginEnding(abortOutcome() ?? .interrupted(signal: number), signal: number)
        } else if !sentKill {
            // Asked again while the ranks are still going: stop waiting for them.
            endJob(signal: SIGKILL)
        }
    }

    // MARK: Where the ranks are stuck

    /// Asks the ranks, through the segment, to say where they are stuck; the job ends once all
    /// have or after ``reportGrace``.
    private mutating func requestReports() {
        reportsRequestedAt = clock.now
        Launcher.report("the job has run for \(JobOutcome.format(seconds: configuration.timeout!)) s, its timeout (--timeout or MPIEXEC_TIMEOUT); asking each rank where it is stuck")
        segment.segment.requestReports()
    }

    private var allRanksReported: Bool {
        ranks.allSatisfy { $0.hasExited || segment.segment.hasReported($0.rank) }
    }

    private func reportSilentRanks() {
        for process in ranks where !process.hasExited && !segment.segment.hasReported(process.rank) {
            let why = switch segment.segment.state(of: process.rank) {
            case .empty, .claimed: "it has not initialized MPI (still starting, or not a swift-mpi program)"
            case .attached: "it is not waiting inside an MPI call (computing, sleeping, or blocked outside MPI)"
            case .finalized: "it has finalized MPI and is still running"
            }
            Launcher.report("rank \(process.rank) (pid \(process.pid)) did not say where it is: \(why)")
        }
    }

    // MARK: Ending

    /// Records why the job ends, says so on stderr, and asks every rank to stop with `signal`;
    /// SIGKILL follows after ``terminationGrace``.
    private mutating func beginEnding(_ reason: JobOutcome, signal: Int32 = SIGTERM) {
        guard endingSince == nil else { return }
        outcome = reason
        if let message = reason.message { Launcher.report(message) }
        endJob(signal: signal)
    }

    /// Sends `signal` to the ranks' process group and to each rank still running (a rank may
    /// have moved itself to another group).
    private mutating func endJob(signal: Int32) {
        if endingSince == nil { endingSince = clock.now }
        if signal == SIGKILL { sentKill = true }
        // kill(-0) would signal the launcher's own group.
        guard processGroup > 0 else { return }
        kill(-processGroup, signal)
        for process in ranks where !process.hasExited {
            kill(process.pid, signal)
        }
    }

    /// The `poll` timeout that wakes the loop at `deadline`, rounded up so it never wakes early.
    private func milliseconds(until deadline: ContinuousClock.Instant?) -> Int32 {
        guard let deadline else { return -1 }
        let remaining = clock.now.duration(to: deadline)
        guard remaining > .zero else { return 0 }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }
}
