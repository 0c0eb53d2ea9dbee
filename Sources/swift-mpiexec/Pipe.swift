import Glibc

/// The launcher's pipes: close-on-exec from the start, so a rank inherits only the ends it is
/// explicitly given (an inherited write end would keep another rank's pipe from ever closing).
enum Pipe {
    /// Creates a pipe whose ends are close-on-exec, and nonblocking when `nonblocking` is set.
    /// (Glibc's `pipe2` is not visible to Swift; the launcher has one thread, so setting the flags
    /// afterwards races with no concurrent spawn.)
    static func make(nonblocking: Bool = false) throws(LaunchError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw .system("pipe", errno) }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            if nonblocking { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
        }
        return (ends[0], ends[1])
    }
}
