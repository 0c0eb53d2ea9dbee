import MPI

#if canImport(Glibc)
import Glibc
#endif

/// Parallel I/O benchmarks: `io-write` and `io-read`, a collective access of `size` bytes per
/// rank (`writeAtAll`/`readAtAll`), each rank's block at offset `rank × size` of one shared file
/// (the layout of a rank-sharded checkpoint). An iteration starts with a barrier and lasts until
/// the slowest rank returns; the average is the time per collective access, MB/s (10^6 bytes)
/// the bytes all ranks moved over that time. The data goes to the page cache (no sync is timed),
/// which is what a plain `pwrite` loop or `dd` without `conv=fsync` measures:
/// Benchmarks/c-baseline/io.c does the same loop with MPI_File_write_at_all and with pwrite.
/// `io-read` writes the file once, untimed, first. `io-write-strided` is `io-write` of the worst
/// layout for a file system: the ranks' 8-byte pieces interleaved (a view whose file type is 8
/// bytes resized to 8 × ranks), so every piece is a separate range of the file.
enum IOBenchmarks {
    static func run(write: Bool, strided: Bool = false, world: Communicator, options: BenchmarkOptions, reporter: inout Reporter) throws {
        let name = strided ? "io-write-strided" : write ? "io-write" : "io-read"
        let pid = try world.broadcast(Int64(getpid()), root: 0)
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let path = options.ioFile ?? "\(directory)/mpi-bench-io-\(pid).bin"
        for size in options.sizes.bytes where size > 0 {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4096)
            defer { buffer.deallocate() }
            buffer.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: 0x61 + world.rank))
            let bytes = UnsafeMutableBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: size)
            let file = try File.open(path, mode: [.create, .readWrite, .deleteOnClose], on: world)
            var offset = world.rank * size
            if strided {
                // Every rank's 8-byte pieces interleaved: piece i of rank r at 8 × (i × ranks + r).
                let piece = try Datatype.resized(.contiguousBytes(8), extent: 8 * world.size)
                try file.setView(displacement: 8 * world.rank, elementType: .byte, fileType: piece)
                offset = 0
            }
            if !write { try file.writeAtAll(UnsafeBufferPointer(bytes), at: offset) }
            let (timed, warmup) = options.ioIterations(for: size, budget: strided ? 1 << 24 : 1 << 28)
            var total = 0.0, fastest = Double.infinity, slowest = 0.0
            for iteration in 0..<(warmup + timed) {
                try world.barrier()
                let start = try Environment.wallTime()
                let status: Status
                if write {
                    status = try file.writeAtAll(UnsafeBufferPointer(bytes), at: offset)
                } else {
                    var target = bytes
                    status = try file.readAtAll(at: offset, into: &target)
                }
                let seconds = try world.allReduce(try Environment.wallTime() - start, op: .max)
                guard status.byteCount == size else {
                    throw MPIError(.io, "\(name) moved \(status.byteCount) of \(size) bytes on rank \(world.rank)")
                }
                if iteration < warmup { continue }
                total += seconds
                fastest = min(fastest, seconds)
                slowest = max(slowest, seconds)
            }
            try file.close()
            let average = total / Double(timed)
            reporter.report(Measurement(
                benchmark: name, backend: Environment.backend?.rawValue ?? "?", ranks: world.size, size: size,
                averageMicroseconds: average * 1e6, minimumMicroseconds: fastest * 1e6, maximumMicroseconds: slowest * 1e6,
                iterations: timed, megabytesPerSecond: Double(size * world.size) / average / 1e6))
        }
    }
}
