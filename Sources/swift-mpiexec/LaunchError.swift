import Glibc
import MPICore

/// A failure of the launcher itself (as opposed to a failure of the job it runs): the segment or
/// a rank could not be set up.
enum LaunchError: Error {
    /// A system call failed with `errno`.
    case system(String, Int32)
    /// The job segment could not be created.
    case segment(MPIError)
    /// The program could not be started as `program` as rank `rank`.
    case spawn(program: String, rank: Int, errno: Int32)
    /// Rank `rank` could not change to its working directory (`--wdir`).
    case directory(String, rank: Int, errno: Int32)

    /// One line for stderr, without the `swift-mpiexec:` prefix.
    var message: String {
        switch self {
        case .system(let call, let number):
            "\(call) failed: \(String(cString: strerror(number)))"
        case .segment(let error):
            "cannot create the job segment: \(error.message)"
        case .spawn(let program, let rank, let number):
            "cannot start rank \(rank) as '\(program)': \(String(cString: strerror(number)))"
        case .directory(let directory, let rank, let number):
            "cannot start rank \(rank) in directory '\(directory)' (--wdir): \(String(cString: strerror(number)))"
        }
    }

    /// The launcher's exit status; a program that cannot be found or run gets the statuses a
    /// shell uses for the same failures (127 and 126).
    var exitStatus: Int32 {
        switch self {
        case .spawn(_, _, ENOENT), .spawn(_, _, ENOTDIR): 127
        case .spawn(_, _, EACCES), .spawn(_, _, ENOEXEC), .spawn(_, _, EPERM): 126
        default: 1
        }
    }
}
