import Glibc

/// A forked copy of the launcher whose only job is to outlive it: if the launcher dies without
/// ending the job (SIGKILL, a crash), the guardian sends SIGKILL to the job's process group, so
/// that what the ranks started goes too. The ranks themselves die by their parent-death signal;
/// a rank's own children (a `sh -c` rank's commands) have no such signal and are reached only
/// through the group.
///
/// The guardian blocks reading a pipe whose only write end the launcher holds (close-on-exec, so
/// no rank inherits it). The launcher writes the process group once the first rank exists, and
/// one more byte when it ends the job itself; end of file before that byte means the launcher
/// is gone. It ignores the terminal's SIGINT, SIGTERM and SIGHUP (the launcher decides how a job
/// ends), holds no segment lock (it is forked before the segment exists) and runs nothing but
/// `read`, `kill` and `_exit`.
struct Guardian {
    let pid: pid_t
    private var writeEnd: Int32

    /// Forks the guardian. Call before the segment is created and before any rank is started.
    static func start() throws(LaunchError) -> Guardian {
        let ends = try Pipe.make()
        var all = sigset_t()
        sigfillset(&all)
        var previous = sigset_t()
        sigprocmask(SIG_SETMASK, &all, &previous)
        let pid = fork()
        if pid == 0 { watch(readEnd: ends.read, writeEnd: ends.write) }
        let forkErrno = errno
        sigprocmask(SIG_SETMASK, &previous, nil)
        close(ends.read)
        guard pid > 0 else {
            close(ends.write)
            throw .system("fork", forkErrno)
        }
        return Guardian(pid: pid, writeEnd: ends.write)
    }

    /// Tells the guardian which process group to end if the launcher dies.
    func watch(processGroup: pid_t) {
        var group = processGroup
        _ = withUnsafeBytes(of: &group) { write(writeEnd, $0.baseAddress, $0.count) }
    }

    /// The launcher is ending the job itself: the guardian exits without signalling anyone, and
    /// is reaped here.
    mutating func release() {
        guard writeEnd >= 0 else { return }
        var done: UInt8 = 1
        _ = write(writeEnd, &done, 1)
        close(writeEnd)
        writeEnd = -1
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// The guardian's whole life, in the forked child: async-signal-safe calls only.
    private static func watch(readEnd: Int32, writeEnd: Int32) -> Never {
        close(writeEnd)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_IGN
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGHUP, &action, nil)
        sigaction(SIGPIPE, &action, nil)
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        var group: pid_t = 0
        var received = 0
        while received < MemoryLayout<pid_t>.size {
            let count = withUnsafeMutableBytes(of: &group) { read(readEnd, $0.baseAddress! + received, $0.count - received) }
            if count < 0 && errno == EINTR { continue }
            // The launcher ended (or died) before any rank existed: nothing to end.
            guard count > 0 else { _exit(0) }
            received += count
        }
        var byte: UInt8 = 0
        while true {
            let count = read(readEnd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            // A byte: the launcher ends the job itself. End of file: it died first.
            if count == 0 && group > 0 { kill(-group, SIGKILL) }
            _exit(0)
        }
    }
}
