// Estimates π by sampling points in the unit square on every rank and adding the hits with an
// all-reduce; prints a convergence table and checks the last estimate against π within four
// standard errors.
//
//     monte-carlo-pi [--samples 20000000]     (total over all ranks, last row of the table)
//     monte-carlo-pi --help
import ArgumentParser
import Foundation
import MPI

#if canImport(Glibc)
import Glibc
#endif

func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// xoshiro-like generator (SplitMix64), seeded per rank so ranks draw different points.
struct Generator {
    var state: UInt64
    mutating func unit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) * 0x1p-53
    }
}

/// The command line.
struct MonteCarloPi: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monte-carlo-pi",
        abstract: "Estimate π by sampling points in the unit square on every rank.",
        discussion: """
            The hits are added with an all-reduce at 1000, 10000, … samples up to --samples; rank 0 \
            prints a convergence table, and the job fails unless the last estimate is within four \
            standard errors of π. Run it under a launcher, e.g. `swift-mpiexec -n 4 monte-carlo-pi`.
            """)

    @Option(help: "Samples in total over all ranks (the last row of the table).")
    var samples = 20_000_000

    func validate() throws {
        guard samples > 0 else { throw ValidationError("--samples needs a positive integer") }
    }
}

let options = MonteCarloPi.parseOrExit()
do {
    let total = options.samples
    try Environment.initialize()
    let world = try Communicator.world
    var generator = Generator(state: 0x5EED &+ UInt64(world.rank) &* 0x1_0000_0001)
    var hits = 0, drawn = 0
    if world.rank == 0 {
        print("monte-carlo-pi: \(world.size) ranks on \(Environment.backend!)")
        print("    samples      estimate     |error|    std. error     seconds")
    }
    var target = 1000
    var estimate = 0.0, standardError = 0.0
    let start = try Environment.wallTime()
    while true {
        target = min(target, total)
        // This rank's share of `target` samples.
        let mine = target / world.size + (world.rank < target % world.size ? 1 : 0)
        while drawn < mine {
            let x = generator.unit(), y = generator.unit()
            if x * x + y * y <= 1 { hits += 1 }
            drawn += 1
        }
        let allHits = try world.allReduce(hits, op: .sum)
        let p = Double(allHits) / Double(target)
        estimate = 4 * p
        standardError = 4 * (p * (1 - p) / Double(target)).squareRoot()
        let seconds = try world.allReduce(try Environment.wallTime() - start, op: .max)
        if world.rank == 0 {
            print(String(format: "%11d  %.8f  %.2e  %.2e  %10.3f", target, estimate, abs(estimate - .pi), standardError, seconds))
        }
        if target == total { break }
        target *= 10
    }
    guard abs(estimate - .pi) <= 4 * standardError else {
        printError("monte-carlo-pi: estimate \(estimate) is more than four standard errors from π")
        Environment.abort(errorCode: 1)
    }
    try Environment.finalize()
} catch {
    printError("monte-carlo-pi: \(error)")
    Environment.abort(errorCode: 1)
}
