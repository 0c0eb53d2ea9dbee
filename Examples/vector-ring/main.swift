// The README's SPMD example, kept compiling and running by scripts/test.sh.
import MPI

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
