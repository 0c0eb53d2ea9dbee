import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Truncated receives around every protocol threshold of both backends (4 KiB: Open MPI vader's
/// eager limit; 16 KiB: shared memory's eager limit; 64 KiB and 1 MiB), checking that nothing
/// is written outside the receive buffer and that the job goes on. Open MPI 4.1.4's single-copy
/// path wrote a whole message past a smaller buffer; see docs/openmpi-backend.md.
let truncationScenarios: [Scenario] = [
    Scenario("truncation-guard-bytes") { c in
        guard c.size > 1 else { return .skipped("needs two ranks") }
        try truncationCases(c, mode: .blocking)
        return .passed
    },
    Scenario("truncation-guard-bytes-immediate") { c in
        guard c.size > 1 else { return .skipped("needs two ranks") }
        try truncationCases(c, mode: .immediatePostedFirst)
        try truncationCases(c, mode: .immediateUnexpected)
        return .passed
    },
]

/// How the receiving rank receives.
enum TruncationMode: String {
    /// `receive(into:)` while the sender is in a blocking send.
    case blocking
    /// `immediateReceive(into:)` posted before the message is sent, then `wait()`.
    case immediatePostedFirst = "immediate, posted first"
    /// `immediateReceive(into:)` posted after the sender started an immediate send.
    case immediateUnexpected = "immediate, after the send"
}

/// Bytes before and after the receive buffer that must stay as they were.
let guardFill: UInt8 = 0xA5
let leadingGuardBytes = 64

/// Runs every (message, buffer) size pair in `mode` between ranks 2k (sending) and 2k + 1
/// (receiving); a last rank without a partner only takes part in the barriers.
func truncationCases(_ c: Context, mode: TruncationMode) throws {
    let partner: Int? = c.rank % 2 == 0 ? (c.rank + 1 < c.size ? c.rank + 1 : nil) : c.rank - 1
    let sending = c.rank % 2 == 0
    var tag = 900
    for threshold in [4096, 16384, 65536, 1 << 20] {
        let n = threshold / MemoryLayout<Int32>.stride
        for (message, capacity) in [(n + 1, n), (n, n - 1), (n, n / 16), (n, n)] {
            tag += 2
            let what = "\(mode.rawValue) receive of \(message) Int32 (\(message * 4) bytes) into room for \(capacity)"
            let values = (0..<message).map { Int32(truncatingIfNeeded: $0 &* 7 &+ tag) }
            var request: Request? = nil
            if let partner, sending {
                if mode == .immediateUnexpected { request = try c.world.immediateSend(values, to: partner, tag: tag) }
                try c.world.barrier()
                switch mode {
                case .blocking: try c.world.send(values, to: partner, tag: tag)
                case .immediatePostedFirst: try c.world.send(values, to: partner, tag: tag)
                case .immediateUnexpected: _ = try request?.wait()
                }
                // The job goes on: a small message after the truncated one.
                try c.world.send([Int32(tag), 1, 2], to: partner, tag: tag + 1)
            } else if let partner {
                try receiveWithGuards(c, mode: mode, message: message, capacity: capacity, values: values,
                    from: partner, tag: tag, what: what)
                var next = [Int32](repeating: 0, count: 3)
                let status = try c.world.receive(into: &next, from: partner, tag: tag + 1)
                try expect(next == [Int32(tag), 1, 2] && status.count(of: Int32.self) == 3,
                    "after the \(what): the next message arrived as \(next), \(status)")
            } else {
                try c.world.barrier()
            }
        }
    }
    try expect(try c.world.allReduce(1, op: .sum) == c.size, "allReduce after the \(mode.rawValue) truncations")
}

/// Receives into `capacity` elements in the middle of a larger allocation filled with
/// `guardFill`, then checks that the bytes before and after the buffer are untouched, that an
/// oversized message throws `.truncate` naming both sizes and that a fitting one arrives whole.
func receiveWithGuards(
    _ c: Context, mode: TruncationMode, message: Int, capacity: Int, values: [Int32], from partner: Int, tag: Int,
    what: String
) throws {
    let bufferBytes = capacity * MemoryLayout<Int32>.stride
    // Room after the buffer for the whole message and more: an overrun lands in memory we own.
    let trailingGuardBytes = message * MemoryLayout<Int32>.stride + 4096
    let total = leadingGuardBytes + bufferBytes + trailingGuardBytes
    let memory = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 64)
    defer { memory.deallocate() }
    memory.initializeMemory(as: UInt8.self, repeating: guardFill, count: total)
    let start = (memory + leadingGuardBytes).bindMemory(to: Int32.self, capacity: capacity)
    let buffer = UnsafeMutableBufferPointer(start: start, count: capacity)

    var outcome: Result<Status, MPIError>
    switch mode {
    case .blocking:
        try c.world.barrier()
        var target = buffer
        do { outcome = .success(try c.world.receive(into: &target, from: partner, tag: tag)) }
        catch { outcome = .failure(error) }
    case .immediatePostedFirst:
        var request = try c.world.immediateReceive(into: buffer, from: partner, tag: tag)
        try c.world.barrier()
        do { outcome = .success(try request.wait()) } catch { outcome = .failure(error) }
    case .immediateUnexpected:
        try c.world.barrier()
        var request = try c.world.immediateReceive(into: buffer, from: partner, tag: tag)
        do { outcome = .success(try request.wait()) } catch { outcome = .failure(error) }
    }

    let bytes = UnsafeRawBufferPointer(start: memory, count: total)
    let before = bytes[0..<leadingGuardBytes].filter { $0 != guardFill }.count
    var after = 0
    var firstAfter: Int? = nil
    for index in (leadingGuardBytes + bufferBytes)..<total where bytes[index] != guardFill {
        after += 1
        if firstAfter == nil { firstAfter = index - leadingGuardBytes - bufferBytes }
    }
    try expect(before == 0, "\(what): \(before) bytes before the receive buffer were overwritten")
    try expect(after == 0,
        "\(what): \(after) bytes after the receive buffer were overwritten, the first \(firstAfter ?? 0) bytes past its end")
    if message > capacity {
        guard case .failure(let error) = outcome, error.errorClass == .truncate else {
            throw ScenarioFailure("\(what): expected MPIError(.truncate), got \(outcome)")
        }
        try expect(error.message.contains("\(message * 4)") && error.message.contains("\(bufferBytes)"),
            "\(what): the truncation message does not name both sizes: \(error.message)")
    } else {
        let status = try outcome.get()
        try expect(status.count(of: Int32.self) == message, "\(what): status says \(status)")
        try expect(Array(buffer) == values, "\(what): the received values differ from those sent")
    }
}
