import MPI

/// Scenarios for `async` operations. They need `ThreadLevel.multiple`; in a job started at a
/// lower level they check that the error says so instead.
let asyncScenarios: [Scenario] = [
    Scenario(async: "async-ring") { c in
        guard try Environment.threadLevel() == .multiple else {
            let error = try await expectAsyncError(.unsupported, "await send at a lower thread level") {
                try await c.world.send([1], to: c.next, tag: 40)
            }
            try expect(error.message.contains("ThreadLevel.multiple"), "thread-level error does not say what is needed: \(error.message)")
            return .passed
        }
        async let sent: Void = c.world.send([Int32](repeating: Int32(c.rank), count: 100), to: c.next, tag: 40)
        let (values, status) = try await c.world.receive(Int32.self, count: 100, from: c.previous, tag: 40)
        try await sent
        try expect(values == [Int32](repeating: Int32(c.previous), count: 100), "async ring received \(values.prefix(3))…")
        try expect(status.source == c.previous && status.tag == 40, "async ring status \(status)")
        return .passed
    },

    Scenario(async: "async-many-tasks") { c in
        guard try Environment.threadLevel() == .multiple else { return .skipped("needs ThreadLevel.multiple") }
        // 32 concurrent tasks per rank, each exchanging on its own tag with both neighbours, in
        // an order that would deadlock if any task blocked its thread.
        let tasks = 32
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    let (values, _) = try await c.world.receive(Int.self, count: 3, from: c.previous, tag: 100 + task)
                    guard values == [c.previous, task, 7] else {
                        throw ScenarioFailure("task \(task) received \(values) from rank \(c.previous)")
                    }
                }
                group.addTask {
                    try await c.world.send([c.rank, task, 7], to: c.next, tag: 100 + task)
                }
            }
            try await group.waitForAll()
        }
        return .passed
    },

    Scenario(async: "async-cancel-receive") { c in
        guard try Environment.threadLevel() == .multiple else { return .skipped("needs ThreadLevel.multiple") }
        let waiting = Task {
            try await c.world.receive(Int.self, count: 1, from: c.rank, tag: 4242)
        }
        waiting.cancel()
        do {
            _ = try await waiting.value
            throw ScenarioFailure("a cancelled receive that no message matches returned")
        } catch is CancellationError {
        }
        // The job goes on: a message with that tag now goes to a fresh receive.
        try await c.world.send([99], to: c.rank, tag: 4242)
        let (values, _) = try await c.world.receive(Int.self, count: 1, from: c.rank, tag: 4242)
        try expect(values == [99], "receive after cancel got \(values)")
        return .passed
    },

    Scenario(async: "async-await-request") { c in
        guard try Environment.threadLevel() == .multiple else { return .skipped("needs ThreadLevel.multiple") }
        let buffer = MessageBuffer<Double>(repeating: -1, count: 64)
        var receive = try c.world.immediateReceive(into: buffer, from: c.previous, tag: 41)
        var send = try c.world.immediateSend([Double](repeating: Double(c.rank) + 0.5, count: 64), to: c.next, tag: 41)
        let status = try await receive.wait()
        try await send.wait()
        try expect(status.count(of: Double.self) == 64, "awaited receive status \(status)")
        try expect(buffer.array == [Double](repeating: Double(c.previous) + 0.5, count: 64), "awaited receive data \(buffer[0])")
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
