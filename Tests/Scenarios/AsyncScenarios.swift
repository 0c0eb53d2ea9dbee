import MPI

/// Scenarios for `async` operations, at every thread level: at `.multiple` a progress thread
/// completes them, below it the awaiting task drives progress.
let asyncScenarios: [Scenario] = [
    Scenario(async: "async-ring") { c in
        async let sent: Void = c.world.async.send([Int32](repeating: Int32(c.rank), count: 100), to: c.next, tag: 40)
        let (values, status) = try await c.world.async.receiveArray(of: Int32.self, count: 100, from: c.previous, tag: 40)
        try await sent
        try expect(values == [Int32](repeating: Int32(c.previous), count: 100), "async ring received \(values.prefix(3))…")
        try expect(status.source == c.previous && status.tag == 40, "async ring status \(status)")
        return .passed
    },

    Scenario(async: "async-many-tasks") { c in
        // 32 concurrent tasks per rank, each exchanging on its own tag with both neighbours, in
        // an order that would deadlock if any task blocked its thread.
        let tasks = 32
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    let (values, _) = try await c.world.async.receiveArray(of: Int.self, count: 3, from: c.previous, tag: 100 + task)
                    guard values == [c.previous, task, 7] else {
                        throw ScenarioFailure("task \(task) received \(values) from rank \(c.previous)")
                    }
                }
                group.addTask {
                    try await c.world.async.send([c.rank, task, 7], to: c.next, tag: 100 + task)
                }
            }
            try await group.waitForAll()
        }
        return .passed
    },

    Scenario(async: "async-cancel-receive") { c in
        let waiting = Task {
            try await c.world.async.receiveArray(of: Int.self, count: 1, from: c.rank, tag: 4242)
        }
        waiting.cancel()
        do {
            _ = try await waiting.value
            throw ScenarioFailure("a cancelled receive that no message matches returned")
        } catch is CancellationError {
        }
        // The job goes on: a message with that tag now goes to a fresh receive.
        try await c.world.async.send([99], to: c.rank, tag: 4242)
        let (values, _) = try await c.world.async.receiveArray(of: Int.self, count: 1, from: c.rank, tag: 4242)
        try expect(values == [99], "receive after cancel got \(values)")
        return .passed
    },

    Scenario(async: "async-await-request") { c in
        let buffer = MessageBuffer<Double>(repeating: -1, count: 64)
        var receive = try c.world.immediateReceive(into: buffer, from: c.previous, tag: 41)
        var send = try c.world.immediateSend([Double](repeating: Double(c.rank) + 0.5, count: 64), to: c.next, tag: 41)
        let status = try await receive.completion()
        try await send.completion()
        try expect(status.count(of: Double.self) == 64, "awaited receive status \(status)")
        try expect(buffer.array == [Double](repeating: Double(c.previous) + 0.5, count: 64), "awaited receive data \(buffer[0])")
        return .passed
    },

    // The blocking and the `async` forms side by side in one `async` function: both compile
    // (the blocking ones need no `await`) and both work at the job's thread level.
    Scenario(async: "async-blocking-side-by-side") { c in
        try c.world.send([c.rank], to: c.next, tag: 43)
        let blocking = try c.world.receiveArray(of: Int.self, from: c.previous, tag: 43).values
        try expect(blocking == [c.previous], "blocking receive in async code got \(blocking)")
        async let sent: Void = c.world.async.send(c.rank * 10, to: c.next, tag: 44)
        let awaited = try await c.world.async.receive(Int.self, from: c.previous, tag: 44)
        try await sent
        try expect(awaited == c.previous * 10, "awaited receive got \(awaited)")
        var request = try c.world.immediateBarrier()
        try request.wait()
        try c.world.barrier()
        try await c.world.async.barrier()
        return .passed
    },

    // The async collectives a training loop uses, checked against their blocking forms.
    Scenario(async: "async-collectives") { c in
        let n = c.size
        let values = [Double(c.rank + 1), Double(2 * c.rank)]
        let sum = try await c.world.async.allReduce(values, op: .sum)
        try expect(sum == (try c.world.allReduce(values, op: .sum)), "async allReduce \(sum)")
        try expect(sum[0] == Double(n * (n + 1) / 2), "async allReduce total \(sum)")
        let root = n - 1
        let broadcast = try await c.world.async.broadcast(c.rank == root ? [7, 8, 9] : [0, 0, 0], root: root)
        try expect(broadcast == [7, 8, 9], "async broadcast \(broadcast)")
        let reduced = try await c.world.async.reduce([c.rank], op: .max, root: 0)
        try expect(c.rank == 0 ? reduced == [n - 1] : reduced == nil, "async reduce \(String(describing: reduced))")
        let gathered = try await c.world.async.allGather(c.rank)
        try expect(gathered == Array(0..<n), "async allGather \(gathered)")
        let exchanged = try await c.world.async.allToAll((0..<n).map { c.rank * 100 + $0 })
        try expect(exchanged == (0..<n).map { $0 * 100 + c.rank }, "async allToAll \(exchanged)")
        let buffer = MessageBuffer<Int>(repeating: c.rank, count: 4)
        try await c.world.async.allReduce(.inPlace(), into: buffer, op: .sum)
        try expect(buffer.array == [Int](repeating: n * (n - 1) / 2, count: 4), "async in-place allReduce \(buffer.array)")
        try await c.world.async.barrier()
        return .passed
    },
]

/// Runs `body`, which must throw an `MPIError` of class `expected`; returns that error.
@discardableResult
func expectAsyncError(
    _ expected: MPIError.ErrorClass, _ what: String, _ body: () async throws -> Void
) async throws -> MPIError {
    do {
        try await body()
    } catch {
        guard let error = error as? MPIError, error.errorClass == expected else {
            throw ScenarioFailure("\(what): expected an MPIError of class \(expected), got \(error)")
        }
        return error
    }
    throw ScenarioFailure("\(what): expected an MPIError of class \(expected), but the call succeeded")
}
