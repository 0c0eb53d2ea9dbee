import Glibc

/// How a job ended: the first event that ended it decides the launcher's message and exit status.
enum JobOutcome: Equatable {
    /// Every rank exited with status 0.
    case completed
    /// A rank exited with a nonzero status.
    case rankExited(rank: Int, pid: pid_t, code: Int32)
    /// A rank was killed by a signal.
    case rankSignaled(rank: Int, pid: pid_t, signal: Int32)
    /// A rank exited 0 after initializing MPI but before finalizing it, as its slot in the
    /// segment shows: it left a job the others may still be waiting in.
    case exitedWithoutFinalizing(rank: Int, pid: pid_t)
    /// A rank called `Environment.abort(errorCode:)`, which sets the segment's abort word.
    case aborted(code: Int)
    /// The job outlived `--timeout`.
    case timedOut(seconds: Double)
    /// The launcher received `signal` and passed it on to the ranks.
    case interrupted(signal: Int32)

    /// Classifies a rank's wait status; `nil` when the rank exited with status 0.
    init?(rank: Int, pid: pid_t, waitStatus status: Int32) {
        // WIFEXITED and friends are macros Swift does not import.
        let signal = status & 0x7F
        if signal == 0 {
            let code = (status >> 8) & 0xFF
            guard code != 0 else { return nil }
            self = .rankExited(rank: rank, pid: pid, code: code)
        } else {
            self = .rankSignaled(rank: rank, pid: pid, signal: signal)
        }
    }

    /// The line the launcher prints when the job is being ended, without the program-name prefix.
    var message: String? {
        switch self {
        case .completed:
            nil
        case .rankExited(let rank, let pid, let code):
            "rank \(rank) (pid \(pid)) exited with code \(code); ending the job"
        case .rankSignaled(let rank, let pid, let signal):
            "rank \(rank) (pid \(pid)) was killed by signal \(JobOutcome.describe(signal: signal)); ending the job"
        case .exitedWithoutFinalizing(let rank, let pid):
            "rank \(rank) (pid \(pid)) exited with code 0 without finalizing MPI (Environment.finalize()); ending the job"
        case .aborted(let code):
            "rank aborted the job with code \(code); ending the job"
        case .timedOut(let seconds):
            "the job timed out after \(JobOutcome.format(seconds: seconds)) s (--timeout or MPIEXEC_TIMEOUT); ending the job"
        case .interrupted(let signal):
            "received \(JobOutcome.describe(signal: signal)); passed it on to the ranks, ending the job"
        }
    }

    /// The launcher's exit status: 0 only when every rank exited 0; otherwise the failing rank's
    /// code, 128 + signal, 1 for a rank that left without finalizing, the abort code (never 0), or 124 for a timeout, as `timeout(1)` does.
    var exitStatus: Int32 {
        switch self {
        case .completed: 0
        case .rankExited(_, _, let code): code
        case .rankSignaled(_, _, let signal): 128 + signal
        case .exitedWithoutFinalizing: 1
        case .aborted(let code): code & 0xFF == 0 ? 1 : Int32(code & 0xFF)
        case .timedOut: 124
        case .interrupted(let signal): 128 + signal
        }
    }

    /// `SIGKILL (9)`: the name people search for, and the number shells report.
    static func describe(signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL",
            SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
            SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1", SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2",
            SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGXCPU: "SIGXCPU",
            SIGXFSZ: "SIGXFSZ", SIGSYS: "SIGSYS",
        ]
        return "\(names[signal] ?? "signal") (\(signal))"
    }

    static func format(seconds: Double) -> String {
        seconds == seconds.rounded() && seconds < 1e15 ? String(Int(seconds)) : String(seconds)
    }
}
