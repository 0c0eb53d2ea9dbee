import MPI

/// One-sided (RMA) benchmarks in the manner of OSU's osu_put_latency, osu_get_latency,
/// osu_put_bw and osu_acc_latency with their default window and synchronization
/// (`-w allocate -s flush`): rank 1's memory is a window made by `Window.allocate`, rank 0 opens
/// one shared lock on rank 1 for all the iterations of a size and completes every operation (or,
/// in put-bw, every window of operations) with `flush(rank: 1)`; rank 1 takes no part and waits in
/// a barrier. Only the operations and flushes are timed, not the lock, the unlock or the window's
/// creation. Timed on rank 0 in ten batches, as the point-to-point benchmarks are (see
/// ``Batches``): the average is the time per operation, min/max the fastest and slowest batch.
///
/// The origin buffers are raw memory (an `UnsafeMutableBufferPointer` lends itself with no loan and
/// no copy), so the timed loop allocates nothing of its own. Only the `Window` API is used: the
/// same code measures every backend. Benchmarks/c-baseline/{put_latency,get_latency,put_bw,
/// acc_latency}.c do the same with MPI_Win_allocate, MPI_Win_lock and MPI_Win_flush.
enum OneSided {
    /// put-latency: a put of the size and a flush (osu_put_latency).
    static func putLatency<T: MessageElement>(
        _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        try latency("put-latency", T.self, world: world, options: options, reporter: &reporter) { (window, origin) throws(MPIError) in
            try window.put(UnsafeBufferPointer(origin), to: 1)
        }
    }

    /// get-latency: a get of the size into rank 0's buffer and a flush (osu_get_latency).
    static func getLatency<T: MessageElement>(
        _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        try latency("get-latency", T.self, world: world, options: options, reporter: &reporter) { (window, origin) throws(MPIError) in
            try window.get(into: origin, from: 1)
        }
    }

    /// accumulate-latency: an accumulate (`.sum`) of the size and a flush (osu_acc_latency). The
    /// elements are always `Int64` whatever `--type` says (a sum needs a numeric type; the C
    /// baseline uses MPI_INT64_T), so a size counts whole 8-byte elements and sizes of 1 to 7
    /// bytes are left out.
    static func accumulateLatency(world: Communicator, options: BenchmarkOptions, reporter: inout Reporter) throws {
        try latency("accumulate-latency", Int64.self, world: world, options: options, reporter: &reporter) { (window, origin) throws(MPIError) in
            try window.accumulate(UnsafeBufferPointer(origin), to: 1, op: .sum)
        }
    }

    /// Runs `operation` (on rank 1's window, from or into `origin`) and a flush, `timed` times
    /// after `warmup` untimed ones, inside one lock on rank 1, at every size.
    private static func latency<T: MessageElement>(
        _ name: String, _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter,
        operation: (_ window: Window<T>, _ origin: UnsafeMutableBufferPointer<T>) throws(MPIError) -> Void
    ) throws {
        guard world.size >= 2 else { throw MPIError(.argument, "\(name) needs at least 2 ranks") }
        for size in options.sizes.bytes {
            let count = size / MemoryLayout<T>.stride
            if size > 0 && count == 0 { continue }  // smaller than one element
            let (timed, warmup) = options.iterations(for: size)
            let batches = try locked(T.self, world: world, windowCount: count, originCount: count) {
                (window, origin) throws(MPIError) -> Batches in
                try Batches.time(timed: timed, warmup: warmup) { () throws(MPIError) in
                    try operation(window, origin)
                    try window.flush(rank: 1)
                }
            }
            let microseconds = batches.microseconds(perRound: 1)
            reporter.report(Measurement(
                benchmark: name, backend: Environment.backend?.rawValue ?? "?", ranks: world.size,
                size: count * MemoryLayout<T>.stride, averageMicroseconds: microseconds.average,
                minimumMicroseconds: microseconds.minimum, maximumMicroseconds: microseconds.maximum,
                iterations: batches.rounds))
        }
    }

    /// put-bw (osu_put_bw): each iteration puts a window of `--window` messages of the size, each
    /// from its own part of the origin buffer to its own part of rank 1's window (as OSU does),
    /// then flushes once. The average is the time per message; MB/s (10^6 bytes) the bytes put
    /// over the whole timed run.
    static func putBandwidth<T: MessageElement>(
        _ type: T.Type, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter
    ) throws {
        let name = "put-bw"
        guard world.size >= 2 else { throw MPIError(.argument, "\(name) needs at least 2 ranks") }
        let messages = options.window
        guard messages > 0 else { throw MPIError(.argument, "the window must hold at least one message") }
        for size in options.sizes.bytes {
            let count = size / MemoryLayout<T>.stride
            if size > 0 && count == 0 { continue }
            let (timed, warmup) = options.windowIterations(for: size)
            let batches = try locked(T.self, world: world, windowCount: count * messages, originCount: count * messages) {
                (window, origin) throws(MPIError) -> Batches in
                try Batches.time(timed: timed, warmup: warmup) { () throws(MPIError) in
                    for message in 0..<messages {
                        let start = message * count
                        try window.put(UnsafeBufferPointer(rebasing: origin[start..<start + count]), to: 1, at: start)
                    }
                    try window.flush(rank: 1)
                }
            }
            let bytes = Double(count * MemoryLayout<T>.stride) * Double(messages * batches.rounds)
            let microseconds = batches.microseconds(perRound: messages)
            reporter.report(Measurement(
                benchmark: name, backend: Environment.backend?.rawValue ?? "?", ranks: world.size,
                size: count * MemoryLayout<T>.stride, averageMicroseconds: microseconds.average,
                minimumMicroseconds: microseconds.minimum, maximumMicroseconds: microseconds.maximum,
                iterations: batches.rounds,
                megabytesPerSecond: batches.totalSeconds > 0 ? bytes / batches.totalSeconds / 1e6 : 0))
        }
    }

    /// Makes a window of `windowCount` elements on rank 1 (none elsewhere: only rank 1's memory is
    /// reached), and on rank 0 an origin buffer of `originCount` elements and one shared lock on
    /// rank 1 under which `body` runs; other ranks wait in a barrier. Frees both afterwards.
    /// Returns rank 0's batches (empty ones elsewhere).
    private static func locked<T: MessageElement>(
        _ type: T.Type, world: Communicator, windowCount: Int, originCount: Int,
        _ body: (_ window: Window<T>, _ origin: UnsafeMutableBufferPointer<T>) throws(MPIError) -> Batches
    ) throws -> Batches {
        let window = try Window<T>.allocate(count: world.rank == 1 ? windowCount : 0, initialValue: zero(T.self), on: world)
        var batches = Batches()
        try world.barrier()
        if world.rank == 0 {
            let origin = UnsafeMutableBufferPointer<T>.allocate(capacity: max(originCount, 1))
            origin.initialize(repeating: zero(T.self))
            defer { origin.deallocate() }
            batches = try window.withLock(rank: 1, .shared) {
                try body(window, UnsafeMutableBufferPointer(rebasing: origin[..<originCount]))
            }
        }
        try world.barrier()
        try window.free()
        return batches
    }
}
