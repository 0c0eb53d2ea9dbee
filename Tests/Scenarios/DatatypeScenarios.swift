import MPI

/// A particle as a simulation keeps it: the datatype names the position and the id; `scratch`
/// is rank-local bookkeeping that never travels, so receives must leave it alone.
struct Particle: MessageElement, Equatable {
    var position: SIMD3<Double>
    var id: Int32
    var scratch: Int32

    static let datatype = Datatype.structure(of: Particle.self, .field(\.position), .field(\.id))

    static func made(by rank: Int, _ index: Int) -> Particle {
        Particle(position: SIMD3(Double(rank), Double(index), Double(rank * 100 + index) / 8), id: Int32(rank * 1000 + index), scratch: -1)
    }

    /// Whether the travelling fields equal `other`'s.
    func sameData(_ other: Particle) -> Bool { position == other.position && id == other.id }
}

/// Four ints of which only `a` and `c` travel: an hvector (two ints 8 bytes apart) resized to
/// the struct's stride.
struct Quad: MessageElement, Equatable {
    var a: Int32, b: Int32, c: Int32, d: Int32

    static let datatype = try! Datatype.resized(
        Datatype.hvector(count: 2, blockLength: 1, strideBytes: 8, of: .int32), extent: MemoryLayout<Quad>.stride)
}

/// The sum of positions and the largest id: a user-defined reduction on the struct. MPI hands
/// the operation whole elements (Open MPI reduces in the caller's buffer when in place), so it
/// keeps the result's own value of the field that does not travel.
let particleCombine = ReductionOp<Particle>.custom(commutative: true) { a, b in
    Particle(position: a.position + b.position, id: max(a.id, b.id), scratch: b.scratch)
}

