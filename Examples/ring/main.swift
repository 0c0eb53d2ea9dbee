// Passes a token once around a ring of all ranks: rank 0 starts it at 1000, every rank adds its
// rank before passing it on, and rank 0 checks that it comes back as 1000 + 0 + 1 + … + (size-1).
//
//     swift build --traits OpenMPI && mpirun -n 4 --oversubscribe .build/debug/ring
//     swift-mpiexec -n 4 .build/debug/ring
//     ring --help
import ArgumentParser
import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The command line: no options, but `--help` and a usage error for anything else.
struct Ring: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ring",
        abstract: "Pass a token once around a ring of all ranks and check its sum.",
        discussion: """
            Rank 0 starts the token at 1000, every rank adds its rank before passing it on, and rank 0 \
            checks that it comes back as 1000 + 0 + 1 + … + (size - 1). Run it under a launcher, e.g. \
            `swift-mpiexec -n 4 ring` or (built with --traits OpenMPI) `mpirun -n 4 ring`; started \
            alone it is a world of one.
            """)
}

let start = 1000

/// Writes one line to standard error in a single write, so lines of different ranks never mix.
func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

_ = Ring.parseOrExit()
do {
    try Environment.initialize()
    let world = try Communicator.world
    let next = (world.rank + 1) % world.size
    let previous = (world.rank + world.size - 1) % world.size

    if world.rank == 0 {
        try world.send(start + world.rank, to: next, tag: 1)
        let token = try world.receive(Int.self, from: previous, tag: 1)
        print("rank 0 of \(world.size): token came back as \(token)")
        let expected = start + world.size * (world.size - 1) / 2
        guard token == expected else {
            printError("rank 0: expected \(expected), got \(token)")
            world.abort(errorCode: 2)
        }
    } else {
        let token = try world.receive(Int.self, from: previous, tag: 1)
        print("rank \(world.rank) of \(world.size): received \(token) from rank \(previous)")
        try world.send(token + world.rank, to: next, tag: 1)
    }
    try Environment.finalize()
} catch {
    printError("ring: \(error)")
    Environment.abort(errorCode: 1)
}
