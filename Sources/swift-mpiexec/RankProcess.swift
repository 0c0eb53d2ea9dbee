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

    /// Starts `argv[0]` (looked up in `PATH`, like `execvp`) as rank `rank`.
    ///
    /// - Parameters:
    ///   - processGroup: the job's process group, or 0 to make this process the leader of a new
    ///     one. Every rank shares one group so that a single `kill` reaches the ranks and whatever
    ///     they started, and so that a terminal's Ctrl-C reaches only the launcher, which then
    ///     decides how to end the job.
    ///   - tagOutput: whether stdout and stderr go through pipes to be prefixed with the rank;
    ///     otherwise the rank writes straight to the launcher's own descriptors.
    ///   - defaultSignals: signals the launcher ignores for itself but the rank should not.
    ///
    /// Ranks other than 0 read from /dev/null, as under `mpiexec`, so that only one process
    /// competes for the launcher's stdin.
    static func spawn(
        rank: Int,
        argv: CStringArray,
        environment: CStringArray,
        processGroup: pid_t,
        tagOutput: Bool,
        defaultSignals: [Int32]
    ) throws(LaunchError) -> RankProcess {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Ranks start with no signal blocked, whatever mask the launcher's own parent gave it, so
        // the SIGTERM that ends a failed job is never held back.
        var flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
        posix_spawnattr_setpgroup(&attributes, processGroup)
        var noneBlocked = sigset_t()
        sigemptyset(&noneBlocked)
        posix_spawnattr_setsigmask(&attributes, &noneBlocked)
        if !defaultSignals.isEmpty {
            flags |= POSIX_SPAWN_SETSIGDEF
            var set = sigset_t()
            sigemptyset(&set)
            for number in defaultSignals { sigaddset(&set, number) }
            posix_spawnattr_setsigdefault(&attributes, &set)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if rank > 0 {
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        }

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
                posix_spawn_file_actions_adddup2(&actions, ends.write, target)
            }
        }
        defer { for pipe in pipes { close(pipe.write) } }

        var pid: pid_t = 0
        let result = argv.withUnsafePointer { argvPointer in
            environment.withUnsafePointer { environmentPointer in
                posix_spawnp(&pid, argvPointer[0]!, &actions, &attributes, argvPointer, environmentPointer)
            }
        }
        guard result == 0 else {
            for pipe in pipes { close(pipe.read) }
            let program = argv.withUnsafePointer { String(cString: $0[0]!) }
            throw .spawn(program: program, rank: rank, errno: result)
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
