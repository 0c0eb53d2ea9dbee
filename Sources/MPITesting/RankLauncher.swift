/// The program that starts the ranks of a ``RankJob``.
public struct RankLauncher: Sendable, Hashable, CustomStringConvertible {
    enum Kind: String, Sendable, Hashable {
        case swiftMPIExec = "swift-mpiexec"
        case mpirun
    }

    let kind: Kind

    /// The package's own shared-memory launcher, `swift-mpiexec`: the one built beside the test
    /// bundle (found through `SWIFTMPI_MPIEXEC`, then the test bundle's directory, then `PATH`).
    public static let swiftMPIExec = RankLauncher(kind: .swiftMPIExec)

    /// Open MPI's `mpirun`, from `PATH` (with `--oversubscribe`): the ranks run on the Open MPI
    /// backend. Needs swift-mpi built with the `OpenMPI` trait.
    public static let mpirun = RankLauncher(kind: .mpirun)

    /// ``mpirun`` when the environment variable `SWIFTMPI_TESTING_LAUNCHER` is `mpirun`, else
    /// ``swiftMPIExec``: one test suite, run under either launcher by its environment.
    public static var automatic: RankLauncher {
        switch RankJob.environment("SWIFTMPI_TESTING_LAUNCHER") {
        case "mpirun": .mpirun
        default: .swiftMPIExec
        }
    }

    /// The launchers this build can use: ``swiftMPIExec`` on Linux, and ``mpirun`` as well when
    /// swift-mpi was built with the `OpenMPI` trait and `mpirun` is on `PATH`. For tests written
    /// once and run under each (`@Test(arguments: RankLauncher.available)`).
    public static var available: [RankLauncher] {
        var launchers: [RankLauncher] = []
        #if os(Linux)
        launchers.append(.swiftMPIExec)
        #endif
        #if OpenMPI
        if ChildProcess.findInPath("mpirun") != nil { launchers.append(.mpirun) }
        #endif
        return launchers
    }

    /// `swift-mpiexec` or `mpirun`.
    public var description: String { kind.rawValue }
}
