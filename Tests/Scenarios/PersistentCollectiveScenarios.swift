import MPI

/// Two 32-bit fields and no padding: a derived datatype whose elements are dense, which the
/// shared-memory backend plans once like a built-in type.
struct DensePair: MessageElement, Equatable {
    var a: Int32
    var b: Int32
    static let datatype = Datatype.structure(of: DensePair.self, .field(\.a), .field(\.b))
}

/// Overwrites `buffer` with `values` (between activations, when nothing has it on loan).
private func fill<T: MessageElement>(_ buffer: MessageBuffer<T>, _ values: [T]) {
    buffer.withUnsafeMutableBufferPointer { elements in
        precondition(elements.count == values.count)
        for (index, value) in values.enumerated() { elements[index] = value }
    }
}

/// Persistent collectives (MPI-4.1 §6.13): made once in collective order, started again and
/// again with the data changed between activations, in any order on each rank.
let persistentCollectiveScenarios: [Scenario] = [
    Scenario("persistent-collectives") { c in
        let n = c.size, me = c.rank
        let world = c.world
        // Every kind, made in the same order everywhere, kept in one list.
        let allReduce = MessageBuffer<Int64>(repeating: 0, count: 4)
        let broadcast = MessageBuffer<Int64>(repeating: 0, count: 3)
        let reduceSend = MessageBuffer<Int64>(repeating: 0, count: 2), reduceResult = MessageBuffer<Int64>(repeating: 0, count: 2)
        let gatherSend = MessageBuffer<Int64>(repeating: 0, count: 2), gatherResult = MessageBuffer<Int64>(repeating: 0, count: 2 * n)
        let scatterSend = MessageBuffer<Int64>(repeating: 0, count: 2 * n), scatterResult = MessageBuffer<Int64>(repeating: 0, count: 2)
        let allGatherSend = MessageBuffer<Int64>(repeating: 0, count: 1), allGatherResult = MessageBuffer<Int64>(repeating: 0, count: n)
        let allToAllSend = MessageBuffer<Int64>(repeating: 0, count: n), allToAllResult = MessageBuffer<Int64>(repeating: 0, count: n)
        let scanSend = MessageBuffer<Int64>(repeating: 0, count: 1), scanResult = MessageBuffer<Int64>(repeating: 0, count: 1)
        let exscanResult = MessageBuffer<Int64>(repeating: 0, count: 1)
        let blockSend = MessageBuffer<Int64>(repeating: 0, count: 2 * n), blockResult = MessageBuffer<Int64>(repeating: 0, count: 2)
        let counts = (0..<n).map { $0 % 2 + 1 }
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        let scatterSend2 = MessageBuffer<Int64>(repeating: 0, count: counts.reduce(0, +)), scatterResult2 = MessageBuffer<Int64>(repeating: 0, count: counts[me])
        let reduceScatterResult = MessageBuffer<Int64>(repeating: 0, count: counts[me])
        let gathervCounts = (0..<n).map { $0 % 3 + 1 }
        let gathervSend = MessageBuffer<Int64>(repeating: 0, count: gathervCounts[me])
        let gathervResult = MessageBuffer<Int64>(repeating: -1, count: gathervCounts.reduce(0, +) + n)
        let gathervDisplacements = gathervCounts.indices.map { gathervCounts[..<$0].reduce(0, +) + $0 }  // a gap after each block
        let scattervSend = MessageBuffer<Int64>(repeating: 0, count: 3 * n)
        let scattervResult = MessageBuffer<Int64>(repeating: 0, count: counts[me])
        let allGathervResult = MessageBuffer<Int64>(repeating: 0, count: gathervCounts.reduce(0, +))
        let sendCounts = (0..<n).map { (me + $0) % 2 + 1 }, receiveCounts = (0..<n).map { ($0 + me) % 2 + 1 }
        let allToAllvSend = MessageBuffer<Int64>(repeating: 0, count: sendCounts.reduce(0, +))
        let allToAllvResult = MessageBuffer<Int64>(repeating: 0, count: receiveCounts.reduce(0, +))
        let fixed = MessageBuffer<Int64>(repeating: 0, count: 2)

        var list = RequestList()
        list.add(try world.persistentAllReduce(.inPlace(), into: allReduce, op: .sum))
        list.add(try world.persistentBroadcast(broadcast, root: n - 1))
        list.add(try world.persistentReduce(reduceSend, into: reduceResult, op: .max, root: 0))
        list.add(try world.persistentGather(gatherSend, into: gatherResult, root: n / 2))
        list.add(try world.persistentScatter(scatterSend, into: scatterResult, root: 0))
        list.add(try world.persistentAllGather(allGatherSend, into: allGatherResult))
        list.add(try world.persistentAllToAll(allToAllSend, into: allToAllResult))
        list.add(try world.persistentScan(scanSend, into: scanResult, op: .sum))
        list.add(try world.persistentExclusiveScan(scanSend, into: exscanResult, op: .sum))
        list.add(try world.persistentReduceScatterBlock(blockSend, into: blockResult, op: .sum))
        list.add(try world.persistentReduceScatter(scatterSend2, into: reduceScatterResult, counts: counts, op: .sum))
        list.add(try world.persistentGatherv(gathervSend, into: gathervResult, counts: gathervCounts, displacements: gathervDisplacements, root: 0))
        list.add(try world.persistentScatterv(scattervSend, counts: counts, displacements: (0..<n).map { 3 * $0 }, into: scattervResult, root: n - 1))
        list.add(try world.persistentAllGatherv(gathervSend, into: allGathervResult, counts: gathervCounts))
        list.add(try world.persistentAllToAllv(allToAllvSend, sendCounts: sendCounts, into: allToAllvResult, receiveCounts: receiveCounts))
        list.add(try world.persistentBarrier())
        // An array as the send data is copied when the request is made: every round sends it.
        list.add(try world.persistentAllReduce([Int64(me), 1], into: fixed, op: .sum))

        for round in 1...3 {
            let r = Int64(round)
            fill(allReduce, (0..<4).map { Int64(me * 10 + $0) + r })
            fill(broadcast, me == n - 1 ? [r, 2 * r, Int64(me)] : [-1, -1, -1])
            fill(reduceSend, [Int64(me) * r, Int64(me) * r + 1])
            fill(gatherSend, [Int64(me), r])
            if me == 0 { fill(scatterSend, (0..<2 * n).map { Int64($0) * r }) }
            fill(allGatherSend, [Int64(me) + r])
            fill(allToAllSend, (0..<n).map { Int64(me * 100 + $0) + r })
            fill(scanSend, [Int64(me) + r])
            fill(exscanResult, [-7])
            fill(blockSend, [Int64](repeating: r, count: 2 * n))
            fill(scatterSend2, (0..<scatterSend2.count).map { Int64($0) + r })
            fill(gathervSend, [Int64](repeating: Int64(me * 10) + r, count: gathervCounts[me]))
            fill(gathervResult, [Int64](repeating: -1, count: gathervResult.count))
            if me == n - 1 { fill(scattervSend, (0..<3 * n).map { Int64($0) * 10 + r }) }
            var values: [Int64] = []
            for peer in 0..<n { for k in 0..<sendCounts[peer] { values.append(Int64(me * 1000 + peer * 10 + k) + r) } }
            fill(allToAllvSend, values)

            try list.startAll()
            _ = try list.waitAll()

            try expect(allReduce.array == (0..<4).map { i in (0..<n).reduce(Int64(0)) { $0 + Int64($1 * 10 + i) + r } },
                "round \(round): allReduce in place gave \(allReduce.array)")
            try expect(broadcast.array == [r, 2 * r, Int64(n - 1)], "round \(round): broadcast gave \(broadcast.array)")
            if me == 0 {
                try expect(reduceResult.array == [Int64(n - 1) * r, Int64(n - 1) * r + 1], "round \(round): reduce .max gave \(reduceResult.array)")
            }
            if me == n / 2 {
                try expect(gatherResult.array == (0..<n).flatMap { [Int64($0), r] }, "round \(round): gather gave \(gatherResult.array)")
            }
            try expect(scatterResult.array == [Int64(2 * me) * r, Int64(2 * me + 1) * r], "round \(round): scatter gave \(scatterResult.array)")
            try expect(allGatherResult.array == (0..<n).map { Int64($0) + r }, "round \(round): allGather gave \(allGatherResult.array)")
            try expect(allToAllResult.array == (0..<n).map { Int64($0 * 100 + me) + r }, "round \(round): allToAll gave \(allToAllResult.array)")
            try expect(scanResult[0] == (0...me).reduce(Int64(0)) { $0 + Int64($1) + r }, "round \(round): scan gave \(scanResult[0])")
            let exscan = me == 0 ? -7 : (0..<me).reduce(Int64(0)) { $0 + Int64($1) + r }
            try expect(exscanResult[0] == exscan, "round \(round): exclusive scan gave \(exscanResult[0]), expected \(exscan)")
            try expect(blockResult.array == [Int64(n) * r, Int64(n) * r], "round \(round): reduceScatterBlock gave \(blockResult.array)")
            try expect(reduceScatterResult.array == (0..<counts[me]).map { Int64(n) * (Int64(offsets[me] + $0) + r) },
                "round \(round): reduceScatter gave \(reduceScatterResult.array)")
            if me == 0 {
                var expected = [Int64](repeating: -1, count: gathervResult.count)
                for peer in 0..<n { for k in 0..<gathervCounts[peer] { expected[gathervDisplacements[peer] + k] = Int64(peer * 10) + r } }
                try expect(gathervResult.array == expected, "round \(round): gatherv gave \(gathervResult.array)")
            }
            try expect(scattervResult.array == (0..<counts[me]).map { Int64(3 * me + $0) * 10 + r }, "round \(round): scatterv gave \(scattervResult.array)")
            try expect(allGathervResult.array == (0..<n).flatMap { peer in [Int64](repeating: Int64(peer * 10) + r, count: gathervCounts[peer]) },
                "round \(round): allGatherv gave \(allGathervResult.array)")
            var expected: [Int64] = []
            for peer in 0..<n { for k in 0..<receiveCounts[peer] { expected.append(Int64(peer * 1000 + me * 10 + k) + r) } }
            try expect(allToAllvResult.array == expected, "round \(round): allToAllv gave \(allToAllvResult.array)")
            try expect(fixed.array == [Int64(n * (n - 1) / 2), Int64(n)], "round \(round): all-reduce of a copied array gave \(fixed.array)")
        }
        try list.removeAll()
        return .passed
    },

    Scenario("persistent-collectives-order-and-errors") { c in
        let world = c.world, n = c.size, me = c.rank
        let a = MessageBuffer<Int32>(repeating: 0, count: 2), b = MessageBuffer<Int32>(repeating: 0, count: 5)
        var first = try world.persistentAllReduce(.inPlace(), into: a, op: .sum)
        var second = try world.persistentBroadcast(b, root: 0)
        for round in Int32(1)...Int32(4) {
            fill(a, [Int32(me) + round, round])
            fill(b, me == 0 ? [Int32](repeating: round * 3, count: 5) : [Int32](repeating: -1, count: 5))
            // Started and completed in a different order on odd and even ranks: each request's
            // messages match only its own.
            if me % 2 == 0 {
                try first.start()
                try second.start()
                _ = try second.wait()
                _ = try first.wait()
            } else {
                try second.start()
                try first.start()
                // A blocking collective on the same communicator while both are active.
                try expect(try world.allReduce(Int32(1), op: .sum) == Int32(n), "blocking allReduce between starts")
                _ = try first.wait()
                _ = try second.wait()
            }
            if me % 2 == 0 { try expect(try world.allReduce(Int32(1), op: .sum) == Int32(n), "blocking allReduce after the waits") }
            try expect(a.array == [Int32(n * (n - 1) / 2) + Int32(n) * round, Int32(n) * round], "round \(round): allReduce gave \(a.array)")
            try expect(b.array == [Int32](repeating: round * 3, count: 5), "round \(round): broadcast gave \(b.array)")
        }
        // Polling completes an activation too, and an inactive persistent request tests done.
        try first.start()
        var polls = 0
        while try first.test() == nil { polls += 1 }
        try expect(try first.test() != nil, "an inactive persistent collective tests as complete (polled \(polls) times)")

        // Starting an active request throws and leaves it running.
        try second.start()
        try expectError(.request, "starting a persistent collective while it is active") { try second.start() }
        _ = try second.wait()

        // Bad arguments throw when the request is made, on every rank alike.
        try expectError(.root, "a persistent broadcast to root \(n)") { _ = try world.persistentBroadcast(b, root: n) }
        try expectError(.count, "a persistent reduceScatterBlock with a short send") {
            _ = try world.persistentReduceScatterBlock(MessageBuffer<Int32>(repeating: 0, count: 2 * n - 1), into: a, op: .sum)
        }
        if me != 0 {
            try expectError(.buffer, "a persistent gather in place off the root") {
                _ = try world.persistentGather(.inPlace(), into: b, root: 0)
            }
        }

        // Derived datatypes: with gaps (staged at each start on shared memory) and dense.
        let particles = MessageBuffer<Particle>(repeating: Particle(position: .zero, id: 0, scratch: 5), count: 2 * n)
        let mine = MessageBuffer<Particle>(repeating: Particle(position: .zero, id: 0, scratch: 5), count: 2)
        var gather = try world.persistentAllGather(mine, into: particles)
        let summed = MessageBuffer<Particle>(repeating: Particle(position: .zero, id: 0, scratch: 9), count: 1)
        var combine = try world.persistentAllReduce(mine[0..<1], into: summed, op: particleCombine)
        let pairs = MessageBuffer<DensePair>(repeating: DensePair(a: 0, b: 0), count: n)
        var pairGather = try world.persistentAllGather([DensePair(a: Int32(me), b: -Int32(me))], into: pairs)
        for round in 1...3 {
            fill(mine, (0..<2).map { Particle.made(by: me * round, $0) })
            try gather.start()
            _ = try gather.wait()
            try expect(zip(particles.array, (0..<n).flatMap { peer in (0..<2).map { Particle.made(by: peer * round, $0) } }).allSatisfy { $0.sameData($1) },
                "round \(round): persistent allGather of particles gave \(particles.array.map(\.id))")
            try expect(particles.array.allSatisfy { $0.scratch == 5 }, "round \(round): the untravelled field changed")
            try combine.start()
            _ = try combine.wait()
            let ids = summed[0].id, sum = summed[0].position.x
            try expect(ids == Int32((n - 1) * round * 1000) && sum == Double((0..<n).reduce(0) { $0 + $1 * round }),
                "round \(round): persistent custom all-reduce of particles gave id \(ids), x \(sum)")
            try pairGather.start()
            _ = try pairGather.wait()
            try expect(pairs.array == (0..<n).map { DensePair(a: Int32($0), b: -Int32($0)) }, "round \(round): dense pairs gave \(pairs.array)")
        }

        // On a communicator of its own, freed only after the request is dropped.
        let halves = try world.split(color: me % 2, key: me)!
        let local = MessageBuffer<Int32>(repeating: 0, count: 1)
        var onHalf = try halves.persistentAllReduce(.inPlace(), into: local, op: .sum)
        for round in Int32(1)...Int32(2) {
            fill(local, [round])
            try onHalf.start()
            _ = try onHalf.wait()
            try expect(local[0] == round * Int32(halves.size), "round \(round): all-reduce on a split gave \(local[0])")
        }
        _ = consume onHalf

        // A persistent collective outlives its communicator's handle: MPI frees the
        // communicator only once no request refers to it (MPI-4.1 §7.4.3).
        let values = MessageBuffer<Int32>(repeating: 0, count: 2)
        var outliving = try { () throws(MPIError) -> Request in
            let copy = try world.duplicate()
            return try copy.persistentAllReduce(.inPlace(), into: values, op: .sum)
        }()
        for round in Int32(1)...Int32(2) {
            fill(values, [round, Int32(me)])
            try outliving.start()
            _ = try outliving.wait()
            try expect(values.array == [round * Int32(n), Int32(n * (n - 1) / 2)], "round \(round) after the communicator was dropped: \(values.array)")
        }
        // The same for an immediate collective and for persistent point-to-point requests.
        let shared = MessageBuffer<Int32>(repeating: 1, count: 1)
        var pendingSum = try { () throws(MPIError) -> Request in
            try world.duplicate().immediateAllReduce(.inPlace(), into: shared, op: .sum)
        }()
        _ = try pendingSum.wait()
        try expect(shared[0] == Int32(n), "an immediate all-reduce on a dropped duplicate gave \(shared[0])")
        let outbox = MessageBuffer<Int32>(repeating: 0, count: 1), inbox = MessageBuffer<Int32>(repeating: -1, count: 1)
        var pair = try { () throws(MPIError) -> RequestList in
            let copy = try world.duplicate()
            var list = RequestList()
            list.add(try copy.persistentReceive(into: inbox, from: c.previous, tag: 7))
            list.add(try copy.persistentSend(outbox, to: c.next, tag: 7))
            return list
        }()
        for round in Int32(1)...Int32(2) {
            fill(outbox, [Int32(me) * 10 + round])
            try pair.startAll()
            _ = try pair.waitAll()
            try expect(inbox[0] == Int32(c.previous) * 10 + round, "persistent point-to-point on a dropped duplicate gave \(inbox[0])")
        }
        try world.barrier()
        return .passed
    },
]
