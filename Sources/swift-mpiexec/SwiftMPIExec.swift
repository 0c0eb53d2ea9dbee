import ArgumentParser
import Glibc
import MPISharedMemory

/// The `swift-mpiexec` command: parses the command line and hands the job to ``Launcher``.
@main
struct SwiftMPIExec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-mpiexec",
        abstract: "Run a program as a swift-mpi job of N ranks on this machine, over shared memory.",
        usage: """
            swift-mpiexec -n <ranks> [<options>] [--] <program> [<arguments> ...]
            swift-mpiexec [<options>] -n <ranks> <program> [<arguments> ...] : -n <ranks> <program> [<arguments> ...] ...
            """,
        discussion: """
            Starts N copies of the program, each with the launcher's environment plus
            SWIFTMPI_RANK (0 ..< N), SWIFTMPI_SIZE (N), SWIFTMPI_SEGMENT (the job's shared-memory \
            segment), SWIFTMPI_LAUNCHER_PID and SWIFTMPI_SECRET (what the rank presents to claim \
            its place in the segment). Any program can be run; a swift-mpi program finds its rank \
            and the other ranks through these variables.

            Several programs (MPMD): separate them with ':', each with its own -n, -x and --wdir \
            (global options come before the first program); ranks are numbered consecutively \
            across the parts.

            Rank 0 shares the launcher's stdin; the other ranks read from /dev/null. SIGINT, \
            SIGTERM and SIGHUP sent to the launcher are passed on to every rank. If the launcher \
            itself is killed, every rank is killed with it.

            If a rank exits with a nonzero status, is killed by a signal, aborts the job or exits \
            0 after initializing MPI without finalizing it, or the job outlives --timeout (or \
            MPIEXEC_TIMEOUT), the launcher says so on stderr and ends the other ranks: SIGTERM, \
            then SIGKILL one second later.

            This launcher runs ranks on this machine only: for --host or --hostfile, build with \
            the OpenMPI trait and use mpirun.

            Exit status: 0 when every rank exited 0; otherwise the first failing rank's exit \
            code, 128 + signal number for a rank killed by a signal, 1 for a rank that left \
            without finalizing, the abort code for an aborted job, 124 for a timeout, 126/127 \
            when the program cannot be run, 64 for a usage error.
            """
    )

    @OptionGroup(title: "Program options (for each ':'-separated program)")
    var first: ProgramOptions

    @Option(help: ArgumentHelp(
        "End the job if it runs longer than this (exit status 124). Default: the MPIEXEC_TIMEOUT variable, else none.",
        valueName: "seconds"
    ))
    var timeout: Double?

    @Flag(help: "Prefix every line a rank writes to stdout or stderr with \"[rank] \".")
    var tagOutput = false

    @Option(help: ArgumentHelp(
        "Message buffer per ordered pair of ranks: a power of two, at least 4096. Default: 256 KiB up to 8 ranks, then smaller, so that the rings take at most 16 MiB (4 KiB from 64 ranks on).",
        valueName: "bytes"
    ))
    var ringBytes: Int?

    @Option(help: ArgumentHelp(
        "core: bind rank r to the r-th usable CPU; none: let the ranks run anywhere. Default: core when the ranks fit the CPUs, else none (as mpirun).",
        valueName: "core|none"
    ))
    var bindTo: String?

    @Flag(
        name: [.customLong("report-bindings"), .customLong("report-bindings", withSingleDash: true)],
        help: "Say on stderr, for each rank, which CPU it is bound to."
    )
    var reportBindings = false

    @Flag(
        name: [.customLong("oversubscribe"), .customLong("oversubscribe", withSingleDash: true)],
        help: "Accepted for mpirun compatibility: more ranks than CPUs are always allowed (they are then not bound)."
    )
    var oversubscribe = false

    /// Longest `--timeout` (about 31 years): a deadline must stay representable.
    static let maximumTimeout = 1e9

    /// The parts of the command line, after `validate()`.
    private var parts: [Launcher.Part] {
        get throws { try SwiftMPIExec.parts(first: first) }
    }

    /// Splits the captured words at ':' into programs; the first part's options are `first`'s,
    /// the others' are parsed from their words.
    private static func parts(first: ProgramOptions) throws -> [Launcher.Part] {
        var groups = first.command.split(separator: ":", omittingEmptySubsequences: false).map(Array.init)
        var options = [first]
        options[0].command = groups.removeFirst()
        for words in groups {
            do {
                options.append(try ProgramOptions.parse(words))
            } catch {
                throw ValidationError("after ':': \(ProgramOptions.message(for: error))")
            }
        }
        return try options.map { try $0.part() }
    }

    /// The timeout in effect: `--timeout`, else `MPIEXEC_TIMEOUT` (as mpiexec reads it; unset or
    /// empty means none, and 0, like `--timeout 0`, is a usage error: Open MPI 4.1's mpirun
    /// takes it literally and aborts the job at once, exit 110).
    private func effectiveTimeout() throws -> Double? {
        if let timeout { return timeout }
        guard let text = getenv("MPIEXEC_TIMEOUT").map({ String(cString: $0) }), !text.isEmpty else { return nil }
        guard let seconds = Double(text) else {
            throw ValidationError("MPIEXEC_TIMEOUT must be a number of seconds (got '\(text)').")
        }
        return seconds
    }

    func validate() throws {
        if let bindTo, bindTo != "core" && bindTo != "none" {
            throw ValidationError("--bind-to must be core or none (got \(bindTo)).")
        }
        if let timeout = try effectiveTimeout(), !(timeout > 0 && timeout <= SwiftMPIExec.maximumTimeout) {
            throw ValidationError("--timeout (or MPIEXEC_TIMEOUT) must be a positive number of seconds up to 1e9 (got \(timeout)).")
        }
        let parts = try parts
        var total = 0
        for part in parts {
            let (sum, overflow) = total.addingReportingOverflow(part.ranks)
            guard !overflow else { throw ValidationError("The job has more than \(Int.max) ranks.") }
            total = sum
        }
        do {
            _ = try JobSegment.checkedByteCount(ranks: total, ringBytes: ringBytes ?? JobSegment.defaultRingBytes(ranks: total))
        } catch {
            throw ValidationError(error.message + ".")
        }
    }

    func run() throws {
        let outcome: JobOutcome
        do {
            outcome = try Launcher.run(Launcher.Configuration(
                parts: parts,
                timeout: effectiveTimeout(),
                tagOutput: tagOutput,
                ringBytes: ringBytes,
                bindToCore: bindTo.map { $0 == "core" },
                reportBindings: reportBindings
            ))
        } catch let error as LaunchError {
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

/// The options of one program of the job: the whole command line for a single program, and each
/// `:`-separated part of an MPMD one.
struct ProgramOptions: ParsableArguments {
    @Option(
        name: [.customShort("n"), .customLong("np", withSingleDash: true), .customLong("ranks")],
        help: ArgumentHelp("Number of ranks (processes) to start (-np as with mpiexec).", valueName: "ranks")
    )
    var ranks: Int

    @Option(
        name: .customShort("x"),
        help: ArgumentHelp(
            "Set VAR to value in the ranks' environment; -x VAR passes the launcher's value (ranks inherit its environment anyway). Repeatable.",
            valueName: "VAR[=value]"
        )
    )
    var export: [String] = []

    @Option(
        name: [.customLong("wdir"), .customLong("wdir", withSingleDash: true)],
        help: ArgumentHelp("Run the ranks in this directory (a relative program path is then relative to it).", valueName: "dir")
    )
    var wdir: String?

    // mpirun's host selection, refused with a pointer to mpirun rather than as an unknown option.
    @Option(
        name: [.customLong("host"), .customLong("host", withSingleDash: true), .customShort("H"),
               .customLong("hostfile"), .customLong("hostfile", withSingleDash: true),
               .customLong("machinefile"), .customLong("machinefile", withSingleDash: true)],
        help: .hidden
    )
    var hosts: [String] = []

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

    /// This program's part of the job, or a usage error saying what is wrong with it.
    func part() throws -> Launcher.Part {
        guard hosts.isEmpty else {
            throw ValidationError("swift-mpiexec runs ranks on this machine only and has no --host or --hostfile: to run on other hosts, build with `--traits OpenMPI` and use mpirun.")
        }
        guard ranks >= 1 else { throw ValidationError("-n must be at least 1 (got \(ranks)).") }
        guard let program = programAndArguments.first else {
            throw ValidationError("Missing the program to run.")
        }
        // Everything after the first unknown word is captured, so an unknown option lands here.
        if command.first != "--" && program.hasPrefix("-") {
            throw ValidationError("Unknown option '\(program)'.")
        }
        let environment = try export.map { entry throws -> String in
            let name = String(entry.prefix { $0 != "=" })
            guard !name.isEmpty else { throw ValidationError("-x needs a variable name (got '\(entry)').") }
            guard !Launcher.reservedVariables.contains(name) else {
                throw ValidationError("-x cannot set \(name): the launcher sets it for each rank.")
            }
            if entry.contains("=") { return entry }
            return getenv(name).map { "\(name)=\(String(cString: $0))" } ?? ""
        }.filter { !$0.isEmpty }
        if let wdir {
            var info = stat()
            guard stat(wdir, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw ValidationError("--wdir \(wdir) is not a directory.")
            }
        }
        return Launcher.Part(ranks: ranks, command: programAndArguments, environment: environment, directory: wdir)
    }
}
