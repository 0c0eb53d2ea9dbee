// The README's SPMD example, kept compiling and running by scripts/test.sh, with a command
// line in front so that `vector-ring --help` works.
import ArgumentParser
import MPI

/// The command line: no options, but `--help` and a usage error for anything else.
struct VectorRing: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vector-ring",
        abstract: "Pass a vector of four Doubles around a ring of all ranks (the README's SPMD program).",
        discussion: """
            Every rank adds its rank to each element; rank 0 prints the vector once it has been \
            around. Run it under a launcher, e.g. `swift-mpiexec -n 4 vector-ring` or (built with \
            --traits OpenMPI) `mpirun -n 4 vector-ring`.
            """)
}
_ = VectorRing.parseOrExit()


try Environment.initialize()
let world = try Communicator.world
let next = (world.rank + 1) % world.size
let previous = (world.rank + world.size - 1) % world.size

// Pass a vector around the ring; every rank adds its rank to each element.
var vector = [Double](repeating: 0, count: 4)
if world.rank == 0 { try world.send(vector, to: next, tag: 7) }
try world.receive(into: &vector, from: previous, tag: 7)
if world.rank != 0 { try world.send(vector.map { $0 + Double(world.rank) }, to: next, tag: 7) }
if world.rank == 0 { print("after \(world.size) ranks: \(vector)") }

try Environment.finalize()