/// Struct datatypes and strided layouts (derived datatypes), on every operation kind.
let datatypeScenarios: [Scenario] = [
    Scenario("datatype-struct-point-to-point") { c in
        let type = Particle.datatype
        try expect(type.size == 28 && type.extent == MemoryLayout<Particle>.stride, "Particle datatype: size \(type.size), extent \(type.extent)")
        let count = 5
        let mine = (0..<count).map { Particle.made(by: c.rank, $0) }
        let expected = (0..<count).map { Particle.made(by: c.previous, $0) }
        // Blocking ring: the receive buffer's scratch fields keep their marker.
        var received = [Particle](repeating: Particle(position: .zero, id: 0, scratch: 77), count: count)
        var status = Status.null
        try c.ringStep(
            send: { try c.world.send(mine, to: c.next, tag: 500) },
            receive: { status = try c.world.receive(into: &received, from: c.previous, tag: 500) })
        try expect(status.byteCount == count * 28 && status.count(of: Particle.self) == count, "status \(status): expected \(count) particles of 28 bytes")
        try expect(zip(received, expected).allSatisfy { $0.sameData($1) }, "received \(received), expected \(expected)")
        try expect(received.allSatisfy { $0.scratch == 77 }, "a receive wrote the field the datatype leaves out: \(received.map(\.scratch))")

        // One value, and a probed array.
        try c.ringStep(
            send: { try c.world.send(mine[2], to: c.next, tag: 501) },
            receive: {
                let one = try c.world.receive(Particle.self, from: c.previous, tag: 501)
                try expect(one.sameData(expected[2]) && one.scratch == 0, "single particle \(one)")
            })
        try c.ringStep(
            send: { try c.world.send(mine, to: c.next, tag: 502) },
            receive: {
                let (values, _) = try c.world.receiveArray(of: Particle.self, from: c.previous, tag: 502)
                try expect(values.count == count && zip(values, expected).allSatisfy { $0.sameData($1) }, "receiveArray gave \(values)")
            })

        // Immediate and persistent requests.
        let inbox = MessageBuffer(repeating: Particle(position: .zero, id: 0, scratch: 55), count: count)
        var receive = try c.world.immediateReceive(into: inbox, from: c.previous, tag: 503)
        var send = try c.world.immediateSend(mine, to: c.next, tag: 503)
        _ = try send.wait()
        let immediateStatus = try receive.wait()
        try expect(immediateStatus.count(of: Particle.self) == count, "immediate status \(immediateStatus)")
        try expect(zip(inbox.array, expected).allSatisfy { $0.sameData($1) } && inbox.array.allSatisfy { $0.scratch == 55 },
            "immediate receive gave \(inbox.array)")
        let outbox = MessageBuffer(mine)
        let persistentInbox = MessageBuffer(repeating: Particle(position: .zero, id: 0, scratch: 33), count: count)
        var persistentReceive = try c.world.persistentReceive(into: persistentInbox, from: c.previous, tag: 504)
        var persistentSend = try c.world.persistentSend(outbox, to: c.next, tag: 504)
        for round in 0..<3 {
            outbox.withUnsafeMutableBufferPointer { $0[0].id = Int32(round) }
            try persistentReceive.start()
            try persistentSend.start()
            _ = try persistentSend.wait()
            _ = try persistentReceive.wait()
            let got = persistentInbox.array
            try expect(got[0].id == Int32(round) && got[1].sameData(expected[1]) && got.allSatisfy { $0.scratch == 33 },
                "persistent round \(round) gave \(got)")
        }
        return .passed
    },

    Scenario("datatype-struct-collectives") { c in
        let root = c.size - 1
        let mine = (0..<3).map { Particle.made(by: c.rank, $0) }
        let everyone = (0..<c.size).flatMap { rank in (0..<3).map { Particle.made(by: rank, $0) } }
        func same(_ a: [Particle], _ b: [Particle]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { $0.sameData($1) } }

        var shared = c.rank == root ? mine : [Particle](repeating: Particle(position: .zero, id: 0, scratch: 9), count: 3)
        try c.world.broadcast(&shared, root: root)
        try expect(same(shared, (0..<3).map { Particle.made(by: root, $0) }), "broadcast gave \(shared)")
        try expect(c.rank == root || shared.allSatisfy { $0.scratch == 9 }, "broadcast wrote the left-out field")

        let gathered = try c.world.gather(mine, root: root)
        try expect((gathered == nil) == (c.rank != root), "gather result only at the root")
        if let gathered { try expect(same(gathered, everyone), "gather gave \(gathered)") }
        try expect(same(try c.world.allGather(mine), everyone), "allGather of particles")

        // All-to-all: block r goes to rank r.
        let outgoing = (0..<c.size).map { Particle.made(by: c.rank, $0) }
        let incoming = try c.world.allToAll(outgoing)
        try expect(same(incoming, (0..<c.size).map { Particle.made(by: $0, c.rank) }), "allToAll gave \(incoming)")

        // Varying counts: rank r contributes r + 1 particles.
        let counts = (0..<c.size).map { $0 + 1 }
        let variable = (0...c.rank).map { Particle.made(by: c.rank, $0) }
        let expectedVariable = (0..<c.size).flatMap { rank in (0...rank).map { Particle.made(by: rank, $0) } }
        var all = [Particle](repeating: Particle(position: .zero, id: 0, scratch: 4), count: counts.reduce(0, +))
        try c.world.allGatherv(variable, into: &all, counts: counts)
        try expect(same(all, expectedVariable) && all.allSatisfy { $0.scratch == 4 }, "allGatherv gave \(all)")

        // Reductions with a user-defined operation on the struct, blocking and nonblocking.
        let total = try c.world.allReduce(mine, op: particleCombine)
        let expectedTotal = (0..<3).map { index in
            (0..<c.size).map { Particle.made(by: $0, index) }.dropFirst().reduce(Particle.made(by: 0, index)) {
                Particle(position: $0.position + $1.position, id: max($0.id, $1.id), scratch: 0)
            }
        }
        try expect(same(total, expectedTotal), "allReduce of particles gave \(total), expected \(expectedTotal)")
        var inPlace = mine.map { Particle(position: $0.position, id: $0.id, scratch: 21) }
        try c.world.allReduce(.inPlace(), into: &inPlace, op: particleCombine)
        try expect(same(inPlace, expectedTotal) && inPlace.allSatisfy { $0.scratch == 21 }, "in-place allReduce gave \(inPlace)")
        let reduced = try c.world.reduce(mine, op: particleCombine, root: root)
        if c.rank == root { try expect(reduced.map { same($0, expectedTotal) } == true, "reduce at the root gave \(String(describing: reduced))") }
        let prefix = try c.world.scan(mine[0], op: particleCombine)
        let expectedPrefix = (0...c.rank).map { Particle.made(by: $0, 0) }.dropFirst().reduce(Particle.made(by: 0, 0)) {
            Particle(position: $0.position + $1.position, id: max($0.id, $1.id), scratch: 0)
        }
        try expect(prefix.sameData(expectedPrefix), "scan gave \(prefix), expected \(expectedPrefix)")
        var request = try c.world.immediateAllReduce(mine, op: particleCombine)
        let immediate = try request.wait()
        try expect(same(immediate, expectedTotal), "immediateAllReduce of particles gave \(immediate)")
        var gatherRequest = try c.world.immediateAllGather(mine)
        try expect(same(try gatherRequest.wait(), everyone), "immediateAllGather of particles")
        return .passed
    },

    Scenario("datatype-strided-halo") { c in
        // A rows × columns row-major block per rank; column 0 goes to the next rank's last column.
        let rows = 6, columns = 5
        let column = try MessageLayout<Double>.column(rows: rows, columns: columns)
        try expect(column.elementCount == rows && column.datatype.size == rows * 8, "column layout \(column): \(column.elementCount) elements")
        func grid(_ rank: Int) -> [Double] { (0..<rows * columns).map { Double(rank * 1000 + $0) } }
        func afterHalo(_ rank: Int, from source: Int) -> [Double] {
            var values = grid(rank)
            for row in 0..<rows { values[row * columns + columns - 1] = grid(source)[row * columns] }
            return values
        }
        var values = grid(c.rank)
        try c.ringStep(
            send: { try c.world.send(values, layout: column, at: 0, to: c.next, tag: 600) },
            receive: {
                let status = try c.world.receive(into: &values, layout: column, at: columns - 1, from: c.previous, tag: 600)
                try expect(status.byteCount == rows * 8, "column status \(status)")
            })
        try expect(values == afterHalo(c.rank, from: c.previous), "blocking column exchange gave \(values)")

        // Send-receive both ways at once: column 1 to the previous rank, into column 0 from the next.
        values = grid(c.rank)
        try c.world.sendReceive(&values, sending: column, at: 1, to: c.previous, sendTag: 601, receiving: column, at: 0, from: c.next, receiveTag: 601)
        var expected = grid(c.rank)
        for row in 0..<rows { expected[row * columns] = grid(c.next)[row * columns + 1] }
        try expect(values == expected, "sendReceive of columns gave \(values)")

        // Nonblocking and persistent, with two columns per message (count 2 of a 1-column layout
        // moves columns 0 and 1: the extent is one row shorter than the block, so use a
        // two-column vector instead).
        let twoColumns = try MessageLayout<Double>.vector(count: rows, blockLength: 2, stride: columns)
        let block = MessageBuffer(grid(c.rank))
        let halo = MessageBuffer(grid(c.rank))
        var receive = try c.world.immediateReceive(into: halo, layout: twoColumns, at: columns - 2, from: c.previous, tag: 602)
        var send = try c.world.immediateSend(block, layout: twoColumns, at: 0, to: c.next, tag: 602)
        _ = try send.wait()
        _ = try receive.wait()
        expected = grid(c.rank)
        for row in 0..<rows {
            expected[row * columns + columns - 2] = grid(c.previous)[row * columns]
            expected[row * columns + columns - 1] = grid(c.previous)[row * columns + 1]
        }
        try expect(halo.array == expected, "immediate two-column exchange gave \(halo.array)")
        var persistentReceive = try c.world.persistentReceive(into: halo, layout: column, at: 2, from: c.previous, tag: 603)
        var persistentSend = try c.world.persistentSend(block, layout: column, at: 2, to: c.next, tag: 603)
        for round in 1...3 {
            block.withUnsafeMutableBufferPointer { $0[2] = Double(-round) }
            try persistentReceive.start()
            try persistentSend.start()
            _ = try persistentSend.wait()
            _ = try persistentReceive.wait()
            try expect(halo[2] == Double(-round) && halo[columns + 2] == grid(c.previous)[columns + 2], "persistent column round \(round)")
        }

        // An indexed layout: the diagonal, in reverse order.
        let diagonal = try MessageLayout<Double>.indexed(displacements: (0..<rows).reversed().map { $0 * columns + $0 % columns })
        let square = grid(c.rank)
        var landed = [Double](repeating: -1, count: rows)
        try c.ringStep(
            send: { try c.world.send(square, layout: diagonal, to: c.next, tag: 604) },
            receive: { try c.world.receive(into: &landed, from: c.previous, tag: 604) })
        let diagonalValues = (0..<rows).reversed().map { grid(c.previous)[$0 * columns + $0 % columns] }
        try expect(landed == diagonalValues, "indexed layout gave \(landed), expected \(diagonalValues)")
        return .passed
    },

    Scenario("datatype-large") { c in
        // Messages of many ring fragments (and, dense on one side, single-copy reads): columns of
        // a tall matrix and long particle arrays, every combination of strided and dense ends.
        // Receives are posted first (a large blocking send to oneself would wait for ever).
        let rows = 5000, columns = 3
        let column = try MessageLayout<Double>.column(rows: rows, columns: columns)
        func matrix(_ rank: Int) -> [Double] { (0..<rows * columns).map { Double(rank * 100_000 + $0) } }
        let mine = matrix(c.rank), previous = matrix(c.previous)
        func columnOf(_ values: [Double], _ index: Int) -> [Double] { (0..<rows).map { values[$0 * columns + index] } }
        // Strided to strided: column 0 into column 2.
        let landed = MessageBuffer(matrix(c.rank))
        var receive = try c.world.immediateReceive(into: landed, layout: column, at: 2, from: c.previous, tag: 710)
        try c.world.send(mine, layout: column, at: 0, to: c.next, tag: 710)
        _ = try receive.wait()
        var expected = matrix(c.rank)
        for row in 0..<rows { expected[row * columns + 2] = previous[row * columns] }
        try expect(landed.array == expected, "large column to column")
        // Dense to strided, strided to dense.
        let second = MessageBuffer(matrix(c.rank))
        receive = try c.world.immediateReceive(into: second, layout: column, at: 1, from: c.previous, tag: 711)
        try c.world.send(columnOf(mine, 1), to: c.next, tag: 711)
        _ = try receive.wait()
        expected = matrix(c.rank)
        for row in 0..<rows { expected[row * columns + 1] = previous[row * columns + 1] }
        try expect(second.array == expected, "large dense array into a column")
        let flat = MessageBuffer<Double>(repeating: -1, count: rows)
        receive = try c.world.immediateReceive(into: flat, from: c.previous, tag: 712)
        try c.world.send(mine, layout: column, at: 2, to: c.next, tag: 712)
        _ = try receive.wait()
        try expect(flat.array == columnOf(previous, 2), "large column into a dense array")
        // Nonblocking on both sides, the receive posted after the send has started.
        let count = 3000
        var send = try c.world.immediateSend((0..<count).map { Particle.made(by: c.rank, $0) }, to: c.next, tag: 713)
        try c.world.barrier()
        let inbox = MessageBuffer(repeating: Particle(position: .zero, id: 0, scratch: 12), count: count)
        receive = try c.world.immediateReceive(into: inbox, from: c.previous, tag: 713)
        _ = try receive.wait()
        _ = try send.wait()
        let got = inbox.array
        try expect(got.indices.allSatisfy { got[$0].sameData(Particle.made(by: c.previous, $0)) && got[$0].scratch == 12 },
            "large immediate particle exchange")
        return .passed
    },

    Scenario("datatype-subarray-hvector-resized") { c in
        // A rank's tile of a 6 × 8 row-major grid, sent as a subarray into a dense array and into
        // the same tile of the receiver's grid (everything else untouched).
        let (rows, columns) = (6, 8)
        func grid(_ rank: Int) -> [Double] { (0..<rows * columns).map { Double(rank * 1000 + $0) } }
        let tile = try MessageLayout<Double>.subarray(sizes: [rows, columns], subsizes: [4, 5], starts: [1, 2])
        try expect(tile.elementCount == 20 && tile.extentInElements == rows * columns, "tile \(tile)")
        let tileOf = { (values: [Double]) in (1..<5).flatMap { row in (2..<7).map { values[row * columns + $0] } } }
        var dense = [Double](repeating: -1, count: 20)
        try c.ringStep(
            send: { try c.world.send(grid(c.rank), layout: tile, to: c.next, tag: 720) },
            receive: { try c.world.receive(into: &dense, from: c.previous, tag: 720) })
        try expect(dense == tileOf(grid(c.previous)), "subarray into a dense array gave \(dense)")
        var mine = [Double](repeating: -1, count: rows * columns)
        try c.ringStep(
            send: { try c.world.send(grid(c.rank), layout: tile, to: c.next, tag: 721) },
            receive: { try c.world.receive(into: &mine, layout: tile, from: c.previous, tag: 721) })
        let previous = grid(c.previous)
        let inTile = { (index: Int) in (1..<5).contains(index / columns) && (2..<7).contains(index % columns) }
        try expect(mine.indices.allSatisfy { mine[$0] == (inTile($0) ? previous[$0] : -1) }, "subarray into a subarray gave \(mine)")

        // Column-major 3-D block, immediate on both sides.
        let cube = try MessageLayout<Int32>.subarray(sizes: [3, 4, 5], subsizes: [2, 2, 3], starts: [1, 2, 1], order: .columnMajor)
        let values = (0..<60).map { Int32(c.rank * 100 + $0) }
        let landed = MessageBuffer<Int32>(repeating: -1, count: 12)
        var receive = try c.world.immediateReceive(into: landed, from: c.previous, tag: 722)
        var send = try c.world.immediateSend(values, layout: cube, to: c.next, tag: 722)
        _ = try send.wait()
        _ = try receive.wait()
        var expected: [Int32] = []
        for k in 1..<4 { for j in 2..<4 { for i in 1..<3 { expected.append(Int32(c.previous * 100 + i + 3 * (j + 4 * k))) } } }
        try expect(landed.array == expected, "column-major 3-D block gave \(landed.array), expected \(expected)")

        // A column resized to one element: `columns` items are every column in turn, so the
        // receiver gets the transpose.
        let column = try MessageLayout<Double>.column(rows: rows, columns: columns).resized(extent: 1)
        var transposed = [Double](repeating: -1, count: rows * columns)
        try c.ringStep(
            send: { try c.world.send(grid(c.rank), layout: column, count: columns, to: c.next, tag: 723) },
            receive: { try c.world.receive(into: &transposed, from: c.previous, tag: 723) })
        let transpose = (0..<columns).flatMap { col in (0..<rows).map { previous[$0 * columns + col] } }
        try expect(transposed == transpose, "resized columns gave \(transposed)")

        // An element type whose datatype is an hvector resized to its stride: only `a` and `c`
        // travel, through point-to-point and an all-gather.
        let quads = (0..<3).map { Quad(a: Int32(c.rank * 10 + $0), b: -5, c: Int32(-c.rank - $0), d: -6) }
        var inbox = [Quad](repeating: Quad(a: 0, b: 7, c: 0, d: 8), count: 3)
        try c.ringStep(
            send: { try c.world.send(quads, to: c.next, tag: 724) },
            receive: { try c.world.receive(into: &inbox, from: c.previous, tag: 724) })
        try expect(inbox.indices.allSatisfy { inbox[$0] == Quad(a: Int32(c.previous * 10 + $0), b: 7, c: Int32(-c.previous - $0), d: 8) },
            "hvector quads gave \(inbox)")
        var everyone = [Quad](repeating: Quad(a: 0, b: 1, c: 0, d: 2), count: c.size)
        try c.world.allGather(Quad(a: Int32(c.rank), b: 9, c: Int32(2 * c.rank), d: 9), into: &everyone)
        try expect(everyone.indices.allSatisfy { everyone[$0] == Quad(a: Int32($0), b: 1, c: Int32(2 * $0), d: 2) }, "all-gathered quads \(everyone)")

        // Empty datatypes and items (count 0, block length 0) travel as empty messages.
        let none = try MessageLayout<Double>.vector(count: 0, blockLength: 2, stride: 3)
        var untouched = [Double](repeating: 4, count: 3)
        var status = Status.null
        try c.ringStep(
            send: { try c.world.send([1.0, 2, 3], layout: none, count: 5, to: c.next, tag: 725) },
            receive: { status = try c.world.receive(into: &untouched, layout: none, count: 2, from: c.previous, tag: 725) })
        try expect(status.byteCount == 0 && untouched == [4, 4, 4] && status.count(of: none.datatype) == 0, "empty datatype: \(status), \(untouched)")
        // Overlapping blocks may be sent (receiving into them is erroneous).
        let overlapping = try MessageLayout<Double>.vector(count: 3, blockLength: 2, stride: 1)
        var four = [Double](repeating: 0, count: 6)
        try c.ringStep(
            send: { try c.world.send([10.0, 11, 12, 13], layout: overlapping, to: c.next, tag: 726) },
            receive: { try c.world.receive(into: &four, from: c.previous, tag: 726) })
        try expect(four == [10, 11, 11, 12, 12, 13], "overlapping vector gave \(four)")
        try c.world.barrier()
        return .passed
    },

    Scenario("datatype-errors") { c in
        let column = try MessageLayout<Double>.column(rows: 4, columns: 3)
        let values = [Double](repeating: 1, count: 12)
        try expectError(.buffer, "a column past the matrix's last column") {
            try c.world.send(values, layout: column, at: 3, to: c.next, tag: 700)
        }
        try expectError(.buffer, "two columns from the last one") {
            try c.world.send(values, layout: column, count: 2, at: 2, to: c.next, tag: 700)
        }
        try expectError(.count, "a negative count of layout items") {
            try c.world.send(values, layout: column, count: -1, to: c.next, tag: 700)
        }
        // Truncation: three particles into room for two; the job goes on.
        let three = (0..<3).map { Particle.made(by: c.rank, $0) }
        var two = [Particle](repeating: Particle(position: .zero, id: 0, scratch: 0), count: 2)
        try c.ringStep(
            send: { try c.world.send(three, to: c.next, tag: 701) },
            receive: { try expectError(.truncate, "three particles into two") { try c.world.receive(into: &two, from: c.previous, tag: 701) } })
        try c.world.barrier()
        return .passed
    },
]
