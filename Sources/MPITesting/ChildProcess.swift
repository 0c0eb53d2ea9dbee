#if os(Linux)
import Dispatch
import Glibc
import Synchronization

/// A launcher run for a ``RankJob``: spawned in a process group of its own with its stdout and
/// stderr in files, waited for on a thread of its own, and killed with its whole group if it
/// overstays its hard limit (the launcher's own `--timeout` should have ended it before).
package enum ChildProcess {
    struct Outcome {
        /// The exit code, or nil when a signal ended the launcher.
        var exitCode: Int32?
        var signal: Int32?
        var elapsed: Duration
        /// Whether the hard limit passed and the process group was killed.
        var killed: Bool
    }

    /// Runs `program` (searched in `PATH` unless it contains a slash) with `arguments` and the
    /// environment of this process plus `environment`, stdin from /dev/null, stdout and stderr
    /// into the files at `stdoutPath` and `stderrPath`.
    static func run(
        _ program: String, _ arguments: [String], environment: [String: String],
        stdoutPath: String, stderrPath: String, hardLimit: Duration
    ) async throws(RankJobError) -> Outcome {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        // A group of its own (so that a hard kill reaches every rank), default signal
        // dispositions and an empty mask (the test runner's must not leak into the job).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        resetSignals(&attributes, flags: POSIX_SPAWN_SETPGROUP)

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var merged: [String: String] = [:]
        var entry = environ
        while let string = entry.pointee {
            let text = String(cString: string)
            if let equals = text.firstIndex(of: "=") { merged[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
            entry += 1
        }
        merged.merge(environment) { $1 }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }

        let clock = ContinuousClock()
        let started = clock.now
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw RankJobError("cannot start \(program): \(String(cString: strerror(result)))")
        }
        let child = pid

        // The hard kill and the reaping agree through `state`: the group is killed only while
        // the launcher is known not to be reaped (its pid, and so its group id, still ours).
        let state = Mutex<(reaped: Bool, killed: Bool)>((false, false))
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(hardLimit / .milliseconds(1)))) {
            state.withLock { state in
                guard !state.reaped else { return }
                state.killed = true
                kill(-child, SIGKILL)
            }
        }

        let status: Int32 = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                // Wait without reaping, mark reaped, then reap: the kill above cannot hit a
                // recycled pid.
                var info = siginfo_t()
                while waitid(P_PID, id_t(child), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
                state.withLock { $0.reaped = true }
                var status: Int32 = 0
                while waitpid(child, &status, 0) < 0 && errno == EINTR {}
                continuation.resume(returning: status)
            }
        }
        // Whatever the launcher left of its group (it should have ended every rank) goes too.
        kill(-child, SIGKILL)
        let signal = status & 0x7F
        return Outcome(
            exitCode: signal == 0 ? (status >> 8) & 0xFF : nil,
            signal: signal == 0 ? nil : signal,
            elapsed: started.duration(to: clock.now),
            killed: state.withLock { $0.killed }
        )
    }

    /// Sets `attributes` to give a spawned process default dispositions for the signals a test
    /// runner may change and an empty signal mask, with `flags` besides.
    package static func resetSignals(_ attributes: inout posix_spawnattr_t, flags: Int32 = 0) {
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT] { sigaddset(&defaults, number) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | flags))
    }

    /// The path of `name` in `PATH`, if it is there and executable.
    static func findInPath(_ name: String) -> String? {
        let path = RankJob.environment("PATH") ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// This process's executable (the test bundle), from /proc/self/exe.
    static var currentExecutable: String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The contents of a file, or empty.
    static func contents(of path: String) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A fresh private directory under `TMPDIR` (or /tmp).
    static func makeTemporaryDirectory() throws(RankJobError) -> String {
        let base = RankJob.environment("TMPDIR").flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/swiftmpi-testing-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw RankJobError("cannot create a directory in \(base): \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    /// Removes `directory` and the files in it (it holds no subdirectories).
    static func removeDirectory(_ directory: String) {
        guard let handle = opendir(directory) else { return }
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { unlink("\(directory)/\(name)") }
        }
        closedir(handle)
        rmdir(directory)
    }
}
#endif
