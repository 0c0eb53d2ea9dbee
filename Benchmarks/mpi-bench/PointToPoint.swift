import MPI

/// Point-to-point benchmarks in the manner of OSU's osu_latency and osu_multi_lat.
enum PointToPoint {
    /// Ping-pong between ranks 0 and 1; half the round-trip time. Other ranks wait.
    /// min/max are the extremes over ten batches of the timed iterations.
    static func latency<T: MessageElement>(
        _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        try pingPong("latency", T.self, world: world, options: options, reporter: &reporter) { count, timed, warmup, peer in
            var buffer = [T](repeating: zero(T.self), count: count)
            return try Batches.time(timed: timed, warmup: warmup) { () throws(MPIError) in
                if world.rank == 0 {
                    try world.send(buffer, to: peer, tag: 1)
                    try world.receive(into: &buffer, from: peer, tag: 1)
                } else {
                    try world.receive(into: &buffer, from: peer, tag: 1)
                    try world.send(buffer, to: peer, tag: 1)
                }
            }
        }
    }

    /// ``latency`` with each blocking call replaced by its immediate form and a wait
    /// (`immediateSend` + `wait`, `immediateReceive` + `wait`): the difference from ``latency``
    /// is what making, waiting for and ending a ``Request`` costs.
    static func immediateLatency<T: MessageElement>(
        _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        try pingPong("immediate-latency", T.self, world: world, options: options, reporter: &reporter) { count, timed, warmup, peer in
            let buffer = WindowBuffer<T>(count: count)
            defer { withExtendedLifetime(buffer) {} }  // the requests use its memory until the rounds end
            return try Batches.time(timed: timed, warmup: warmup) { () throws(MPIError) in
                if world.rank == 0 {
                    var send = try world.immediateSend(UnsafeBufferPointer(buffer.elements), to: peer, tag: 1)
                    try send.wait()
                    var receive = try world.immediateReceive(into: buffer.elements, from: peer, tag: 1)
                    try receive.wait()
                } else {
                    var receive = try world.immediateReceive(into: buffer.elements, from: peer, tag: 1)
                    try receive.wait()
                    var send = try world.immediateSend(UnsafeBufferPointer(buffer.elements), to: peer, tag: 1)
                    try send.wait()
                }
            }
        }
    }

    /// ``latency`` with one persistent send and one persistent receive made per size, each trip
    /// a `start` and a `wait` (`MPI_Send_init`/`MPI_Recv_init`, `MPI_Start`, `MPI_Wait`).
    static func persistentLatency<T: MessageElement>(
        _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        try pingPong("persistent-latency", T.self, world: world, options: options, reporter: &reporter) { count, timed, warmup, peer in
            let buffer = WindowBuffer<T>(count: count)
            defer { withExtendedLifetime(buffer) {} }  // the requests use its memory until the rounds end
            var send = try world.persistentSend(UnsafeBufferPointer(buffer.elements), to: peer, tag: 1)
            var receive = try world.persistentReceive(into: buffer.elements, from: peer, tag: 1)
            return try Batches.time(timed: timed, warmup: warmup) { () throws(MPIError) in
                if world.rank == 0 {
                    try send.start()
                    try send.wait()
                    try receive.start()
                    try receive.wait()
                } else {
                    try receive.start()
                    try receive.wait()
                    try send.start()
                    try send.wait()
                }
            }
        }
    }

    /// How ``requests(_:_:world:options:reporter:)`` completes its window.
    enum Completion {
        case waitAll, waitAny, testSome
    }

