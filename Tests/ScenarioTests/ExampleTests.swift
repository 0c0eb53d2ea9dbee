// Runs every example executable, which checks its own result, under each launcher at 1, 2 and 4
// ranks: an example passes when the launcher exits 0. Alone, each must answer `--help` and
// refuse a bad command line with a usage error.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

extension MultiRankJobs {
@Suite("Examples under each launcher")
struct ExampleTests {
    /// Each example with the smallest job it makes sense at, and arguments that keep a debug
    /// build quick (the README shows release runs at full size).
    static let examples: [(name: String, least: Int, arguments: [String])] = [
        ("ring", 1, []), ("vector-ring", 1, []), ("pingpong", 2, []),
        ("data-parallel-training", 1, ["--samples", "2048", "--batch-size", "128", "--epochs", "2", "--hidden", "16"]),
        ("heat-diffusion", 1, ["--size", "48", "--iterations", "40"]),
        ("heat-diffusion --halo neighbor", 1, ["--size", "48", "--iterations", "40", "--halo", "neighbor"]),
        ("heat-diffusion --halo window", 1, ["--size", "48", "--iterations", "40", "--halo", "window"]),
        ("monte-carlo-pi", 1, ["--samples", "100000"]),
        ("word-count", 1, ["--lines", "4000"]),
    ]
    static let jobs: [(String, Int)] = examples.flatMap { example in
        [1, 2, 4].filter { $0 >= example.least }.map { (example.name, $0) }
    }

    static func arguments(of example: String) -> [String] {
        examples.first { $0.name == example }?.arguments ?? []
    }

    /// The executable of an example entry (a name, or a name and the variant it runs).
    static func executable(_ example: String) -> String { String(example.prefix { $0 != " " }) }

    @Test("swift-mpiexec -n N example", .enabled(if: Launch.selected("shm")), arguments: jobs)
    func sharedMemory(example: String, ranks: Int) throws {
        let products = Launch.productsDirectory
        try check(["\(products)/swift-mpiexec", "-n", "\(ranks)", "--timeout", "120", "--", "\(products)/\(Self.executable(example))"] + Self.arguments(of: example),
            environment: ["SWIFTMPI_BACKEND": "shm", "OMPI_COMM_WORLD_SIZE": nil, "PMIX_RANK": nil])
    }

    /// Each example with one bad command line and a piece of the error it must print.
    static let usageErrors: [(name: String, arguments: [String], message: String)] = [
        ("ring", ["--ranks", "4"], "Unknown option '--ranks'"),
        ("vector-ring", ["extra"], "Unexpected argument 'extra'"),
        ("pingpong", ["100", "8", "sideways"], "'sideways' is invalid for '<mode>'"),
        ("data-parallel-training", ["--resume"], "--resume needs --checkpoint PATH"),
        ("heat-diffusion", ["--halo", "diagonal"], "'diagonal' is invalid for '--halo <halo>'"),
        ("monte-carlo-pi", ["--samples", "0"], "--samples needs a positive integer"),
        ("word-count", ["--lines", "many"], "'many' is invalid for '--lines <lines>'"),
    ]

    @Test("every example has a command-line case")
    func everyExampleHasACommandLineCase() {
        #expect(Set(Self.examples.map { Self.executable($0.name) }) == Set(Self.usageErrors.map(\.name)))
    }

    /// The command line is parsed before MPI starts, so `--help` needs no launcher.
    @Test("example --help, alone", arguments: usageErrors.map(\.name))
    func help(example: String) throws {
        let result = try Child.run(["\(Launch.productsDirectory)/\(example)", "--help"], environment: [:], timeout: 60)
        #expect(result.termination == .exited(0) && !result.timedOut, "\(example) --help ended with \(result.termination):\n\(result.output)")
        #expect(result.output.contains("OVERVIEW: ") && result.output.contains("USAGE: \(example)"), "\(example) --help printed:\n\(result.output)")
    }

    /// A bad command line is ArgumentParser's usage error (EX_USAGE, 64), before MPI starts.
    @Test("example with a bad command line, alone", arguments: usageErrors.map(\.name))
    func usageError(example: String) throws {
        let (_, arguments, message) = try #require(Self.usageErrors.first { $0.name == example })
        let command = ["\(Launch.productsDirectory)/\(example)"] + arguments
        let result = try Child.run(command, environment: [:], timeout: 60)
        #expect(result.termination == .exited(64) && !result.timedOut, "\(command.joined(separator: " ")) ended with \(result.termination):\n\(result.output)")
        #expect(result.output.contains("Error: ") && result.output.contains(message), "\(command.joined(separator: " ")) printed:\n\(result.output)")
    }

    #if OpenMPI
    @Test(
        "mpirun -n N example", .enabled(if: Launch.selected("openmpi")),
        .enabled(if: Launch.onPath("mpirun") != nil, "mpirun is not on PATH"), arguments: jobs)
    func openMPI(example: String, ranks: Int) throws {
        let products = Launch.productsDirectory
        try check(["mpirun", "-n", "\(ranks)", "--oversubscribe", "\(products)/\(Self.executable(example))"] + Self.arguments(of: example), environment: [
            "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_pml": "ob1",
            "SWIFTMPI_BACKEND": "openmpi",
        ])
    }
    #endif

    private func check(_ command: [String], environment: [String: String?]) throws {
        let result = try Child.run(command, environment: environment, timeout: 150)
        #expect(
            result.termination == .exited(0) && !result.timedOut,
            "\(command.joined(separator: " ")) ended with \(result.termination)\(result.timedOut ? " (timed out)" : ""):\n\(result.output.suffix(2000))")
    }
}
}
