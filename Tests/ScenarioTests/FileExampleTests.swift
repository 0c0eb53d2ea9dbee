// Parallel I/O end to end: data-parallel-training's checkpoints (a run stopped after epoch 2 and
// resumed ends bitwise where an uninterrupted run ends; a rank killed in the middle of writing a
// checkpoint leaves the previous one whole), files written by one backend and read by the other,
// and heat-diffusion's plate written through subarray views, byte for byte the same on both.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

extension MultiRankJobs {
@Suite("MPI-IO in the examples")
struct FileExampleTests {
    static let training = ["--samples", "2048", "--batch-size", "128", "--epochs", "4", "--hidden", "16"]

    /// A launcher the examples run under.
    enum Launcher: String, CaseIterable, CustomStringConvertible {
        case sharedMemory = "swift-mpiexec", openMPI = "mpirun"
        var description: String { rawValue }

        var available: Bool {
            switch self {
            case .sharedMemory: return Launch.selected("shm")
            case .openMPI:
                #if OpenMPI
                return Launch.selected("openmpi") && Launch.onPath("mpirun") != nil
                #else
                return false
                #endif
            }
        }

        func command(_ ranks: Int, _ example: String, _ arguments: [String]) -> (command: [String], environment: [String: String?]) {
            let products = Launch.productsDirectory
            switch self {
            case .sharedMemory:
                return (["\(products)/swift-mpiexec", "-n", "\(ranks)", "--timeout", "120", "--", "\(products)/\(example)"] + arguments,
                    ["SWIFTMPI_BACKEND": "shm", "OMPI_COMM_WORLD_SIZE": nil, "PMIX_RANK": nil])
            case .openMPI:
                return (["mpirun", "-n", "\(ranks)", "--oversubscribe", "\(products)/\(example)"] + arguments,
                    ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_pml": "ob1", "SWIFTMPI_BACKEND": "openmpi"])
            }
        }

        /// Runs `example` on `ranks` ranks; its output, and whether it exited 0.
        func run(_ ranks: Int, _ example: String, _ arguments: [String]) throws -> (output: String, succeeded: Bool) {
            let (command, environment) = command(ranks, example, arguments)
            let result = try Child.run(command, environment: environment, timeout: 150)
            return (result.output, result.termination == .exited(0) && !result.timedOut)
        }
    }

    /// A fresh path in the temporary directory for this test process.
    static func path(_ name: String) -> String {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let path = "\(directory)/swiftmpi-io-test-\(getpid())-\(name)"
        unlink(path)
        unlink(path + ".partial")
        return path
    }

    /// The "bits …, parameters …" of the final line: the loss and the parameters, bitwise.
    static func fingerprint(_ output: String) -> Substring? {
        guard let range = output.firstRange(of: "(bits ") else { return nil }
        return output[range.lowerBound...].prefix { $0 != ")" }
    }

    static func bytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got <= 0 { break }
            bytes += chunk[0..<got]
        }
        return bytes
    }

    static let jobs: [(Launcher, Int)] = Launcher.allCases.flatMap { launcher in [2, 3].map { (launcher, $0) } }

    @Test("stopped, killed mid-checkpoint, resumed: bitwise the uninterrupted run", arguments: jobs)
    func checkpointAndResume(launcher: Launcher, ranks: Int) throws {
        guard launcher.available else { return }
        let whole = Self.path("whole-\(launcher)-\(ranks)")
        let uninterrupted = try launcher.run(ranks, "data-parallel-training", Self.training + ["--checkpoint", whole])
        try #require(uninterrupted.succeeded, "uninterrupted run failed:\n\(uninterrupted.output.suffix(2000))")
        let expected = try #require(Self.fingerprint(uninterrupted.output), "no fingerprint in:\n\(uninterrupted.output.suffix(1000))")

        // Stopped after epoch 2, then resumed.
        let stopped = Self.path("stopped-\(launcher)-\(ranks)")
        let first = try launcher.run(ranks, "data-parallel-training", Self.training + ["--checkpoint", stopped, "--stop-after", "2"])
        try #require(first.succeeded && first.output.contains("stopped after epoch 2"), "stopping run:\n\(first.output.suffix(2000))")
        let resumed = try launcher.run(ranks, "data-parallel-training", Self.training + ["--checkpoint", stopped, "--resume"])
        #expect(resumed.succeeded && resumed.output.contains("resumed from \(stopped) after epoch 2"), "resumed run:\n\(resumed.output.suffix(2000))")
        #expect(Self.fingerprint(resumed.output) == expected, "resumed \(Self.fingerprint(resumed.output) ?? "nothing"), uninterrupted \(expected)")

        // A rank killed while writing checkpoint 3: the job fails, checkpoint 2 survives whole.
        let killed = Self.path("killed-\(launcher)-\(ranks)")
        let crash = try launcher.run(ranks, "data-parallel-training", Self.training + ["--checkpoint", killed, "--crash-in-checkpoint", "3"])
        #expect(!crash.succeeded, "the job with a killed rank exited 0:\n\(crash.output.suffix(2000))")
        let afterCrash = try launcher.run(ranks, "data-parallel-training", Self.training + ["--checkpoint", killed, "--resume"])
        #expect(afterCrash.succeeded && afterCrash.output.contains("after epoch 2"), "resume after the crash:\n\(afterCrash.output.suffix(2000))")
        #expect(Self.fingerprint(afterCrash.output) == expected, "resumed after the crash \(Self.fingerprint(afterCrash.output) ?? "nothing"), uninterrupted \(expected)")
        for path in [whole, stopped, killed] {
            unlink(path)
            unlink(path + ".partial")
        }
    }