    /// The cost of a request: ranks 0 and 1 each post a window of immediate receives from the
    /// other and as many immediate sends to it into one ``RequestList``, then complete them with
    /// `waitAll` ("waitall"), one `waitAny` per request ("waitany") or `testSome` until none is
    /// pending ("testsome"). A rank alone sends to itself. The average is the time per request
    /// (twice the window per round); min/max the fastest and slowest batch.
    static func requests<T: MessageElement>(
        _ completion: Completion, _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        let name = switch completion {
        case .waitAll: "waitall"
        case .waitAny: "waitany"
        case .testSome: "testsome"
        }
        let window = options.window
        guard window > 0 else { throw MPIError(.argument, "the window must hold at least one message") }
        for size in options.sizes.bytes {
            let count = size / MemoryLayout<T>.stride
            let send = WindowBuffer<T>(count: count), receive = WindowBuffer<T>(count: count)
            let (timed, warmup) = options.windowIterations(for: size)
            var batches = Batches()
            try world.barrier()
            if world.rank < 2 {
                let peer = world.size > 1 ? 1 - world.rank : 0
                var requests = RequestList(capacity: 2 * window)
                batches = try Batches.time(timed: timed, warmup: warmup) { () throws(MPIError) in
                    for _ in 0..<window {
                        requests.add(try world.immediateReceive(
                            into: receive.elements, from: peer, tag: 100))
                    }
                    for _ in 0..<window {
                        requests.add(try world.immediateSend(UnsafeBufferPointer(send.elements), to: peer, tag: 100))
                    }
                    switch completion {
                    case .waitAll:
                        try requests.removeAll()
                    case .waitAny:
                        while try requests.waitAny() != nil {}
                        try requests.removeAll()
                    case .testSome:
                        while requests.pendingCount > 0 { try requests.testSome { _, _ in } }
                        try requests.removeAll()
                    }
                }
            }
            try world.barrier()
            let microseconds = batches.microseconds(perRound: 2 * window)
            reporter.report(Measurement(
                benchmark: name, backend: Environment.backend?.rawValue ?? "?", ranks: world.size,
                size: count * MemoryLayout<T>.stride, averageMicroseconds: microseconds.average,
                minimumMicroseconds: microseconds.minimum, maximumMicroseconds: microseconds.maximum,
                iterations: batches.rounds))
        }
    }

    /// ``latency`` with object messages (mpi4py's `comm.send`/`comm.recv` against its buffer
    /// methods): a Codable struct wrapping an array of the size, sent with `send(object:)` and
    /// received with `receiveObject`, so the difference is what encoding, the probe and
    /// decoding cost. The size is the array's, not the slightly larger encoded message's.
    static func objectLatency<T: MessageElement & Codable & Sendable>(
        _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        try pingPong("object-latency", T.self, world: world, options: options, reporter: &reporter) { count, timed, warmup, peer in
            var payload = ObjectPayload(values: [T](repeating: zero(T.self), count: count))
            return try Batches.time(timed: timed, warmup: warmup) { () throws(MPIError) in
                if world.rank == 0 {
                    try world.send(object: payload, to: peer, tag: 1)
                    payload = try world.receiveObject(ObjectPayload<T>.self, from: peer, tag: 1).value
                } else {
                    payload = try world.receiveObject(ObjectPayload<T>.self, from: peer, tag: 1).value
                    try world.send(object: payload, to: peer, tag: 1)
                }
            }
        }
    }

    /// ``latency`` of a strided message: a column of a row-major matrix `columnStride` elements
    /// wide, sent and received with a `MessageLayout.column` (a vector datatype), so the
    /// difference from ``latency`` is what gathering and scattering the column costs. The size
    /// is the column's.
    static func columnLatency<T: MessageElement>(
        _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        let columnStride = 4
        try pingPong("column-latency", T.self, world: world, options: options, reporter: &reporter) { count, timed, warmup, peer in
            let rows = max(count, 1)
            var matrix = [T](repeating: zero(T.self), count: rows * columnStride)
            let column = try MessageLayout<T>.column(rows: rows, columns: columnStride)
            return try Batches.time(timed: timed, warmup: warmup) { () throws(MPIError) in
                if world.rank == 0 {
                    try world.send(matrix, layout: column, at: 1, to: peer, tag: 1)
                    try world.receive(into: &matrix, layout: column, at: 2, from: peer, tag: 1)
                } else {
                    try world.receive(into: &matrix, layout: column, at: 2, from: peer, tag: 1)
                    try world.send(matrix, layout: column, at: 1, to: peer, tag: 1)
                }
            }
        }
    }

