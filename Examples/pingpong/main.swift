// Ping-pong between ranks 0 and 1: rank 0 sends a message, rank 1 sends it back with its first
// word incremented, ITERATIONS times; rank 0 checks every reply and reports the half round-trip
// time. Other ranks wait at the final barrier. The loop reuses its buffers, so a run of 10,000
// and a run of 100,000 iterations should allocate the same number of times
// (scripts/check-allocations.sh counts).
//
//     pingpong [ITERATIONS [BYTES [MODE]]]     (defaults: 10000 iterations of 8 bytes, blocking)
//     pingpong --help
//
// MODE says how the messages go:
//   blocking     send and receive
//   immediate    immediateSend/immediateReceive of MessageBuffers, each request waited for; every
//                receive is posted before the message it takes is sent
//   persistent   one persistent send and one persistent receive per rank, started each time
import ArgumentParser
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

/// How the messages go (the MODE argument).
enum Mode: String, CaseIterable, ExpressibleByArgument {
    case blocking, immediate, persistent
}

/// The command line: all three arguments positional, as scripts/check-allocations.sh passes them.
struct PingPong: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pingpong",
        abstract: "Time a checked ping-pong between ranks 0 and 1.",
        discussion: """
            Rank 0 sends a message, rank 1 sends it back with its first word incremented, <iterations> \
            times; rank 0 checks every reply and prints the half round-trip time. Other ranks wait at \
            the final barrier. Needs at least 2 ranks, e.g. `swift-mpiexec -n 2 pingpong 10000 8 \
            immediate`.

            Modes: blocking (send and receive), immediate (immediateSend/immediateReceive of \
            MessageBuffers, every receive posted before the message it takes is sent), persistent \
            (one persistent send and one persistent receive per rank, started each time).
            """)

    @Argument(help: "Round trips to time.")
    var iterations = 10_000

    @Argument(help: "Bytes per message, raised to 8 and rounded down to whole 8-byte words.")
    var bytes = 8

    @Argument(help: "How the messages go (see the modes above).")
    var mode: Mode = .blocking

    func validate() throws {
        guard iterations >= 0 else { throw ValidationError("<iterations> must not be negative") }
    }
}

let options = PingPong.parseOrExit()
let iterations = options.iterations
let bytes = max(8, options.bytes)
let mode = options.mode

/// Aborts the job when reply `iteration` is not the message plus one.
func checkReply(_ world: Communicator, _ iteration: Int, word: UInt64, status: Status, words: Int) {
    guard word == UInt64(iteration) + 1, status.byteCount == words * 8 else {
        printError("pingpong: reply \(iteration) carried \(word) in \(status.byteCount) bytes, expected \(iteration + 1) in \(words * 8)")
        world.abort(errorCode: 1)
    }
}

/// Blocking send and receive of one reused buffer.
func blockingLoop(_ world: Communicator, words: Int) throws {
    var buffer = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: words)
    defer { buffer.deallocate() }
    buffer.initialize(repeating: 0)
    if world.rank == 0 {
        for iteration in 0..<iterations {
            buffer[0] = UInt64(iteration)
            try world.send(UnsafeBufferPointer(buffer), to: 1, tag: 1)
            let status = try world.receive(into: &buffer, from: 1, tag: 2)
            checkReply(world, iteration, word: buffer[0], status: status, words: words)
        }
    } else if world.rank == 1 {
        for _ in 0..<iterations {
            try world.receive(into: &buffer, from: 0, tag: 1)
            buffer[0] += 1
            try world.send(UnsafeBufferPointer(buffer), to: 0, tag: 2)
        }
    }
}

/// Immediate sends and receives of message buffers. Rank 0 posts the receive for the reply
/// before sending; rank 1 posts the receive for the next message before replying.
func immediateLoop(_ world: Communicator, words: Int) throws {
    let incoming = MessageBuffer<UInt64>(repeating: 0, count: words)
    let outgoing = MessageBuffer<UInt64>(repeating: 0, count: words)
    if world.rank == 0 {
        for iteration in 0..<iterations {
            var receive = try world.immediateReceive(into: incoming, from: 1, tag: 2)
            outgoing[0] = UInt64(iteration)
            var send = try world.immediateSend(outgoing, to: 1, tag: 1)
            try send.wait()
            let status = try receive.wait()
            checkReply(world, iteration, word: incoming[0], status: status, words: words)
        }
    } else if world.rank == 1 && iterations > 0 {
        var receive = try world.immediateReceive(into: incoming, from: 0, tag: 1)
        for iteration in 0..<iterations {
            try receive.wait()
            outgoing[0] = incoming[0] + 1
            if iteration + 1 < iterations { receive = try world.immediateReceive(into: incoming, from: 0, tag: 1) }
            var send = try world.immediateSend(outgoing, to: 0, tag: 2)
            try send.wait()
        }
    }
}

/// One persistent send and one persistent receive per rank, started for every message.
func persistentLoop(_ world: Communicator, words: Int) throws {
    guard world.rank < 2 else { return }
    let incoming = MessageBuffer<UInt64>(repeating: 0, count: words)
    let outgoing = MessageBuffer<UInt64>(repeating: 0, count: words)
    let peer = 1 - world.rank
    var send = try world.persistentSend(outgoing, to: peer, tag: 1 + world.rank)
    var receive = try world.persistentReceive(into: incoming, from: peer, tag: 2 - world.rank)
    if world.rank == 0 {
        for iteration in 0..<iterations {
            try receive.start()
            outgoing[0] = UInt64(iteration)
            try send.start()
            try send.wait()
            let status = try receive.wait()
            checkReply(world, iteration, word: incoming[0], status: status, words: words)
        }
    } else if iterations > 0 {
        try receive.start()
        for iteration in 0..<iterations {
            try receive.wait()
            outgoing[0] = incoming[0] + 1
            if iteration + 1 < iterations { try receive.start() }
            try send.start()
            try send.wait()
        }
    }
}

do {
    try Environment.initialize()
    let world = try Communicator.world
    guard world.size >= 2 else {
        printError("pingpong needs at least 2 ranks")
        Environment.abort(errorCode: 2)
    }
    let words = bytes / 8
    try world.barrier()
    let start = try Environment.wallTime()
    switch mode {
    case .blocking: try blockingLoop(world, words: words)
    case .immediate: try immediateLoop(world, words: words)
    case .persistent: try persistentLoop(world, words: words)
    }
    if world.rank == 0 {
        let elapsed = try Environment.wallTime() - start
        print("\(iterations) \(mode) round trips of \(words * 8) bytes: \(elapsed / Double(iterations) / 2 * 1e6) µs half round trip")
    }
    try world.barrier()
    try Environment.finalize()
} catch {
    printError("pingpong: \(error)")
    Environment.abort(errorCode: 1)
}
