import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Matched probes (`MPI_Mprobe`/`Improbe`/`Mrecv`/`Imrecv`): the probed message is out of
/// matching until its own receive, so no other receive can take it.
let matchedProbeScenarios: [Scenario] = [
    Scenario("matched-probe") { c in
        let large = 70_000  // Int32s: past both backends' eager limits
        // Immediate sends, waited for after the receives: a blocking send of the large message
        // to oneself (1 rank) may wait for its receive, as MPI allows (Open MPI's does).
        var sends = RequestList(capacity: 7)
        do {
            sends.add(try c.world.immediateSend((0..<5).map { Int32(c.rank * 10 + $0) }, to: c.next, tag: 41))
            sends.add(try c.world.immediateSend((0..<large).map { Int32(truncatingIfNeeded: $0 &* 7 &+ c.rank) }, to: c.next, tag: 42))
            sends.add(try c.world.immediateSend([Int32](), to: c.next, tag: 43))
            sends.add(try c.world.immediateSend([Int64(1), 2, 3], to: c.next, tag: 44))
            sends.add(try c.world.immediateSend(Int64(c.rank), to: c.next, tag: 45))
            sends.add(try c.world.immediateSend((0..<10).map { Int32($0) }, to: c.next, tag: 46))
            sends.add(try c.world.immediateSend(Int32(99), to: c.next, tag: 47))

            // The large message first, by tag; while it is held no probe or receive sees it.
            let message = try c.world.matchedProbe(from: c.previous, tag: 42)
            try expect(message.status.source == c.previous && message.status.tag == 42 && message.status.count(of: Int32.self) == large,
                "matched probe of tag 42 gave \(message.status)")
            try expect(try c.world.immediateProbe(from: c.previous, tag: 42) == nil, "a matched message is still visible to probes")
            // A wildcard receive posted now must not take it (this is what a plain probe cannot promise).
            let decoy = MessageBuffer<Int32>(repeating: 0, count: large)
            var wildcard = try c.world.immediateReceive(into: decoy, from: Communicator.anySource, tag: 42)
            try expect(try wildcard.test() == nil, "a wildcard receive took a matched message")
            var into = [Int32](repeating: -1, count: large)
            let status = try message.receive(into: &into)
            try expect(try wildcard.test() == nil, "a wildcard receive completed with no message left for it")
            try wildcard.cancel()
            let cancelled = try wildcard.wait()
            try expect(cancelled.isCancelled, "the wildcard receive was not cancelled: \(cancelled)")
            try expect(status.count(of: Int32.self) == large && into.enumerated().allSatisfy { $0.element == Int32(truncatingIfNeeded: $0.offset &* 7 &+ c.previous) },
                "matched receive of the large message: \(status)")

            // Immediate probe, then an immediate receive into a MessageBuffer.
            func arrived() throws -> Message {
                while true { if let message = try c.world.immediateMatchedProbe(from: c.previous, tag: 41) { return message } }
            }
            let buffer = MessageBuffer<Int32>(repeating: 0, count: 8)
            var request = try arrived().immediateReceive(into: buffer)
            let small = try request.wait()
            try expect(small.count(of: Int32.self) == 5 && Array(buffer.array.prefix(5)) == (0..<5).map { Int32(c.previous * 10 + $0) },
                "immediate matched receive: \(small), \(buffer.array)")

            let (empty, emptyStatus) = try c.world.matchedProbe(from: c.previous, tag: 43).receiveArray(of: Int32.self)
            try expect(empty.isEmpty && emptyStatus.byteCount == 0, "empty matched message: \(empty), \(emptyStatus)")

            // Dropped without a receive: received and discarded, and the messages after it are intact.
            do { _ = try c.world.matchedProbe(from: c.previous, tag: 44) }
            try expect(try c.world.receive(Int64.self, from: c.previous, tag: 45) == Int64(c.previous), "message after a dropped matched message")

            var four = [Int32](repeating: 0, count: 4)
            try expectError(.truncate, "matched receive of 10 Int32 into 4") {
                try c.world.matchedProbe(from: c.previous, tag: 46).receive(into: &four)
            }
            try expect(try c.world.receive(Int32.self, from: c.previous, tag: 47) == 99, "message after a truncated matched receive")
            try expect(try c.world.matchedProbe(from: Communicator.nullProcess).status == .null, "matched probe of the null process")
        }
        _ = try sends.waitAll()
        return .passed
    },

    // Two threads of rank 0 receive messages of unknown sizes from any source at once. With a
    // plain probe, one thread's receive could take the message the other probed, and then
    // receive into a buffer of the wrong size; receiveArray takes its message out of matching.
    Scenario("matched-probe-threads") { c in
        guard try Environment.threadLevel() == .multiple else { return .skipped("needs ThreadLevel.multiple") }
        guard c.size >= 2 else { return .skipped("needs 2 ranks") }
        let perSender = 1000
        if c.rank != 0 {
            for i in 0..<perSender {
                let length = 1 + (i * 37 + c.rank * 11) % 300
                try c.world.send([Int32(c.rank), Int32(length)] + [Int32](repeating: Int32(i), count: length), to: 0, tag: 50)
            }
            return .passed
        }
        let total = (c.size - 1) * perSender
        let world = c.world
        let results = UnsafeMutablePointer<(ok: Int, problem: String?)>.allocate(capacity: 2)
        results.initialize(repeating: (0, nil), count: 2)
        defer { results.deallocate() }
        func receiveHalf(_ thread: Int) {
            let count = thread == 0 ? total / 2 : total - total / 2
            for _ in 0..<count {
                do {
                    let (values, status) = try world.receiveArray(of: Int32.self, from: Communicator.anySource, tag: 50)
                    guard values.count >= 2, values[0] == Int32(status.source), Int(values[1]) == values.count - 2 else {
                        results[thread].problem = "thread \(thread) got a mismatched message: \(values.prefix(3)) from \(status.source)"
                        return
                    }
                    results[thread].ok += 1
                } catch {
                    results[thread].problem = "thread \(thread): \(error)"
                    return
                }
            }
        }
        try onTwoThreads(receiveHalf)
        for thread in 0..<2 { if let problem = results[thread].problem { throw ScenarioFailure(problem) } }
        try expect(results[0].ok + results[1].ok == total, "received \(results[0].ok + results[1].ok) of \(total) messages")
        return .passed
    },
]

/// Runs `body(0)` on a new thread and `body(1)` on this one, and waits for both.
func onTwoThreads(_ body: (Int) -> Void) throws {
    try withoutActuallyEscaping(body) { body in
        final class Box: @unchecked Sendable {
            let body: (Int) -> Void
            init(_ body: @escaping (Int) -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body))
        var thread = pthread_t()
        guard pthread_create(&thread, nil, { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeUnretainedValue()
            box.body(0)
            return nil
        }, box.toOpaque()) == 0 else {
            box.release()
            throw ScenarioFailure("pthread_create failed")
        }
        body(1)
        pthread_join(thread, nil)
        box.release()
    }
}
