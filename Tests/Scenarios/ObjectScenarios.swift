import MPI

/// Object messages: Codable values sent with `send(object:)` and received with
/// `receiveObject(_:from:tag:)` (mpi4py's comm.send / comm.recv).
let objectScenarios: [Scenario] = [
    Scenario("object-collectives") { c in
        struct Report: Codable, Sendable, Equatable {
            var rank: Int
            var name: String
            var tags: [String: [Double]]
        }
        func report(_ rank: Int) -> Report {
            Report(rank: rank, name: "rank-\(rank)-" + String(repeating: "x", count: rank), tags: ["r": [Double(rank), 0.5]])
        }
        for root in 0..<c.size {
            let value = try c.world.broadcast(object: c.rank == root ? report(root) : nil, root: root)
            try expect(value == report(root), "broadcast of an object from root \(root) gave \(value)")
            let gathered = try c.world.gather(object: report(c.rank), root: root)
            try expect((gathered == nil) == (c.rank != root), "gather result present only on the root")
            if let gathered { try expect(gathered == (0..<c.size).map(report), "gather of objects at root \(root)") }
        }
        let all = try c.world.allGather(object: report(c.rank))
        try expect(all == (0..<c.size).map(report), "allGather of objects gave \(all.map(\.rank))")
        return .passed
    },

    Scenario("object-scatter-alltoall-reductions") { c in
        // mpi4py's comm.scatter / alltoall / reduce / allreduce / scan / exscan on objects of
        // different sizes, and a non-commutative operation (string concatenation) whose result
        // pins the rank order.
        let root = c.size - 1
        let word = { (rank: Int) in String(repeating: Character(UnicodeScalar(UInt8(97 + rank % 26))), count: rank + 1) }
        let mine = try c.world.scatter(objects: c.rank == root ? (0..<c.size).map { ["for": word($0)] } : nil, root: root)
        try expect(mine == ["for": word(c.rank)], "scatter(objects:) gave \(mine)")
        try expectError(.count, "a scatter whose root has one object too few") {
            _ = try c.world.scatter(objects: c.rank == 0 ? [Int](repeating: 1, count: c.size - 1) : nil, root: 0)
        }
        let swapped = try c.world.allToAll(objects: (0..<c.size).map { [c.rank, $0] })
        try expect(swapped == (0..<c.size).map { [$0, c.rank] }, "allToAll(objects:) gave \(swapped)")
        let concatenated = (0..<c.size).map(word).joined()
        let reduced = try c.world.reduce(object: word(c.rank), root: 0, op: +)
        try expect(reduced == (c.rank == 0 ? concatenated : nil), "reduce(object:) gave \(reduced ?? "nil")")
        try expect(try c.world.allReduce(object: word(c.rank), op: +) == concatenated, "allReduce(object:)")
        try expect(try c.world.scan(object: word(c.rank), op: +) == (0...c.rank).map(word).joined(), "scan(object:)")
        let exclusive = try c.world.exclusiveScan(object: word(c.rank), op: +)
        try expect(exclusive == (c.rank == 0 ? nil : (0..<c.rank).map(word).joined()), "exclusiveScan(object:) gave \(exclusive ?? "nil")")
        // An operation's own error becomes an MPIError on every rank, and the job goes on (one
        // rank's value is the result as it is: no operation runs).
        struct Refused: Error {}
        if c.size > 1 {
            try expectError(.operation, "a reduction whose operation throws") {
                _ = try c.world.allReduce(object: c.rank, op: { (_: Int, _: Int) throws -> Int in throw Refused() })
            }
        }
        try c.world.barrier()
        return .passed
    },

    Scenario("object-ring") { c in
        // Each rank adds its hop to the traveller; every receiver knows exactly what to expect.
        if c.rank == 0 { try c.world.send(object: Traveller.start.visited(by: 0), to: c.next, tag: 440) }
        let (traveller, status) = try c.world.receiveObject(Traveller.self, from: c.previous, tag: 440)
        try expect(status.source == c.previous && status.tag == 440, "status \(status), expected source \(c.previous), tag 440")
        let hops = c.rank == 0 ? c.size : c.rank
        let expected = (0..<hops).reduce(Traveller.start) { $0.visited(by: $1) }
        try expect(traveller == expected, "rank \(c.rank) received \(traveller), expected \(expected)")
        if c.rank != 0 { try c.world.send(object: traveller.visited(by: c.rank), to: c.next, tag: 440) }
        return .passed
    },

    Scenario("object-any-source") { c in
        // On a communicator of its own, so that no message another scenario left on the world
        // can match the wildcards.
        let comm = try c.world.duplicate()
        // Every rank, rank 0 included, sends rank 0 an object under its own tag.
        let mine = Traveller.start.visited(by: c.rank)
        try comm.send(object: mine, to: 0, tag: 300 + c.rank)
        if c.rank == 0 {
            var seen = Set<Int>()
            for _ in 0..<c.size {
                let (object, status) = try comm.receiveObject(Traveller.self)
                let source = status.source
                try expect(source >= 0 && source < c.size && seen.insert(source).inserted, "status source \(source) out of range or repeated")
                try expect(status.tag == 300 + source, "object from rank \(source) has tag \(status.tag)")
                try expect(object == Traveller.start.visited(by: source), "object from rank \(source) is \(object)")
                let size = try MessageEncoder().encode(object).count
                try expect(status.byteCount == size, "status of rank \(source)'s object says \(status.byteCount) bytes, it encodes to \(size)")
            }
        }
        try comm.barrier()
        // Both directions at once around the ring, which cannot deadlock.
        let (received, status) = try comm.sendReceive(
            object: mine, to: c.next, sendTag: 441, receiving: Traveller.self, from: Communicator.anySource, receiveTag: 441)
        try expect(status.source == c.previous && received == Traveller.start.visited(by: c.previous), "sendReceive got \(received) with \(status)")
        // A send to the null process does nothing; a receive from it has no object to give.
        try comm.send(object: mine, to: Communicator.nullProcess)
        try expectError(.rank, "receiveObject from the null process") {
            _ = try comm.receiveObject(Traveller.self, from: Communicator.nullProcess)
        }
        return .passed
    },

    Scenario("object-type-mismatch") { c in
        try c.ringStep {
            try c.world.send(object: Traveller.start.visited(by: c.rank), to: c.next, tag: 450)
            try c.world.send(object: [Int64(c.rank), 7], to: c.next, tag: 451)
            try c.world.send([Int32(c.rank), 1, 2], to: c.next, tag: 452)
            try c.world.send(object: Traveller.start.visited(by: c.rank), to: c.next, tag: 453)
        } receive: {
            let missingKey = try expectError(.type, "a Traveller decoded as a Receipt") {
                _ = try c.world.receiveObject(Receipt.self, from: c.previous, tag: 450)
            }
            try expect(
                missingKey.message.contains("Receipt") && missingKey.message.contains("'total'") && missingKey.message.contains("rank \(c.previous)"),
                "the error does not name the type, the missing key and the sender: \(missingKey.message)")
            let width = try expectError(.type, "[Int64] decoded as [Int32]") {
                _ = try c.world.receiveObject([Int32].self, from: c.previous, tag: 451)
            }
            try expect(width.message.contains("Int32") && width.message.contains("Int64"), "the error does not name both widths: \(width.message)")
            let typed = try expectError(.type, "a typed [Int32] message received as an object") {
                _ = try c.world.receiveObject([Int32].self, from: c.previous, tag: 452)
            }
            try expect(typed.message.contains("not an object message"), "the error does not say it is no object message: \(typed.message)")
            // The job goes on: the next object arrives intact.
            let (traveller, _) = try c.world.receiveObject(Traveller.self, from: c.previous, tag: 453)
            try expect(traveller == Traveller.start.visited(by: c.previous), "object after the mismatches: \(traveller)")
        }
        return .passed
    },

    Scenario("object-large") { c in
        let (received, status) = try c.world.sendReceive(
            object: Cargo(from: c.rank), to: c.next, sendTag: 460, receiving: Cargo.self, from: c.previous, receiveTag: 460)
        try expect(status.source == c.previous && status.byteCount > 1 << 20, "status \(status), expected over 1 MiB from rank \(c.previous)")
        try expect(received == Cargo(from: c.previous), "the 1 MB object from rank \(c.previous) differs from what it sent")
        return .passed
    },
]

