import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let environmentScenarios: [Scenario] = [
    Scenario("environment") { c in
        try expect(Environment.isInitialized && !Environment.isFinalized, "initialized \(Environment.isInitialized), finalized \(Environment.isFinalized)")
        let expected: BackendKind
        if let name = getenv("SWIFTMPI_BACKEND").map({ String(cString: $0) }), let kind = BackendKind(rawValue: name) {
            expected = kind
        } else {
            expected = getenv("OMPI_COMM_WORLD_SIZE") != nil ? .openMPI : .sharedMemory
        }
        try expect(Environment.backend == expected, "backend is \(String(describing: Environment.backend)), expected \(expected)")
        try expect(!(try Environment.processorName()).isEmpty, "empty processor name")
        try expect(!(try Environment.libraryVersion()).isEmpty, "empty library version")
        let tick = try Environment.wallTick()
        try expect(tick > 0 && tick < 1, "wallTick \(tick)")
        var last = try Environment.wallTime()
        for _ in 0..<1000 {
            let now = try Environment.wallTime()
            try expect(now >= last, "wallTime went back from \(last) to \(now)")
            last = now
        }
        usleep(20_000)
        let later = try Environment.wallTime()
        try expect(later - last >= 0.015, "wallTime advanced \(later - last) s over a 20 ms sleep")
        _ = try Environment.threadLevel()
        try expect(c.world.tagUpperBound >= 32767, "tag upper bound \(c.world.tagUpperBound) is below MPI's minimum 32767")
        try expectError(.other, "initializing twice") { try Environment.initialize() }
        if let size = getenv("OMPI_COMM_WORLD_SIZE").flatMap({ Int(String(cString: $0)) }), expected == .openMPI {
            try expect(c.size == size, "world has \(c.size) ranks, mpirun started \(size)")
        }
        return .passed
    },
]

/// A message over 2^31 bytes (more elements than Open MPI 4.1's `int` count holds), between
/// exactly two ranks, with its content checked at the edges of each 2^31 boundary.
let largeMessageScenario = Scenario("large-message") { c in
    guard c.size == 2 else { return .skipped("runs at exactly 2 ranks, this job has \(c.size)") }
    let count = (1 << 31) + 1000
    let marks: [(index: Int, value: UInt8)] = [
        (0, 11), (1, 12), (1 << 30, 13), (Int(Int32.max) - 1, 14), (Int(Int32.max), 15), (1 << 31, 16), (count - 1, 17),
    ]
    if c.rank == 0 {
        var message = [UInt8](repeating: 0, count: count)
        for mark in marks { message[mark.index] = mark.value }
        try c.world.send(message, to: 1, tag: 31)
        let ack = try c.world.receive(Int.self, from: 1, tag: 32)
        try expect(ack == count, "receiver acknowledged \(ack) bytes, sent \(count)")
    } else {
        let probed = try c.world.probe(from: 0, tag: 31)
        try expect(probed.byteCount == count, "probe reports \(probed.byteCount) bytes, sent \(count)")
        var message = [UInt8](repeating: 0xEE, count: count)
        let status = try c.world.receive(into: &message, from: 0, tag: 31)
        try expect(status.byteCount == count && status.count(of: UInt8.self) == count, "status \(status), sent \(count) bytes")
        for mark in marks {
            try expect(message[mark.index] == mark.value, "byte \(mark.index) is \(message[mark.index]), expected \(mark.value)")
        }
        for index in [2, 1 << 29, (1 << 31) + 1, count - 2] {
            try expect(message[index] == 0, "byte \(index) is \(message[index]), expected 0")
        }
        try c.world.send(status.byteCount, to: 0, tag: 32)
    }
    return .passed
}

/// Finalizes MPI; every call afterwards throws `.finalized`. Always runs last.
let afterFinalizeScenario = Scenario("after-finalize") { c in
    // Persistent requests that outlive the environment (one used, one never started, one in a
    // list) are released after finalize: that must neither call MPI nor crash.
    let box = MessageBuffer<Int>(repeating: 0, count: 1)
    var used = try c.world.persistentReceive(into: box, from: c.rank, tag: 90)
    try used.start()
    try c.world.send([7], to: c.rank, tag: 90)
    _ = try used.wait()
    let idle = try c.world.persistentSend(box, to: c.rank, tag: 91)
    var list = RequestList()
    list.add(try c.world.persistentSend(box, to: c.rank, tag: 92))
    // A receive nobody will match, pending across finalize: waiting for it afterwards throws
    // `.finalized` instead of waiting forever.
    let never = MessageBuffer<Int>(repeating: 0, count: 1)
    var unmatched = try c.world.immediateReceive(into: never, from: c.rank, tag: 93)
    // A file left open across finalize: using it afterwards throws, dropping it calls no MPI.
    let path = try scenarioPath(c, "after-finalize")
    let file = try File.open(path, mode: [.create, .writeOnly, .deleteOnClose], on: c.world)
    try c.world.barrier()
    try Environment.finalize()
    try expectError(.finalized, "file size after finalize") { _ = try file.size }
    try expectError(.finalized, "file write after finalize") { try file.write([1], at: 0) }
    try expectError(.finalized, "File.open after finalize") { _ = try File.open(path, mode: .readOnly, on: c.world) }
    try expectError(.finalized, "File.delete after finalize") { try File.delete(path) }
    _ = consume file
    if c.rank == 0 { unlink(path) }
    try expectError(.finalized, "wait after finalize") { try unmatched.wait() }
    try expect(unmatched.isComplete && !never.isLent, "a request that failed with .finalized still holds its buffer")
    _ = consume used
    _ = consume idle
    _ = consume list
    try expect(Environment.isFinalized && Environment.isInitialized, "after finalize: finalized \(Environment.isFinalized), initialized \(Environment.isInitialized)")
    try Environment.finalize()
    try expectError(.finalized, "send after finalize") { try c.world.send(1, to: c.rank) }
    try expectError(.finalized, "receive after finalize") { _ = try c.world.receive(Int.self, from: c.rank) }
    try expectError(.finalized, "barrier after finalize") { try c.world.barrier() }
    try expectError(.finalized, "duplicate after finalize") { _ = try c.world.duplicate() }
    try expectError(.finalized, "Communicator.world after finalize") { _ = try Communicator.world }
    try expectError(.finalized, "wallTime after finalize") { _ = try Environment.wallTime() }
    try expectError(.finalized, "initialize after finalize") { try Environment.initialize() }
    return .passed
}
