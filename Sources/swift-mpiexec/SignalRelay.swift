import Glibc

/// Turns the launcher's asynchronous signals into bytes on a pipe, so that the one `poll()` loop
/// that forwards output also learns about exited ranks and interrupts, with no work done inside a
/// signal handler beyond a single `write`.
///
/// Each byte read from ``readEnd`` is the number of a signal that arrived: `SIGCHLD` means some
/// rank may have exited; `SIGINT`, `SIGTERM` and `SIGHUP` are requests to forward and end the job.
enum SignalRelay {
    /// The signals the launcher passes on to its ranks.
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// The end the event loop polls; nonblocking, so draining it never stalls.
    nonisolated(unsafe) private(set) static var readEnd: Int32 = -1
    // Read from the handler, so it is set before any handler is installed and never changed after.
    nonisolated(unsafe) private static var writeEnd: Int32 = -1
    /// Signals the launcher ignores that the ranks should get with their default action.
    nonisolated(unsafe) private(set) static var ignoredForLauncherOnly: [Int32] = []
    /// The signals whose handler ``install()`` set: a forked rank puts them back to default
    /// before it runs anything that could receive one.
    nonisolated(unsafe) private(set) static var handledSignals: [Int32] = []

    /// Creates the pipe and installs the handlers. Call once, before the first rank is spawned, so
    /// that no `SIGCHLD` can be missed.
    static func install() throws(LaunchError) {
        (readEnd, writeEnd) = try Pipe.make(nonblocking: true)

        // With --tag-output a closed stdout must show up as EPIPE, not kill the launcher before it
        // has ended the ranks and unlinked the segment.
        if !isIgnored(SIGPIPE) {
            signal(SIGPIPE, SIG_IGN)
            ignoredForLauncherOnly = [SIGPIPE]
        }
        // A signal the launcher was started with ignored (nohup, `&` in a script) stays ignored,
        // for the launcher and, by inheritance, for the ranks.
        // A launcher started from a thread that blocks signals (a test runner's worker thread,
        // say) inherits that mask: unblock what it handles, or it would never hear of its ranks.
        var handled = sigset_t()
        sigemptyset(&handled)
        for number in forwarded + [SIGCHLD] { sigaddset(&handled, number) }
        sigprocmask(SIG_UNBLOCK, &handled, nil)
        handledSignals = forwarded.filter({ !isIgnored($0) }) + [SIGCHLD]
        for number in handledSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = relay
            sigemptyset(&action.sa_mask)
            // SA_RESTART spares every write() an EINTR check; poll() reports EINTR regardless,
            // which the loop treats as a wake-up.
            action.sa_flags = SA_RESTART | (number == SIGCHLD ? SA_NOCLDSTOP : 0)
            sigaction(number, &action, nil)
        }
    }

    /// Reads every pending signal number without blocking.
    static func drain() -> [Int32] {
        var signals: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let count = read(readEnd, &buffer, buffer.count)
            if count > 0 {
                signals += buffer[..<count].map { Int32($0) }
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return signals
            }
        }
    }

    /// Makes `number` kill the launcher as if no handler had been installed, so that a shell sees
    /// the launcher die by the signal it was sent (the convention for SIGINT in particular).
    static func dieBy(_ number: Int32) -> Never {
        signal(number, SIG_DFL)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        sigaddset(&unblocked, number)
        sigprocmask(SIG_UNBLOCK, &unblocked, nil)
        raise(number)
        // Reached only if the signal is blocked or ignored in a way raise() cannot override.
        exit(128 + number)
    }

    private static func isIgnored(_ number: Int32) -> Bool {
        var current = sigaction()
        sigaction(number, nil, &current)
        return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
            == unsafeBitCast(SIG_IGN, to: Int.self)
    }

    private static let relay: @convention(c) (Int32) -> Void = { number in
        // The handler may interrupt code that is about to read errno.
        let saved = errno
        var byte = UInt8(truncatingIfNeeded: number)
        _ = write(writeEnd, &byte, 1)
        errno = saved
    }
}