/// A struct with nested arrays, strings, optionals, a dictionary and an enum with associated
/// values; each rank on the ring adds to it.
private struct Traveller: Codable, Equatable {
    var visited: [Int]
    var log: [String]
    var notes: [String: [Double]]
    var lastWord: String?
    var mood: Mood
    var matrix: [[Int32]]

    static let start = Traveller(visited: [], log: [], notes: [:], lastWord: "bon voyage", mood: .calm, matrix: [])

    func visited(by rank: Int) -> Traveller {
        var next = self
        next.visited.append(rank)
        next.log.append("rank \(rank) says héllo 👋")
        next.notes["r\(rank)"] = [Double(rank), .pi, -.infinity]
        next.lastWord = rank % 2 == 0 ? nil : "odd \(rank)"
        next.mood = rank == 0 ? .excited(level: 0) : .mixed([mood, .excited(level: rank)], note: rank % 3 == 0 ? nil : "n\(rank)")
        next.matrix.append((0..<Int32(rank)).map { $0 * Int32(rank) })
        return next
    }
}

private indirect enum Mood: Codable, Equatable {
    case calm
    case excited(level: Int)
    case mixed([Mood], note: String?)
}

/// What a Traveller is not.
private struct Receipt: Codable {
    var total: Double
    var items: [String]
}

/// About 1.1 MB of content, different for each rank.
private struct Cargo: Codable, Equatable {
    var samples: [Double]
    var bytes: [UInt8]
    var names: [String]
    var grid: [[Float]]
    var checksum: UInt64?

    init(from rank: Int) {
        samples = (0..<65_536).map { Double(rank) * 1e6 + Double($0) / 3 }
        bytes = (0..<524_288).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ rank) }
        names = (0..<1000).map { "rank \(rank) item \($0) ✓" }
        grid = (0..<100).map { row in (0..<100).map { Float(row * 100 + $0 + rank) } }
        checksum = rank % 2 == 0 ? UInt64(rank) &* 0x9E37_79B9_7F4A_7C15 : nil
    }
}
