import MPI

/// Buffered and ready send modes (MPI-4.1 §3.4, §3.6), blocking, immediate and persistent.
let sendModeScenarios: [Scenario] = [
    Scenario("send-mode-buffered") { c in
        let overhead = try Environment.bufferedSendOverhead()
        try expect(overhead > 0, "bufferedSendOverhead \(overhead)")
        // Without attached space a buffered send throws and sends nothing.
        try expectError(.buffer, "a buffered send with no space attached") {
            try c.world.send([1.0, 2.0], to: c.next, tag: 800, mode: .buffered)
        }
        try expectError(.buffer, "detaching with nothing attached") { _ = try Environment.detachBuffer() }

        let large = 1 << 17  // 1 MiB of doubles: past every eager threshold
        let capacity = 2 * (large * 8 + overhead) + 3 * (64 * 8 + overhead)
        try Environment.attachBuffer(capacity: capacity)
        try expectError(.buffer, "attaching twice") { try Environment.attachBuffer(capacity: 64) }
        // A message larger than the whole space throws, and the job goes on.
        try expectError(.buffer, "a buffered message larger than the space") {
            try c.world.send([Double](repeating: 1, count: capacity / 8 + 1), to: c.next, tag: 801, mode: .buffered)
        }

        // Every send returns before any receive is posted: buffered sends never wait for the
        // receiver. Then the messages arrive in order.
        let big = (0..<large).map { Double(c.rank * large + $0) }
        try c.world.send(big, to: c.next, tag: 802, mode: .buffered)
        var small = (0..<64).map { Int64(c.rank * 100 + $0) }
        try c.world.send(small, to: c.next, tag: 802, mode: .buffered)
        small[0] = -1  // the message was copied: changing the buffer now changes nothing
        var immediate = try c.world.immediateSend([Int32(c.rank)], to: c.next, tag: 803, mode: .buffered)
        try expect(try immediate.wait().byteCount == 0, "an immediate buffered send completes at once")
        let outbox = MessageBuffer<Int32>([0, 0])
        var persistent = try c.world.persistentSend(outbox, to: c.next, tag: 804, mode: .buffered)
        for round in 1...3 {
            outbox.withUnsafeMutableBufferPointer { $0[0] = Int32(round); $0[1] = Int32(c.rank) }
            try persistent.start()
            _ = try persistent.wait()
        }
        try c.world.barrier()

        var landed = [Double](repeating: -1, count: large)
        try c.world.receive(into: &landed, from: c.previous, tag: 802)
        try expect(landed == (0..<large).map { Double(c.previous * large + $0) }, "large buffered message")
        var smallLanded = [Int64](repeating: -1, count: 64)
        try c.world.receive(into: &smallLanded, from: c.previous, tag: 802)
        try expect(smallLanded == (0..<64).map { Int64(c.previous * 100 + $0) }, "small buffered message \(smallLanded.prefix(4))")
        try expect(try c.world.receive(Int32.self, from: c.previous, tag: 803) == Int32(c.previous), "immediate buffered message")
        for round in 1...3 {
            var pair: [Int32] = [0, 0]
            try c.world.receive(into: &pair, from: c.previous, tag: 804)
            try expect(pair == [Int32(round), Int32(c.previous)], "persistent buffered round \(round): \(pair)")
        }
        // Detach waits for whatever is still in flight, and gives the capacity back.
        try c.world.send(big, to: c.next, tag: 805, mode: .buffered)
        let again = MessageBuffer<Double>(repeating: -1, count: large)
        var receive = try c.world.immediateReceive(into: again, from: c.previous, tag: 805)
        try expect(try Environment.detachBuffer() == capacity, "detach returned another capacity")
        let status = try receive.wait()
        try expect(status.count(of: Double.self) == large && again[large - 1] == Double(c.previous * large + large - 1), "after detach: \(status)")
        try c.world.barrier()
        return .passed
    },

    Scenario("send-mode-ready") { c in
        // The receive is posted before the barrier, the ready send after it: always correct.
        let inbox = MessageBuffer<Int64>(repeating: -1, count: 3)
        var receive = try c.world.immediateReceive(into: inbox, from: c.previous, tag: 810)
        try c.world.barrier()
        try c.world.send([Int64(c.rank), 1, 2], to: c.next, tag: 810, mode: .ready)
        _ = try receive.wait()
        try expect(inbox.array == [Int64(c.previous), 1, 2], "blocking ready send gave \(inbox.array)")

        receive = try c.world.immediateReceive(into: inbox, from: c.previous, tag: 811)
        try c.world.barrier()
        var send = try c.world.immediateSend([Int64(c.rank), 3, 4], to: c.next, tag: 811, mode: .ready)
        _ = try receive.wait()
        _ = try send.wait()
        try expect(inbox.array == [Int64(c.previous), 3, 4], "immediate ready send gave \(inbox.array)")

        let outbox = MessageBuffer<Int64>([0, 0, 0])
        var persistentSend = try c.world.persistentSend(outbox, to: c.next, tag: 812, mode: .ready)
        var persistentReceive = try c.world.persistentReceive(into: inbox, from: c.previous, tag: 812)
        for round in 1...3 {
            try persistentReceive.start()
            try c.world.barrier()
            outbox.withUnsafeMutableBufferPointer { $0[0] = Int64(c.rank); $0[1] = Int64(round) }
            try persistentSend.start()
            _ = try persistentReceive.wait()
            _ = try persistentSend.wait()
            try expect(inbox[0] == Int64(c.previous) && inbox[1] == Int64(round), "persistent ready round \(round): \(inbox.array)")
        }
        try c.world.barrier()
        return .passed
    },
]
