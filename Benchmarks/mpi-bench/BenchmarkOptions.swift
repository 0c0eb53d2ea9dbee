import ArgumentParser
import MPI

/// Element type of benchmark messages (`--type`).
enum ElementType: String, ExpressibleByArgument, CaseIterable {
    case byte, int32, float, double

    var size: Int {
        switch self {
        case .byte: 1
        case .int32, .float: 4
        case .double: 8
        }
    }
}

/// Message sizes in bytes: a list (`0,8,1024`) or a range of powers of two (`0:4194304`, where a
/// lower bound of 0 includes the empty message).
struct SizeList: ExpressibleByArgument {
    var bytes: [Int]

    init?(argument: String) {
        if let colon = argument.firstIndex(of: ":") {
            guard let low = Int(argument[..<colon]), let high = Int(argument[argument.index(after: colon)...]),
                low >= 0, high >= low
            else { return nil }
            var sizes: [Int] = low == 0 ? [0] : []
            var size = 1
            while size <= high {
                if size >= low { sizes.append(size) }
                size <<= 1
            }
            bytes = sizes
        } else {
            let parts = argument.split(separator: ",").map { Int($0) }
            guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
            bytes = parts.map { $0! }
        }
    }

    init(_ bytes: [Int]) { self.bytes = bytes }
}

/// Options every benchmark shares, following the OSU Micro-Benchmarks conventions.
struct BenchmarkOptions: ParsableArguments {
    @Option(help: "Message sizes in bytes: a list (0,8,1024) or powers of two in a range (0:4194304).")
    var sizes = SizeList([0] + (0...22).map { 1 << $0 })

    @Option(help: "Timed iterations for small messages (reduced 10x above 64 KiB, as OSU does).")
    var iterations = 10_000

    @Option(help: "Untimed warm-up iterations (reduced 10x above 64 KiB).")
    var warmup = 200

    @Option(help: "Messages in flight per iteration of bw, bibw and put-bw (OSU's window size).")
    var window = 64

    @Option(help: "Element type of the messages.")
    var type: ElementType = .byte

    @Flag(help: "Print one JSON object per line instead of a table.")
    var json = false

    @Option(help: "The file io-write and io-read use (default: $TMPDIR or /tmp, mpi-bench-io-PID.bin; deleted at the end).")
    var ioFile: String?

    func iterations(for size: Int) -> (timed: Int, warmup: Int) {
        size > 65536 ? (max(iterations / 10, 10), max(warmup / 10, 2)) : (iterations, warmup)
    }

    /// Iterations of io-write and io-read: enough to move `budget` bytes per rank (256 MiB; 16 MiB
    /// for io-write-strided, which is slow), at least 3 and at most `--iterations`, after one
    /// untimed access (none with `--warmup 0`).
    func ioIterations(for size: Int, budget: Int = 1 << 28) -> (timed: Int, warmup: Int) {
        (max(3, min(iterations, budget / max(size, 1))), warmup > 0 ? 1 : 0)
    }

    /// Iterations of bw, bibw and put-bw, each of which moves a whole window: a hundredth of the
    /// latency iterations (100 and 10 by default, OSU's osu_bw counts).
    func windowIterations(for size: Int) -> (timed: Int, warmup: Int) {
        let (timed, warmup) = iterations(for: size)
        return (max(timed / 100, 2), max(warmup / 100, 1))
    }
}