    /// Runs a ping-pong between ranks 0 and 1 at every size: `time` times the round trips of
    /// `count` elements with rank `peer`, and the report is half the round-trip time.
    private static func pingPong<T: MessageElement>(
        _ name: String, _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter,
        time: (_ count: Int, _ timed: Int, _ warmup: Int, _ peer: Int) throws -> Batches
    ) throws {
        guard world.size >= 2 else { throw MPIError(.argument, "\(name) needs at least 2 ranks") }
        for size in options.sizes.bytes {
            let count = size / MemoryLayout<T>.stride
            let (timed, warmup) = options.iterations(for: size)
            var batches = Batches()
            try world.barrier()
            if world.rank < 2 { batches = try time(count, timed, warmup, 1 - world.rank) }
            try world.barrier()
            let microseconds = batches.microseconds(perRound: 2)
            reporter.report(Measurement(
                benchmark: name, backend: Environment.backend?.rawValue ?? "?", ranks: world.size,
                size: count * MemoryLayout<T>.stride, averageMicroseconds: microseconds.average,
                minimumMicroseconds: microseconds.minimum, maximumMicroseconds: microseconds.maximum,
                iterations: batches.rounds))
        }
    }

    /// Streaming bandwidth from rank 0 to rank 1 (OSU's osu_bw) or both ways at once (osu_bibw).
    ///
    /// Each iteration posts a window of immediate operations on one buffer per side and waits
    /// for all of them; in one direction the receiver then acknowledges with a small message, so
    /// the time covers delivery. Timed on rank 0 in ten batches: the average is the time per
    /// message, min/max the fastest and slowest batch, MB/s (10^6 bytes) the bytes moved — in
    /// both directions for bibw — over the whole timed run.
    static func bandwidth<T: MessageElement>(
        _ type: T.Type, bidirectional: Bool, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        let name = bidirectional ? "bibw" : "bw"
        guard world.size >= 2 else { throw MPIError(.argument, "\(name) needs at least 2 ranks") }
        let window = options.window
        guard window > 0 else { throw MPIError(.argument, "the window must hold at least one message") }
        for size in options.sizes.bytes {
            let count = size / MemoryLayout<T>.stride
            let send = WindowBuffer<T>(count: count), receive = WindowBuffer<T>(count: count)
            let (timed, warmup) = options.windowIterations(for: size)
            var batches = Batches()
            try world.barrier()
            if world.rank < 2 {
                let peer = 1 - world.rank
                let receives = bidirectional || world.rank == 1
                let sends = bidirectional || world.rank == 0
                // One list for the whole run, emptied after each window: no allocation per window.
                var requests = RequestList(capacity: 2 * window)
                batches = try Batches.time(timed: timed, warmup: warmup) { () throws(MPIError) in
                    do {
                        if receives {
                            for _ in 0..<window {
                                requests.add(try world.immediateReceive(
                                    into: receive.elements, from: peer, tag: 100))
                            }
                        }
                        if sends {
                            for _ in 0..<window {
                                requests.add(try world.immediateSend(
                                    UnsafeBufferPointer(send.elements), to: peer, tag: 100))
                            }
                        }
                        try requests.removeAll()
                    }
                    if !bidirectional {
                        if world.rank == 0 {
                            _ = try world.receive(Int32.self, from: peer, tag: 101)
                        } else {
                            try world.send(Int32(0), to: peer, tag: 101)
                        }
                    }
                }
            }
            try world.barrier()
            let bytes = Double(count * MemoryLayout<T>.stride) * Double(window * batches.rounds) * (bidirectional ? 2 : 1)
            let microseconds = batches.microseconds(perRound: window)
            reporter.report(Measurement(
                benchmark: name, backend: Environment.backend?.rawValue ?? "?", ranks: world.size,
                size: count * MemoryLayout<T>.stride, averageMicroseconds: microseconds.average,
                minimumMicroseconds: microseconds.minimum, maximumMicroseconds: microseconds.maximum,
                iterations: batches.rounds,
                megabytesPerSecond: batches.totalSeconds > 0 ? bytes / batches.totalSeconds / 1e6 : 0))
        }
    }

