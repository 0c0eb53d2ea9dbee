import ArgumentParser
import Glibc
import MPISharedMemory

/// The `swift-mpiexec` command: parses the command line and hands the job to ``Launcher``.
@main
struct SwiftMPIExec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-mpiexec",
        abstract: "Run a program as a swift-mpi job of N ranks on this machine, over shared memory.",
        usage: "swift-mpiexec -n <ranks> [<options>] [--] <program> [<arguments> ...]",
        discussion: """
            Starts N copies of the program, each with the launcher's environment plus
            SWIFTMPI_RANK (0 ..< N), SWIFTMPI_SIZE (N), SWIFTMPI_SEGMENT (the job's shared-memory \
            segment) and SWIFTMPI_LAUNCHER_PID. Any program can be run; a swift-mpi program \
            finds its rank and the other ranks through these variables.

            Rank 0 shares the launcher's stdin; the other ranks read from /dev/null. SIGINT, \
            SIGTERM and SIGHUP sent to the launcher are passed on to every rank.

            If a rank exits with a nonzero status, is killed by a signal or aborts the job, or \
            the job outlives --timeout, the launcher says so on stderr and ends the other ranks: \
            SIGTERM, then SIGKILL one second later.

            Exit status: 0 when every rank exited 0; otherwise the first failing rank's exit \
            code, 128 + signal number for a rank killed by a signal, the abort code for an \
            aborted job, 124 for a timeout, 126/127 when the program cannot be run.
            """
    )

    @Option(name: [.customShort("n"), .customLong("ranks")], help: "Number of ranks (processes) to start.")
    var ranks: Int

    @Option(help: ArgumentHelp("End the job if it runs longer than this (exit status 124).", valueName: "seconds"))
    var timeout: Double?

    @Flag(help: "Prefix every line a rank writes to stdout or stderr with \"[rank] \".")
    var tagOutput = false

    @Option(help: ArgumentHelp(
        "Message buffer per ordered pair of ranks: a power of two, at least 4096.",
        valueName: "bytes"
    ))
    var ringBytes = JobSegment.defaultRingBytes

    @Option(help: ArgumentHelp(
        "core: bind rank r to the r-th usable CPU; none: let the ranks run anywhere. Default: core when the ranks fit the CPUs, else none (as mpirun).",
        valueName: "core|none"
    ))
    var bindTo: String?

    @Argument(
        parsing: .captureForPassthrough,
        help: ArgumentHelp("The program to run (searched in PATH), then its arguments.", valueName: "program")
    )
    var command: [String] = []

    /// The program and its arguments. Options end at the first word that is not one, so
    /// `swift-mpiexec -n 2 prog -n 5` passes `-n 5` to the program; a `--` before the program is
    /// allowed and dropped.
    private var programAndArguments: [String] {
        command.first == "--" ? Array(command.dropFirst()) : command
    }

    func validate() throws {
        guard ranks >= 1 else { throw ValidationError("-n must be at least 1 (got \(ranks)).") }
        if let bindTo, bindTo != "core" && bindTo != "none" {
            throw ValidationError("--bind-to must be core or none (got \(bindTo)).")
        }
        if let timeout, !(timeout > 0 && timeout.isFinite) {
            throw ValidationError("--timeout must be a positive number of seconds (got \(timeout)).")
        }
        guard let program = programAndArguments.first else {
            throw ValidationError("Missing the program to run.")
        }
        // Everything after the first unknown word is captured, so an unknown option lands here.
        if command.first != "--" && program.hasPrefix("-") {
            throw ValidationError("Unknown option '\(program)'.")
        }
    }

    func run() throws {
        let outcome: JobOutcome
        do {
            outcome = try Launcher.run(Launcher.Configuration(
                ranks: ranks,
                command: programAndArguments,
                timeout: timeout,
                tagOutput: tagOutput,
                ringBytes: ringBytes,
                bindToCore: bindTo.map { $0 == "core" }
            ))
        } catch {
            if case .segment(let cause) = error, cause.errorClass == .argument {
                throw ValidationError(cause.message)
            }
            Launcher.report(error.message)
            throw ExitCode(error.exitStatus)
        }
        if case .interrupted(let signal) = outcome { SignalRelay.dieBy(signal) }
        if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
    }
}
