// Ping-pong between ranks 0 and 1: rank 0 sends a message, rank 1 sends it back with its first
// word incremented, ITERATIONS times; rank 0 checks every reply and reports the half round-trip
// time. Other ranks wait at the final barrier. The loop reuses one buffer, so a run of 10,000
// and a run of 100,000 iterations should allocate the same number of times
// (scripts/check-allocations.sh counts).
//
//     pingpong [ITERATIONS [BYTES]]        (defaults: 10000 iterations of 8 bytes)
import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one line to standard error in a single write.
func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments.dropFirst().map { Int($0) }
guard arguments.allSatisfy({ $0 != nil }), arguments.count <= 2 else {
    printError("usage: pingpong [ITERATIONS [BYTES]]")
    exit(2)
}
let iterations = arguments.first.flatMap { $0 } ?? 10_000
let bytes = max(8, arguments.dropFirst().first.flatMap { $0 } ?? 8)

do {
    try Environment.initialize()
    let world = try Communicator.world
    guard world.size >= 2 else {
        printError("pingpong needs at least 2 ranks")
        Environment.abort(errorCode: 2)
    }
    let words = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: bytes / 8)
    defer { words.deallocate() }
    words.initialize(repeating: 0)

    try world.barrier()
    let start = try Environment.wallTime()
    if world.rank == 0 {
        for iteration in 0..<iterations {
            let i = UInt64(iteration)
            words[0] = i
            try world.send(UnsafeBufferPointer(words), to: 1, tag: 1)
            let status = try world.receive(into: words, from: 1, tag: 2)
            guard words[0] == i + 1, status.byteCount == words.count * 8 else {
                printError("pingpong: reply \(i) carried \(words[0]) in \(status.byteCount) bytes, expected \(i + 1) in \(words.count * 8)")
                world.abort(errorCode: 1)
            }
        }
        let elapsed = try Environment.wallTime() - start
        print("\(iterations) round trips of \(words.count * 8) bytes: \(elapsed / Double(iterations) / 2 * 1e6) µs half round trip")
    } else if world.rank == 1 {
        for _ in 0..<iterations {
            try world.receive(into: words, from: 0, tag: 1)
            words[0] += 1
            try world.send(UnsafeBufferPointer(words), to: 0, tag: 2)
        }
    }
    try world.barrier()
    try Environment.finalize()
} catch {
    printError("pingpong: \(error)")
    Environment.abort(errorCode: 1)
}