    @Test("a checkpoint written on one backend resumes on the other")
    func crossBackendResume() throws {
        guard Launcher.allCases.allSatisfy(\.available) else { return }
        // Two ranks: a sum of two values is the same in any order, so both backends train bitwise alike.
        let whole = Self.path("cross-whole")
        let reference = try Launcher.sharedMemory.run(2, "data-parallel-training", Self.training + ["--checkpoint", whole])
        try #require(reference.succeeded, "reference run:\n\(reference.output.suffix(2000))")
        let expected = try #require(Self.fingerprint(reference.output))
        for (writer, reader) in [(Launcher.sharedMemory, Launcher.openMPI), (.openMPI, .sharedMemory)] {
            let path = Self.path("cross-\(writer)")
            let first = try writer.run(2, "data-parallel-training", Self.training + ["--checkpoint", path, "--stop-after", "2"])
            try #require(first.succeeded, "\(writer) stopping run:\n\(first.output.suffix(2000))")
            let resumed = try reader.run(2, "data-parallel-training", Self.training + ["--checkpoint", path, "--resume"])
            #expect(resumed.succeeded, "\(reader) resuming \(writer)'s checkpoint:\n\(resumed.output.suffix(2000))")
            #expect(Self.fingerprint(resumed.output) == expected, "\(writer) → \(reader): \(Self.fingerprint(resumed.output) ?? "nothing"), expected \(expected)")
            unlink(path)
        }
        unlink(whole)
    }

    @Test("mpi-bench io-write, io-read, io-write-strided run on both launchers", arguments: Launcher.allCases)
    func ioBenchmarks(launcher: Launcher) throws {
        guard launcher.available else { return }
        let path = Self.path("bench-\(launcher)")
        let run = try launcher.run(2, "mpi-bench", ["io-write", "io-read", "io-write-strided", "--sizes", "4096,65536", "--iterations", "3", "--json", "--io-file", path])
        #expect(run.succeeded, "mpi-bench under \(launcher):\n\(run.output.suffix(2000))")
        for benchmark in ["io-write", "io-read", "io-write-strided"] {
            let lines = run.output.split(separator: "\n").filter { $0.contains("\"benchmark\":\"\(benchmark)\"") && $0.contains("\"mb_per_s\":") }
            #expect(lines.count == 2, "\(benchmark) under \(launcher): \(lines)")
        }
        #expect(access(path, F_OK) != 0, "mpi-bench left \(path)")
    }

    @Test("heat-diffusion --output: the same bytes from both backends", arguments: [1, 3, 4])
    func heatDiffusionOutput(ranks: Int) throws {
        var written: [Launcher: [UInt8]] = [:]
        for launcher in Launcher.allCases where launcher.available {
            let path = Self.path("heat-\(launcher)-\(ranks)")
            let run = try launcher.run(ranks, "heat-diffusion", ["--size", "48", "--iterations", "40", "--output", path])
            #expect(run.succeeded && run.output.contains("equal to the serial solve"), "\(launcher):\n\(run.output.suffix(2000))")
            written[launcher] = Self.bytes(path)
            #expect(written[launcher]?.count == 48 * 48 * 8, "\(launcher) wrote \(written[launcher]?.count ?? 0) bytes")
            unlink(path)
        }
        if let shm = written[.sharedMemory], let ompi = written[.openMPI] {
            #expect(shm == ompi, "the plates written by the two backends differ")
        }
    }
}
}
