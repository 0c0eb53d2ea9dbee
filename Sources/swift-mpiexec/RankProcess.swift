import Glibc

/// One rank of a job: the process started for it, its wait status once reaped and, with
/// `--tag-output`, the forwarders of its stdout and stderr.
struct RankProcess {
    let rank: Int
    let pid: pid_t
    /// The status `waitpid` returned, once the process has been reaped.
    private(set) var waitStatus: Int32?
    private var outputs: [OutputForwarder]

    var hasExited: Bool { waitStatus != nil }

    /// Starts `argv[0]` (looked up in the launcher's `PATH`, like `execvp`) as rank `rank`.
    ///
    /// - Parameters:
    ///   - processGroup: the job's process group, or 0 to make this process the leader of a new
    ///     one. Every rank shares one group so that a single `kill` reaches the ranks and whatever
    ///     they started, and so that a terminal's Ctrl-C reaches only the launcher, which then
    ///     decides how to end the job.
    ///   - tagOutput: whether stdout and stderr go through pipes to be prefixed with the rank;
    ///     otherwise the rank writes straight to the launcher's own descriptors.
    ///   - defaultSignals: signals the launcher ignores for itself but the rank should not.
    ///   - directory: the working directory of the rank (`--wdir`), or `nil` for the launcher's.
    ///
    /// Ranks other than 0 read from /dev/null, as under `mpiexec`, so that only one process
    /// competes for the launcher's stdin.
    ///
    /// `fork` and `execvpe` rather than `posix_spawnp`, for one thing a spawn cannot do: the
    /// child asks the kernel to SIGKILL it when the launcher dies (`PR_SET_PDEATHSIG`), so a
    /// SIGKILLed launcher takes its ranks with it instead of leaving them computing. Between
    /// `fork` and `exec` the child calls only async-signal-safe functions on memory prepared
    /// before the fork; an `exec` that fails reports its errno on a close-on-exec pipe, as
    /// `posix_spawnp` reports it.
    static func spawn(
        rank: Int,
        argv: CStringArray,
        environment: CStringArray,
        processGroup: pid_t,
        tagOutput: Bool,
        defaultSignals: [Int32],
        directory: String? = nil
    ) throws(LaunchError) -> RankProcess {
        // Read ends for the launcher, write ends for the rank. Both are close-on-exec: dup2 onto
        // 1 and 2 gives the rank the copies it needs, and no other rank inherits these.
        var pipes: [(read: Int32, write: Int32, target: Int32)] = []
        if tagOutput {
            for target in [STDOUT_FILENO, STDERR_FILENO] {
                let ends: (read: Int32, write: Int32)
                do {
                    ends = try Pipe.make()
                } catch {
                    for pipe in pipes { close(pipe.read); close(pipe.write) }
                    throw error
                }
                pipes.append((ends.read, ends.write, target))
            }
        }
        defer { for pipe in pipes { close(pipe.write) } }
        let report: (read: Int32, write: Int32)
        do {
            report = try Pipe.make()
        } catch {
            for pipe in pipes { close(pipe.read) }
            throw error
        }
        defer { close(report.read) }

        // Everything the child touches is made here, before the fork.
        let child = ChildSetup(
            launcher: getpid(),
            processGroup: processGroup,
            stdinFromNull: rank > 0,
            outputs: (pipes.first?.write ?? -1, pipes.last?.write ?? -1),
            report: report.write,
            resetSignals: SignalRelay.handledSignals + defaultSignals,
            directory: directory.map { strdup($0) } ?? nil
        )
        defer { free(child.directory) }

        // Nothing may run the launcher's signal handlers in the child (they write to the relay
        // pipe, which the child shares): every signal stays blocked until the child has put
        // the handlers back to default.
        var all = sigset_t()
        sigfillset(&all)
        var previous = sigset_t()
        sigprocmask(SIG_SETMASK, &all, &previous)
        let pid = argv.withUnsafePointer { argvPointer in
            environment.withUnsafePointer { environmentPointer in
                let pid = fork()
                if pid == 0 { child.run(argv: argvPointer, environment: environmentPointer) }
                return pid
            }
        }
        let forkErrno = errno
        sigprocmask(SIG_SETMASK, &previous, nil)
        close(report.write)
        let program = argv.withUnsafePointer { String(cString: $0[0]!) }
        guard pid > 0 else {
            for pipe in pipes { close(pipe.read) }
            throw .system("fork", forkErrno)
        }
        // Also here, so the group exists whichever of parent and child runs first.
        setpgid(pid, processGroup == 0 ? pid : processGroup)

        // End of file: the exec succeeded. Two words: the child could not start the program.
        var failure: (stage: Int32, errno: Int32) = (0, 0)
        var received = 0
        while received < MemoryLayout.size(ofValue: failure) {
            let count = withUnsafeMutableBytes(of: &failure) { read(report.read, $0.baseAddress! + received, $0.count - received) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            received += count
        }
        guard received == 0 else {
            for pipe in pipes { close(pipe.read) }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            if failure.stage == ChildSetup.directoryStage, let directory {
                throw .directory(directory, rank: rank, errno: failure.errno)
            }
            throw .spawn(program: program, rank: rank, errno: failure.errno)
        }
        let outputs = pipes.map { OutputForwarder(rank: rank, source: $0.read, destination: $0.target) }
        return RankProcess(rank: rank, pid: pid, waitStatus: nil, outputs: outputs)
    }

    /// The output pipes still open, for `poll`, with their index for ``forwardOutput(at:)``.
    var openOutputs: [(index: Int, descriptor: Int32)] {
        outputs.indices.filter { outputs[$0].isOpen }.map { ($0, outputs[$0].source) }
    }

    mutating func forwardOutput(at index: Int) {
        outputs[index].forwardAvailable()
    }

    /// Records the rank's wait status and forwards the rest of its output.
    mutating func reaped(status: Int32) {
        waitStatus = status
        for index in outputs.indices { outputs[index].finish() }
    }
}

/// What a forked child does before it becomes the rank's program, prepared by the launcher
/// before the fork so that the child needs no memory allocation.
private struct ChildSetup {
    /// The `stage` word on the report pipe: which step failed.
    static let directoryStage: Int32 = 1
    static let execStage: Int32 = 2

    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private typealias Execvpe = @convention(c) (
        UnsafePointer<CChar>, UnsafePointer<UnsafeMutablePointer<CChar>?>, UnsafePointer<UnsafeMutablePointer<CChar>?>
    ) -> Int32
    /// Not visible through Swift's Glibc module (`prctl` is variadic, `execvpe` a GNU
    /// extension), so found once with `dlsym`.
    private static let prctl = dlsym(nil, "prctl").map { unsafeBitCast($0, to: Prctl.self) }
    private static let execvpe = unsafeBitCast(dlsym(nil, "execvpe")!, to: Execvpe.self)
    /// `PR_SET_PDEATHSIG` from <sys/prctl.h>.
    private static let setParentDeathSignal: Int32 = 1

