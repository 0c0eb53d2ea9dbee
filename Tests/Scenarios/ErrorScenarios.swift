import MPI

/// Errors are thrown, say what went wrong, and leave the job able to go on.
let errorScenarios: [Scenario] = [
    Scenario("truncation") { c in
        try c.ringStep {
            try c.world.send((0..<10).map { Int32(c.rank * 100 + $0) }, to: c.next, tag: 21)
            try c.world.send([Int32(1), 2, 3], to: c.next, tag: 22)
            try c.world.send([Int64(c.rank), 9], to: c.next, tag: 23)
        } receive: {
            var small = [Int32](repeating: 0, count: 4)
            let error = try expectError(.truncate, "receiving 10 Int32 into room for 4") {
                try c.world.receive(into: &small, from: c.previous, tag: 21)
            }
            try expect(error.message.contains("40") && error.message.contains("16"), "truncation message does not state both sizes (40-byte message, 16-byte buffer): \(error.message)")
            // The job goes on: the next message arrives intact.
            var next = [Int32](repeating: 0, count: 4)
            let status = try c.world.receive(into: &next, from: c.previous, tag: 22)
            try expect(next == [1, 2, 3, 0] && status.count(of: Int32.self) == 3, "message after the truncation: \(next), \(status)")
            try expectError(.truncate, "receiving one Int64 from a message of two") {
                _ = try c.world.receive(Int64.self, from: c.previous, tag: 23)
            }
        }
        return .passed
    },

    Scenario("invalid-rank") { c in
        let bad = c.size
        let send = try expectError(.rank, "send to rank \(bad) of \(c.size)") {
            try c.world.send(1, to: bad, tag: 1)
        }
        try expect(send.message.contains("\(bad)"), "error for a send to rank \(bad) does not name the rank: \(send.message)")
        let receive = try expectError(.rank, "receive from rank \(bad) of \(c.size)") {
            _ = try c.world.receive(Int.self, from: bad, tag: 1)
        }
        try expect(receive.message.contains("\(bad)"), "error for a receive from rank \(bad) does not name the rank: \(receive.message)")
        try expectError(.rank, "send to rank -7") { try c.world.send(1, to: -7) }
        try expectError(.rank, "sendReceive to rank \(bad)") {
            var into = [0]
            try c.world.sendReceive([1], to: bad, into: &into, from: c.previous)
        }
        try expectError(.rank, "probe of rank \(bad)") { _ = try c.world.probe(from: bad) }
        // The job goes on.
        var token = [c.rank]
        try c.world.sendReceive([c.rank], to: c.next, into: &token, from: c.previous)
        try expect(token == [c.previous], "ring shift after the invalid-rank errors got \(token)")
        return .passed
    },

    Scenario("invalid-arguments") { c in
        var value: Int32 = 5
        try expectError(.count, "send with count -1") {
            try withUnsafePointer(to: value) { pointer throws(MPIError) in try c.world.send(pointer, count: -1, to: c.next) }
        }
        try expectError(.count, "receive with count -3") {
            try withUnsafeMutablePointer(to: &value) { pointer throws(MPIError) in
                _ = try c.world.receive(into: pointer, count: -3, from: c.previous)
            }
        }
        try expectError(.buffer, "send of 2 elements from a nil buffer") {
            try c.world.send(UnsafePointer<Int32>?.none, count: 2, to: c.next)
        }
        try expectError(.tag, "send with tag -3") { try c.world.send(value, to: c.next, tag: -3) }
        if c.world.tagUpperBound < Int.max {
            let tooLarge = c.world.tagUpperBound + 1
            let error = try expectError(.tag, "send with tag \(tooLarge)") { try c.world.send(value, to: c.next, tag: tooLarge) }
            try expect(error.message.contains("\(tooLarge)"), "tag error does not name tag \(tooLarge): \(error.message)")
        }
        try expectError(.tag, "receive with tag -5") { _ = try c.world.receive(Int32.self, from: c.previous, tag: -5) }
        try expectError(.tag, "probe with tag -5") { _ = try c.world.probe(tag: -5) }
        try expectError(.argument, "split with color -2") { _ = try c.world.split(color: -2) }
        // The job goes on.
        var token = [Int32(-1)]
        try c.world.sendReceive([Int32(c.rank)], to: c.next, into: &token, from: c.previous)
        try expect(token == [Int32(c.previous)], "ring shift after the argument errors got \(token)")
        return .passed
    },
]
