import MPI

// One-sided communication (MPI-4.1 chapter 12): every operation under every synchronization
// mode, atomicity under contention, shared windows, and the errors, written once for both
// backends and any job size.

/// A value for element `index` of `rank`'s window that no other rank or element has.
private func mark(_ rank: Int, _ index: Int) -> Int64 { Int64(rank * 1000 + index) }

let oneSidedScenarios: [Scenario] = [
    Scenario("window-fence") { c in
        // Windows of different sizes per rank: rank r exposes r + 4 elements.
        let window = try Window<Int64>.allocate(count: c.rank + 4, initialValue: -1, on: c.world)
        try expect(window.count == c.rank + 4 && window.count(of: c.next) == c.next + 4, "window counts: \(window.counts)")
        try expect(window.size == c.size && window.rank == c.rank && window.displacementUnit == 8, "window \(window)")
        try expect(window.localMemory.array == [Int64](repeating: -1, count: c.rank + 4), "initial memory \(window.localMemory.array)")
        let gotten = MessageBuffer<Int64>(repeating: 0, count: 3)
        try window.fence(.noPrecede)
        try window.put((0..<3).map { mark(c.rank, $0) }, to: c.next, at: 1)
        try window.put([Int64(99)], to: Communicator.nullProcess)
        try window.fence()
        try expect(window.localMemory.array[1...3] == ArraySlice((0..<3).map { mark(c.previous, $0) }), "after fence: \(window.localMemory.array)")
        // Gets and accumulates in the next fence epoch.
        try window.get(into: gotten, from: c.next, at: 1)
        try window.accumulate([Int64(1)], to: 0, at: 0, op: .sum)
        try window.fence(.noSucceed)
        try expect(gotten.array == (0..<3).map { mark(c.rank, $0) }, "get after fence: \(gotten.array)")
        if c.rank == 0 {
            try expect(window.localMemory[0] == Int64(-1 + c.size), "accumulated sum on rank 0: \(window.localMemory.array)")
        }
        // The scoped form.
        let values = try window.withFence { () throws -> [Int64] in
            try window.accumulate([Int64(c.rank)], to: c.next, at: 0, op: .replace)
            return [1]
        }
        try expect(values == [1] && window.localMemory[0] == Int64(c.previous), "replace in withFence: \(window.localMemory.array)")
        window.name = "plate halo"
        try expect(window.name == "plate halo" && "\(window)".contains("plate halo"), "window name: \(window)")
        let group = try window.group
        try expect(group == (try c.world.group), "window group \(group)")
        try window.free()
        return .passed
    },

    Scenario("window-every-mode") { c in
        // Every operation under every synchronization mode, each rank on the next rank's window:
        // put, accumulate, getAccumulate, get and compareAndSwap with a result buffer (the forms
        // MPI allows in any epoch), and in the passive modes the request-based forms too.
        let window = try Window<Int64>.allocate(count: 8, initialValue: 0, on: c.world)
        let initial: [Int64] = [0, 10, 20, 30, 40, 50, 60, 70]
        for mode in ["fence", "pscw", "lock", "lockAll"] {
            try window.withLock(rank: c.rank) { window.localMemory.withUnsafeMutableBufferPointer { for i in 0..<8 { $0[i] = initial[i] } } }
            try c.world.barrier()
            let swapped = MessageBuffer<Int64>(repeating: -1, count: 1)
            let fetched = MessageBuffer<Int64>(repeating: -1, count: 1)
            let read = MessageBuffer<Int64>(repeating: -1, count: 1)
            let requested = MessageBuffer<Int64>(repeating: -1, count: 1)
            switch mode {
            case "fence": try window.fence()
            case "pscw":
                try window.post(ranks: [c.previous])
                try window.start(ranks: [c.next])
            case "lock": try window.lock(rank: c.next)
            default: try window.lockAll()
            }
            try window.put([mark(c.rank, 0)], to: c.next, at: 0)
            try window.accumulate([Int64(5)], to: c.next, at: 1, op: .sum)
            try window.getAccumulate([Int64(7)], into: swapped, from: c.next, at: 2, op: .replace)
            try window.get(into: read, from: c.next, at: 3)
            try window.compareAndSwap(mark(c.rank, 4), ifEqualTo: 40, into: fetched, from: c.next, at: 4)
            if mode == "lock" || mode == "lockAll" {
                var put = try window.immediatePut([Int64(-5)], to: c.next, at: 5)
                var accumulate = try window.immediateAccumulate([Int64(1)], to: c.next, at: 6, op: .sum)
                var getAccumulate = try window.immediateGetAccumulate([Int64(0)], into: requested, from: c.next, at: 7, op: .noOp)
                _ = try put.wait()
                _ = try accumulate.wait()
                _ = try getAccumulate.wait()
            }
            switch mode {
            case "fence": try window.fence(.noSucceed)
            case "pscw":
                try window.complete()
                try window.wait()
            case "lock": try window.unlock(rank: c.next)
            default: try window.unlockAll()
            }
            try c.world.barrier()
            try expect(swapped[0] == 20 && read[0] == 30 && fetched[0] == 40, "\(mode): results \(swapped[0]), \(read[0]), \(fetched[0]), want 20, 30, 40")
            try window.withLock(rank: c.rank, .shared) {
                var want: [Int64] = [mark(c.previous, 0), 15, 7, 30, mark(c.previous, 4), 50, 60, 70]
                if mode == "lock" || mode == "lockAll" {
                    want[5] = -5
                    want[6] = 61
                    try expect(requested[0] == 70, "\(mode): immediateGetAccumulate(.noOp) read \(requested[0]), want 70")
                }
                try expect(window.localMemory.array == want, "\(mode): memory \(window.localMemory.array), want \(want)")
            }
            try c.world.barrier()
        }
        return .passed
    },

    Scenario("window-pscw") { c in
        let window = try Window<Int32>.allocate(count: 2, initialValue: 0, on: c.world)
        for round in 0..<3 {
            // Exposed to the previous rank, accessing the next: a ring of epochs.
            try window.post(ranks: [c.previous])
            try window.start(ranks: [c.next])
            try window.put([Int32(c.rank * 10 + round)], to: c.next, at: 0)
            try window.accumulate([Int32(round)], to: c.next, at: 1, op: .sum)
            try window.complete()
            try window.wait()
            try expect(window.localMemory[0] == Int32(c.previous * 10 + round), "round \(round) put: \(window.localMemory.array)")
        }
        try expect(window.localMemory[1] == 0 + 1 + 2, "accumulated rounds: \(window.localMemory.array)")
        // Groups, test(), and the scoped forms.
        let group = try c.world.group
        try window.post(try group.including([c.previous]))
        try window.start(try group.including([c.next]))
        let fromNext = MessageBuffer<Int32>(repeating: -1, count: 1)
        try window.get(into: fromNext, from: c.next, at: 0)
        try window.complete()
        while try !window.test() {}
        try expect(fromNext[0] == Int32(c.rank * 10 + 2), "get in a PSCW epoch: \(fromNext[0])")
        try window.withExposure(to: [c.previous]) {
            try window.withAccess(to: [c.next]) { try window.put([Int32(-5)], to: c.next, at: 1) }
        }
        try expect(window.localMemory[1] == -5, "put in scoped PSCW: \(window.localMemory.array)")
        // Every rank exposes to every other at once (a complete graph of epochs).
        let everyone = Array(0..<c.size)
        try window.post(ranks: everyone)
        try window.start(ranks: everyone)
        for target in everyone { try window.accumulate([Int32(1)], to: target, at: 0, op: .sum) }
        try window.complete()
        try window.wait()
        try expect(window.localMemory[0] == Int32(c.previous * 10 + 2) + Int32(c.size), "all-to-all PSCW: \(window.localMemory.array)")
        return .passed
    },

    Scenario("window-lock") { c in
        let window = try Window<Int64>.allocate(count: 4, initialValue: 0, on: c.world)
        // Exclusive locks: each rank writes its marks into the next rank's window.
        try window.lock(rank: c.next)
        try window.put((0..<4).map { mark(c.rank, $0) }, to: c.next)
        try window.unlock(rank: c.next)
        try c.world.barrier()
        try window.lock(rank: c.rank, .shared)
        try expect(window.localMemory.array == (0..<4).map { mark(c.previous, $0) }, "after exclusive-lock puts: \(window.localMemory.array)")
        try window.unlock(rank: c.rank)
        try c.world.barrier()
        // Shared locks and the flushing get; every rank reads every rank.
        try window.lockAll()
        for target in 0..<c.size {
            let values = try window.get(count: 2, from: target, at: 2)
            try expect(values == [mark((target + c.size - 1) % c.size, 2), mark((target + c.size - 1) % c.size, 3)], "lockAll get from \(target): \(values)")
        }
        try c.world.barrier()
        // Request-based operations complete at wait.
        let into = MessageBuffer<Int64>(repeating: 0, count: 2)
        var put = try window.immediatePut([Int64(7), Int64(8)], to: c.next, at: 0)
        _ = try put.wait()
        try window.flush(rank: c.next)
        var get = try window.immediateGet(into: into, from: c.next, at: 0)
        _ = try get.wait()
        try expect(into.array == [7, 8], "immediateGet after immediatePut and flush: \(into.array)")
        var accumulate = try window.immediateAccumulate([Int64(1), Int64(1)], to: c.next, at: 2, op: .sum)
        _ = try accumulate.wait()
        try window.flushAll()
        try window.flushLocalAll()
        try window.flushLocal(rank: c.next)
        try window.unlockAll()
        try c.world.barrier()
        try window.withLock(rank: c.rank, .shared) {
            try expect(window.localMemory.array == [7, 8, mark(c.previous, 2) + 1, mark(c.previous, 3) + 1], "after request-based ops: \(window.localMemory.array)")
        }
        try c.world.barrier()
        // A body that throws still unlocks: the lock can be taken again at once.
        struct Stop: Error {}
        do {
            try window.withLock(rank: c.next) { throw Stop() }
        } catch is Stop {}
        try window.withLock(rank: c.next, .exclusive) { try window.put([Int64(0)], to: c.next, at: 3) }
        try c.world.barrier()
        return .passed
    },

    Scenario("window-atomics") { c in
        // Every rank increments one counter on rank 0, through each accumulate path: 8-byte
        // integers (hardware atomics on shared memory), 4-byte integers and doubles (the
        // accumulate lock and compare-exchange loops).
        let counter = try Window<Int64>.allocate(count: 1, initialValue: 0, on: c.world)
        let narrow = try Window<Int32>.allocate(count: 1, initialValue: 0, on: c.world)
        let real = try Window<Double>.allocate(count: 2, initialValue: 0, on: c.world)
        let increments = 10_000
        var fetchedSum: Int64 = 0
        try counter.lockAll()
        for _ in 0..<increments { fetchedSum &+= try counter.fetchAndOp(1, from: 0, op: .sum) }
        try counter.unlockAll()
        try narrow.withLock(rank: 0, .shared) {
            for _ in 0..<1000 { _ = try narrow.fetchAndOp(2, from: 0, op: .sum) }
        }
        try real.withLockAll {
            for _ in 0..<1000 { try real.accumulate([0.5], to: 0, op: .sum) }
            _ = try real.fetchAndOp(Double(c.rank), from: 0, at: 1, op: .max)
        }
        try c.world.barrier()
        let total = Int64(increments * c.size)
        if c.rank == 0 {
            try counter.withLock(rank: 0, .shared) {
                try expect(counter.localMemory[0] == total, "counter after \(c.size)×\(increments) fetchAndOp(+1): \(counter.localMemory[0])")
            }
            try narrow.withLock(rank: 0) {
                try expect(narrow.localMemory[0] == Int32(2000 * c.size), "Int32 counter: \(narrow.localMemory[0])")
            }
            try real.withLock(rank: 0) {
                try expect(real.localMemory[0] == 500 * Double(c.size) && real.localMemory[1] == Double(c.size - 1),
                    "Double accumulations: \(real.localMemory.array)")
            }
        }
        // Every value 0..<total was fetched exactly once, so the fetched values sum to total(total-1)/2.
        let allFetched = try c.world.allReduce(fetchedSum, op: .sum)
        try expect(allFetched == total * (total - 1) / 2, "fetched values sum to \(allFetched), want \(total * (total - 1) / 2)")
        // Bitwise and min/max accumulates, and the noOp read.
        try counter.withLockAll {
            _ = try counter.fetchAndOp(Int64(1) << (c.rank % 60), from: 0, op: .bitwiseOr)
        }
        try c.world.barrier()
        let bits = try counter.withLock(rank: 0, .shared) { try counter.fetchAndOp(0, from: 0, op: .noOp) }
        var want = total
        for rank in 0..<c.size { want |= Int64(1) << (rank % 60) }
        try expect(bits == want, "bitwiseOr accumulates: \(bits), want \(want)")
        return .passed
    },

    Scenario("window-compare-and-swap") { c in
        // A spin lock on rank 0's word 0 guarding a plain counter in word 1 (a get and a put):
        // mutual exclusion is right only if compareAndSwap is atomic.
        let window = try Window<Int64>.allocate(count: 3, initialValue: 0, on: c.world)
        let rounds = c.size > 4 ? 40 : 200
        let me = Int64(c.rank + 1)
        try window.lockAll()
        for _ in 0..<rounds {
            while try window.compareAndSwap(me, ifEqualTo: 0, from: 0) != 0 {}
            let value = try window.get(count: 1, from: 0, at: 1)[0]
            try window.put([value + 1], to: 0, at: 1)
            try window.flush(rank: 0)
            let released = try window.compareAndSwap(0, ifEqualTo: me, from: 0)
            try expect(released == me, "the lock word held \(released) while rank \(c.rank) held the lock")
        }
        // The deferred form, completed by a flush: exactly one rank finds word 2 still 0.
        let result = MessageBuffer<Int64>(repeating: -1, count: 1)
        try window.compareAndSwap(me, ifEqualTo: 0, into: result, from: 0, at: 2)
        try window.flush(rank: 0)
        try window.unlockAll()
        let first = try c.world.allReduce(result[0] == 0 ? 1 : 0, op: .sum)
        try expect(first == 1, "\(first) ranks won the deferred compareAndSwap on word 2, want 1")
        if c.rank == 0 {
            try window.withLock(rank: 0) {
                try expect(window.localMemory[0] == 0 && window.localMemory[1] == Int64(rounds * c.size), "spin-locked counter: \(window.localMemory.array)")
            }
        }
        // Bool and small integers are allowed; a Double is not.
        let flags = try Window<UInt8>.allocate(count: 1, initialValue: 0, on: c.world)
        var winners = 0
        try flags.withLock(rank: 0) { if try flags.compareAndSwap(1, ifEqualTo: 0, from: 0) == 0 { winners = 1 } }
        try expect(try c.world.allReduce(winners, op: .sum) == 1, "exactly one rank wins the UInt8 compareAndSwap")
        let real = try Window<Double>.allocate(count: 1, initialValue: 0, on: c.world)
        try real.lock(rank: 0, .shared)
        try expectError(.type, "compareAndSwap of a Double") { _ = try real.compareAndSwap(1, ifEqualTo: 0, from: 0) }
        try real.unlock(rank: 0)
        try c.world.barrier()
        return .passed
    },

    Scenario("window-get-accumulate") { c in
        let window = try Window<Int64>.allocate(count: 3, initialValue: 0, on: c.world)
        try c.world.barrier()
        if c.rank == 0 {
            // getAccumulate returns the old values and combines the new ones.
            try window.withLock(rank: c.size - 1) {
                let old = MessageBuffer<Int64>(repeating: -1, count: 3)
                try window.getAccumulate([Int64(5), 6, 7], into: old, from: c.size - 1, op: .replace)
                try window.flushLocal(rank: c.size - 1)
                try expect(old.array == [0, 0, 0], "getAccumulate(.replace) old values \(old.array)")
                let read = MessageBuffer<Int64>(repeating: -1, count: 3)
                var request = try window.immediateGetAccumulate([Int64(0), 0, 0], into: read, from: c.size - 1, op: .noOp)
                _ = try request.wait()
                try expect(read.array == [5, 6, 7], "getAccumulate(.noOp) read \(read.array)")
                let maxima = MessageBuffer<Int64>(repeating: -1, count: 3)
                try window.getAccumulate([Int64(1), 10, 1], into: maxima, from: c.size - 1, op: .max)
                try window.getAccumulate([Int64(2), 2, 2], into: MessageBuffer<Int64>(repeating: 0, count: 3), from: c.size - 1, op: .product)
            }
        }
        try c.world.barrier()
        if c.rank == c.size - 1 {
            try window.withLock(rank: c.rank) {
                try expect(window.localMemory.array == [10, 20, 14], "max then product: \(window.localMemory.array)")
            }
        }
        try c.world.barrier()
        return .passed
    },

    Scenario("window-shared") { c in
        let node = try c.world.splitByNode()
        // Rank r of the node owns r + 1 elements; rank 1 owns none, to check empty parts.
        let count = node.rank == 1 ? 0 : node.rank + 1
        let window = try Window<Int64>.allocateShared(count: count, initialValue: 0, on: node)
        try expect(window.flavor == .shared, "flavor \(window.flavor)")
        let local = window.localMemory
        local.withMutableSpan { span in
            for index in span.indices { span[index] = mark(node.rank, index) }
        }
        // Stores become visible to the other ranks' loads after sync, a barrier, and sync.
        try window.lockAll()
        try window.sync()
        try node.barrier()
        try window.sync()
        for peer in 0..<node.size {
            let memory = try window.sharedQuery(rank: peer)
            let want = peer == 1 ? 0 : peer + 1
            try expect(memory.count == want, "sharedQuery(rank: \(peer)).count = \(memory.count), want \(want)")
            try expect(memory.array == (0..<want).map { mark(peer, $0) }, "rank \(peer)'s shared memory: \(memory.array)")
        }
        // One-sided operations work on shared windows too.
        try node.barrier()
        if node.size > 2 {
            try window.put([Int64(-1)], to: 2, at: 2)
            try window.flush(rank: 2)
        }
        try window.unlockAll()
        try node.barrier()
        if node.rank == 2 {
            try window.withLock(rank: 2) { try expect(window.localMemory[2] == -1, "put into a shared window: \(window.localMemory.array)") }
        }
        try expectError(.rank, "sharedQuery of rank \(node.size)") { _ = try window.sharedQuery(rank: node.size) }
        let private_ = try Window<Int64>.allocate(count: 1, initialValue: 0, on: node)
        try expectError(.rmaShared, "sharedQuery of an allocated window") { _ = try private_.sharedQuery(rank: 0) }
        try node.barrier()
        return .passed
    },

    Scenario("window-create") { c in
        // A window over the caller's own MessageBuffer (on shared memory: cross-memory attach).
        let memory = MessageBuffer<Int32>(repeating: 0, count: 6)
        let window: Window<Int32>
        do {
            window = try Window.create(over: memory, on: c.world)
        } catch let error as MPIError where error.errorClass == .unsupported {
            return .skipped("Window.create is not available here: \(error.message)")
        }
        try expect(window.flavor == .created, "flavor \(window.flavor)")
        try window.fence()
        try window.put([Int32(c.rank), Int32(c.rank + 1)], to: c.next, at: 1)
        try window.accumulate([Int32(1)], to: 0, at: 5, op: .sum)
        try window.fence()
        try expect(memory[1] == Int32(c.previous) && memory[2] == Int32(c.previous + 1), "create window after fence: \(memory.array)")
        if c.rank == 0 { try expect(memory[5] == Int32(c.size), "accumulate into a created window: \(memory.array)") }
        try window.fence(.noSucceed)
        try window.withLock(rank: c.next) {
            try expect(try window.fetchAndOp(0, from: c.next, at: 1, op: .noOp) == Int32(c.rank), "fetchAndOp on a created window")
            try expect(try window.compareAndSwap(9, ifEqualTo: Int32(c.rank), from: c.next, at: 1) == Int32(c.rank), "compareAndSwap on a created window")
        }
        try c.world.barrier()
        try window.withLock(rank: c.rank) { try expect(memory[1] == 9, "compareAndSwap wrote \(memory.array)") }
        try window.free()
        return .passed
    },

    Scenario("window-errors") { c in
        let window = try Window<Int64>.allocate(count: 4, initialValue: 7, on: c.world)
        // Operations outside any epoch.
        try expectError(.rmaSync, "put outside an epoch") { try window.put([Int64(1)], to: c.next) }
        try expectError(.rmaSync, "fetchAndOp outside a passive-target epoch") { _ = try window.fetchAndOp(1, from: c.next, op: .sum) }
        try expectError(.rmaSync, "unlock without lock") { try window.unlock(rank: c.next) }
        try expectError(.rmaSync, "complete without start") { try window.complete() }
        try expectError(.rmaSync, "wait without post") { try window.wait() }
        try expectError(.rmaSync, "flush outside a passive-target epoch") { try window.flush(rank: c.next) }
        try expectError(.rmaSync, "unlockAll without lockAll") { try window.unlockAll() }
        try window.fence()
        // Out of range: named, and nothing written.
        let range = try expectError(.rmaRange, "put past the end") { try window.put([Int64](repeating: -9, count: 3), to: c.next, at: 2) }
        try expect(range.message.contains("rank \(c.next)") && range.message.contains("displacement 2") && range.message.contains("4 elements"),
            "out-of-range message names target, displacement and size: \(range.message)")
        try expectError(.rmaRange, "get past the end") { try window.get(into: MessageBuffer<Int64>(repeating: 0, count: 5), from: c.next) }
        try expectError(.displacement, "negative displacement") { try window.put([Int64(1)], to: c.next, at: -1) }
        try expectError(.rank, "target rank \(c.size)") { try window.put([Int64(1)], to: c.size) }
        try expectError(.rmaSync, "immediatePut in a fence epoch") { _ = try window.immediatePut([Int64(1)], to: c.next) }
        try expectError(.rmaSync, "lock inside a fence epoch with operations") {
            try window.put([Int64(1)], to: c.next, at: 0)
            try window.lock(rank: c.next)
        }
        try expectError(.operation, "accumulate with a user-defined operation") {
            try window.accumulate([Int64(1)], to: c.next, op: ReductionOp.custom(commutative: true) { a, b in a + b })
        }
        try window.fence(.noSucceed)
        try window.withLock(rank: c.rank, .shared) {
            try expect(window.localMemory.array == [1, 7, 7, 7], "memory after the refused operations: \(window.localMemory.array)")
        }
        // Epoch conflicts and freeing inside an epoch.
        try window.lock(rank: c.next)
        try expectError(.rmaSync, "lock twice") { try window.lock(rank: c.next) }
        try expectError(.rmaSync, "lockAll under a lock") { try window.lockAll() }
        try expectError(.rmaSync, "fence under a lock") { try window.fence() }
        try expectError(.rmaSync, "free inside an epoch") { try window.free() }
        try window.unlock(rank: c.next)
        try window.free()
        try expectError(.window, "put on a freed window") { try window.put([Int64(1)], to: c.next) }
        try expectError(.window, "free twice") { try window.free() }
        // Mismatched collective creation throws on every rank, and the job goes on.
        if c.size > 1 {
            try expectError(.window, "ranks calling allocate and allocateShared") {
                if c.rank == 0 {
                    _ = try Window<Int64>.allocate(count: 1, initialValue: 0, on: c.world)
                } else {
                    _ = try Window<Int64>.allocateShared(count: 1, initialValue: 0, on: c.world)
                }
            }
            try expectError(.window, "ranks making windows of different element types") {
                if c.rank == 0 {
                    _ = try Window<Int64>.allocate(count: 1, initialValue: 0, on: c.world)
                } else {
                    _ = try Window<Int32>.allocate(count: 1, initialValue: 0, on: c.world)
                }
            }
        }
        try expectError(.count, "a negative window size") { _ = try Window<Int64>.allocate(count: c.rank == 0 ? -1 : 1, initialValue: 0, on: c.world) }
        let after = try c.world.allReduce(1, op: .sum)
        try expect(after == c.size, "all-reduce after the window errors: \(after)")
        return .passed
    },

    Scenario("window-many") { c in
        // Windows are freed when dropped; making many in turn runs out of nothing.
        for round in 0..<60 {
            let window = try Window<Int32>.allocate(count: 16, initialValue: Int32(round), on: c.world)
            try window.withLockAll {
                let values = try window.get(count: 1, from: c.next, at: 15)
                try expect(values == [Int32(round)], "round \(round) read \(values)")
            }
            if round % 3 == 0 { try window.free() }
        }
        // Several windows alive at once (shared ones on this node's ranks).
        let node = try c.world.splitByNode()
        let windows = try (0..<8).map { index throws(MPIError) in try Window<Int32>.allocateShared(count: 4, initialValue: Int32(index), on: node) }
        for (index, window) in windows.enumerated() {
            try expect(try window.sharedQuery(rank: (node.rank + 1) % node.size).array == [Int32](repeating: Int32(index), count: 4), "window \(index) of 8")
        }
        try c.world.barrier()
        return .passed
    },
]