    let launcher: pid_t
    let processGroup: pid_t
    let stdinFromNull: Bool
    /// Write ends to put on stdout and stderr, or -1.
    let outputs: (Int32, Int32)
    let report: Int32
    let resetSignals: [Int32]
    let directory: UnsafeMutablePointer<CChar>?
    private let prctl = ChildSetup.prctl
    private let execvpe = ChildSetup.execvpe

    init(
        launcher: pid_t, processGroup: pid_t, stdinFromNull: Bool, outputs: (Int32, Int32), report: Int32,
        resetSignals: [Int32], directory: UnsafeMutablePointer<CChar>?
    ) {
        self.launcher = launcher
        self.processGroup = processGroup
        self.stdinFromNull = stdinFromNull
        self.outputs = outputs
        self.report = report
        self.resetSignals = resetSignals
        self.directory = directory
    }

    /// Runs in the child: async-signal-safe calls only, on memory prepared before the fork.
    func run(
        argv: UnsafePointer<UnsafeMutablePointer<CChar>?>, environment: UnsafePointer<UnsafeMutablePointer<CChar>?>
    ) -> Never {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_DFL
        sigemptyset(&action.sa_mask)
        for index in resetSignals.indices { sigaction(resetSignals[index], &action, nil) }
        setpgid(0, processGroup)
        // Die with the launcher. If it died before this took effect, the child has already been
        // reparented and no signal will come: check, after asking.
        _ = prctl?(ChildSetup.setParentDeathSignal, UInt(SIGKILL), 0, 0, 0)
        if getppid() != launcher { _exit(1) }
        if stdinFromNull {
            let null = open("/dev/null", O_RDONLY)
            if null >= 0 && null != STDIN_FILENO {
                dup2(null, STDIN_FILENO)
                close(null)
            }
        }
        if outputs.0 >= 0 { dup2(outputs.0, STDOUT_FILENO) }
        if outputs.1 >= 0 { dup2(outputs.1, STDERR_FILENO) }
        if let directory, chdir(directory) != 0 { fail(stage: ChildSetup.directoryStage) }
        // Ranks start with no signal blocked, whatever mask the launcher's own parent gave it, so
        // the SIGTERM that ends a failed job is never held back.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        _ = execvpe(argv[0]!, argv, environment)
        fail(stage: ChildSetup.execStage)
    }

    private func fail(stage: Int32) -> Never {
        var words = (stage, errno)
        _ = withUnsafeBytes(of: &words) { write(report, $0.baseAddress, $0.count) }
        _exit(127)
    }
}
