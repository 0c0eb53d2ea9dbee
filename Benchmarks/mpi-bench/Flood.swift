import MPI

/// Many ranks flooding each other with immediate sends of mixed sizes: the traffic of an
/// irregular application, and the case where shared-memory transports that wait for a
/// receiver's handshake suffer most when there are more ranks than cores.
enum Flood {
    /// Every round, each rank posts a window of immediate receives from and immediate sends to
    /// the other ranks in turn (message `i` goes to rank `rank + 1 + i mod (size - 1)`), one in ten
    /// of them of `size` bytes and the rest of 64 bytes, then waits for all of them. Rank 0 reports
    /// the mean time per round over the timed rounds (a hundredth of `--iterations`), min/max the
    /// fastest and slowest batch, and MB/s the bytes every rank sent over the timed run.
    static func run(world: Communicator, options: BenchmarkOptions, reporter: inout Reporter) throws {
        guard world.size >= 2 else { throw MPIError(.argument, "flood needs at least 2 ranks") }
        let window = options.window
        guard window > 0 else { throw MPIError(.argument, "the window must hold at least one message") }
        let others = world.size - 1
        for size in options.sizes.bytes {
            // Message i of a window: its peer offset and whether it is a large one.
            func large(_ i: Int) -> Bool { i % 10 == 9 }
            func bytes(_ i: Int) -> Int { large(i) ? size : min(64, size) }
            let send = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(size, 64))
            send.initialize(repeating: 1)
            // One receive buffer per message of the window: they are all in flight at once.
            let receive = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: window * max(size, 64))
            receive.initialize(repeating: 0)
            defer {
                send.deallocate()
                receive.deallocate()
            }
            let (timed, warmup) = options.windowIterations(for: size)
            var requests = RequestList(capacity: 2 * window)
            try world.barrier()
            let batches = try Batches.time(timed: timed, warmup: warmup) { () throws(MPIError) in
                for i in 0..<window {
                    let offset = 1 + i % others
                    let source = (world.rank - offset + world.size) % world.size
                    let slot = i * max(size, 64)
                    requests.add(try world.immediateReceive(
                        into: UnsafeMutableBufferPointer(rebasing: receive[slot..<(slot + bytes(i))]), from: source, tag: i))
                }
                for i in 0..<window {
                    let destination = (world.rank + 1 + i % others) % world.size
                    requests.add(try world.immediateSend(
                        UnsafeBufferPointer(rebasing: send[..<bytes(i)]), to: destination, tag: i))
                }
                try requests.removeAll()
            }
            try world.barrier()
            let perRound = (0..<window).reduce(0) { $0 + bytes($1) }
            let microseconds = batches.microseconds(perRound: 1)
            reporter.report(Measurement(
                benchmark: "flood", backend: Environment.backend?.rawValue ?? "?", ranks: world.size,
                size: size, averageMicroseconds: microseconds.average,
                minimumMicroseconds: microseconds.minimum, maximumMicroseconds: microseconds.maximum,
                iterations: batches.rounds,
                megabytesPerSecond: batches.totalSeconds > 0
                    ? Double(perRound) * Double(batches.rounds) * Double(world.size) / batches.totalSeconds / 1e6 : 0))
        }
    }
}