    /// Every rank in the lower half ping-pongs with its partner in the upper half at once;
    /// reports the mean over pairs, and the fastest and slowest pair.
    static func multiLatency<T: MessageElement>(
        _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        guard world.size >= 2 else { throw MPIError(.argument, "multi-latency needs at least 2 ranks") }
        let pairs = world.size / 2
        for size in options.sizes.bytes {
            let count = size / MemoryLayout<T>.stride
            var buffer = [T](repeating: zero(T.self), count: count)
            let (timed, warmup) = options.iterations(for: size)
            var mine = 0.0
            try world.barrier()
            if world.rank < 2 * pairs {
                let lower = world.rank < pairs
                let peer = lower ? world.rank + pairs : world.rank - pairs
                for phase in 0..<2 {
                    let rounds = phase == 0 ? warmup : timed
                    let start = try Environment.wallTime()
                    for _ in 0..<rounds {
                        if lower {
                            try world.send(buffer, to: peer, tag: 2)
                            try world.receive(into: &buffer, from: peer, tag: 2)
                        } else {
                            try world.receive(into: &buffer, from: peer, tag: 2)
                            try world.send(buffer, to: peer, tag: 2)
                        }
                    }
                    mine = (try Environment.wallTime() - start) / Double(2 * rounds) * 1e6
                }
            }
            let all = try Gathering.toRoot(mine, world: world)
            let used = Array(all.prefix(2 * pairs))
            reporter.report(Measurement(
                benchmark: "multi-latency", backend: Environment.backend?.rawValue ?? "?", ranks: world.size,
                size: count * MemoryLayout<T>.stride, averageMicroseconds: used.reduce(0, +) / Double(max(used.count, 1)),
                minimumMicroseconds: used.min() ?? 0, maximumMicroseconds: used.max() ?? 0, iterations: timed))
        }
    }
}

/// The timing of a point-to-point benchmark on one rank: untimed warm-up rounds, then the timed
/// rounds in up to ten equal batches, each batch timed on its own.
struct Batches {
    /// Seconds each batch took.
    var seconds: [Double] = []
    /// Rounds in each batch.
    var roundsPerBatch = 0

    /// Timed rounds in all batches.
    var rounds: Int { roundsPerBatch * seconds.count }
    var totalSeconds: Double { seconds.reduce(0, +) }

    /// Runs `round` `warmup` times, then `timed` times (rounded down to whole batches).
    @inline(__always)
    static func time(timed: Int, warmup: Int, _ round: () throws(MPIError) -> Void) throws(MPIError) -> Batches {
        let count = max(1, min(10, timed))
        var batches = Batches(seconds: [], roundsPerBatch: timed / count)
        batches.seconds.reserveCapacity(count)
        for batch in -1..<count {
            let rounds = batch < 0 ? warmup : batches.roundsPerBatch
            let start = try Environment.wallTime()
            for _ in 0..<rounds { try round() }
            if batch >= 0 { batches.seconds.append(try Environment.wallTime() - start) }
        }
        return batches
    }

    /// Mean, fastest and slowest batch in microseconds per unit, where a round is `perRound`
    /// units (2 one-way trips of a ping-pong, a window of messages); zeros when nothing ran.
    func microseconds(perRound: Int) -> (average: Double, minimum: Double, maximum: Double) {
        guard roundsPerBatch > 0, !seconds.isEmpty else { return (0, 0, 0) }
        let each = seconds.map { $0 / Double(roundsPerBatch * perRound) * 1e6 }
        return (each.reduce(0, +) / Double(each.count), each.min()!, each.max()!)
    }
}

/// The one send or receive buffer every operation of a window (or ping-pong) shares, in raw
/// memory as OSU uses (zeroed; freed with the value).
final class WindowBuffer<T: MessageElement> {
    /// The message's `count` elements.
    let elements: UnsafeMutableBufferPointer<T>
    private let storage: UnsafeMutableBufferPointer<T>

    init(count: Int) {
        storage = .allocate(capacity: max(count, 1))
        storage.initialize(repeating: zero(T.self))
        elements = UnsafeMutableBufferPointer(rebasing: storage[..<count])
    }

    deinit { storage.deallocate() }
}

/// The message of object-latency: a Codable struct around an array.
struct ObjectPayload<T: Codable & Sendable>: Codable, Sendable {
    var values: [T]
}

/// A zero value of any bitwise-copyable element type.
func zero<T: MessageElement>(_ type: T.Type) -> T {
    withUnsafeTemporaryAllocation(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment) { raw in
        raw.initializeMemory(as: UInt8.self, repeating: 0)
        return raw.load(as: T.self)
    }
}

/// Collecting one value per rank on rank 0 with point-to-point messages.
enum Gathering {
    /// Rank 0 gets every rank's value in rank order; other ranks get an empty array.
    static func toRoot(_ value: Double, world: Communicator) throws -> [Double] {
        if world.rank == 0 {
            var all = [value]
            for peer in 1..<world.size { all.append(try world.receive(Double.self, from: peer, tag: 99)) }
            return all
        }
        try world.send(value, to: 0, tag: 99)
        return []
    }
}
