import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Parallel I/O (MPI-4.1 chapter 14): every access form, views with subarray file types, the
// shared file pointer, sizes, and the errors, written once for both backends and any job size.
// Each scenario works in its own file, named by rank 0 and removed at the end.

/// A value for element `index` of `rank`'s data that no other rank or element has.
private func mark(_ rank: Int, _ index: Int) -> Int64 { Int64(rank * 1_000_003 + index) }

/// A path every rank agrees on: the temporary directory, rank 0's pid and `name`.
func scenarioPath(_ c: Context, _ name: String) throws -> String {
    let pid = try c.world.broadcast(Int64(getpid()), root: 0)
    let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    return "\(directory)/swiftmpi-io-\(pid)-\(name).bin"
}

/// A value for a failure message, or the error getting it threw.
private func shown(_ body: () throws -> Int) -> String {
    do { return "\(try body())" } catch { return "\(error)" }
}

/// Removes `path` on rank 0 once every rank is done with it.
private func removeTogether(_ c: Context, _ path: String) throws {
    try c.world.barrier()
    if c.rank == 0 { unlink(path) }
}

/// The bytes of the file at `path`, read with plain POSIX calls.
func fileBytes(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if got <= 0 { break }
        bytes += chunk[0..<got]
    }
    return bytes
}

let fileScenarios: [Scenario] = [
    Scenario("file-explicit-offsets") { c in
        let path = try scenarioPath(c, "explicit")
        let file = try File.open(path, mode: [.create, .readWrite], on: c.world)
        try expect(file.view == .bytes && (try file.position) == 0, "initial view \(file.view)")
        try file.setView(elementType: Int64.self)
        let block = 10
        let mine = (0..<block).map { mark(c.rank, $0) }
        let written = try file.write(mine, at: c.rank * block)
        try expect(written.byteCount == block * 8 && written.count(of: Int64.self) == block, "write status \(written)")
        try file.sync()
        try c.world.barrier()
        try file.sync()
        try expect((try file.size) == c.size * block * 8, "size \(shown { try file.size })")
        // Another rank's block, then one read into a buffer.
        let theirs = try file.read(at: c.next * block, count: block, as: Int64.self)
        try expect(theirs == (0..<block).map { mark(c.next, $0) }, "read next rank's block: \(theirs)")
        var buffer = [Int64](repeating: 0, count: 4)
        let status = try file.read(at: c.previous * block + 3, into: &buffer)
        try expect(status.count(of: Int64.self) == 4 && buffer == (3..<7).map { mark(c.previous, $0) }, "read into buffer: \(buffer) \(status)")
        // Past the end: a short count, not an error.
        let tail = try file.read(at: c.size * block - 3, count: 10, as: Int64.self)
        try expect(tail == (block - 3..<block).map { mark(c.size - 1, $0) }, "short read at the end: \(tail)")
        var beyond = [Int64](repeating: 7, count: 2)
        let none = try file.read(at: c.size * block + 5, into: &beyond)
        try expect(none.byteCount == 0 && beyond == [7, 7], "read beyond the end: \(none) \(beyond)")
        // Immediate forms, explicit offsets: overwrite this rank's second half and read it back.
        try c.world.barrier()
        let half = MessageBuffer<Int64>((0..<block / 2).map { -mark(c.rank, $0) })
        var writing = try file.immediateWrite(half, at: c.rank * block + block / 2)
        let wrote = try writing.wait()
        try expect(wrote.byteCount == block / 2 * 8, "immediate write status \(wrote)")
        let back = MessageBuffer<Int64>(repeating: 0, count: block)
        var reading = try file.immediateRead(at: c.rank * block, into: back)
        let got = try reading.wait()
        try expect(got.byteCount == block * 8, "immediate read status \(got)")
        try expect(back.array == Array(mine[..<(block / 2)]) + half.array, "immediate read back \(back.array)")
        // An immediate write from an array (copied) at the null region past the data.
        var fromArray = try file.immediateWrite([Int64(c.rank)], at: c.size * block + c.rank)
        try fromArray.wait()
        try file.close()
        try expect("\(file)".contains(path), "description \(file)")
        try removeTogether(c, path)
        return .passed
    },

    Scenario("file-individual-and-collective") { c in
        let path = try scenarioPath(c, "pointers")
        let file = try File.open(path, mode: [.create, .readWrite, .deleteOnClose], on: c.world)
        try file.setView(elementType: Int32.self)
        let block = 8
        // Individual file pointers: seek to this rank's block, write it in two halves.
        try file.seek(to: c.rank * block)
        try file.write((0..<4).map { Int32(c.rank * 100 + $0) })
        try expect((try file.position) == c.rank * block + 4, "position after a write: \(shown { try file.position })")
        try file.write((4..<8).map { Int32(c.rank * 100 + $0) })
        try file.seek(to: -block, from: .current)
        try expect((try file.position) == c.rank * block, "position after seeking back: \(shown { try file.position })")
        try file.sync()
        try c.world.barrier()
        try file.sync()
        let own = try file.read(count: block, as: Int32.self)
        try expect(own == (0..<8).map { Int32(c.rank * 100 + $0) }, "read own block: \(own)")
        try file.seek(to: 0, from: .end)
        try expect((try file.position) == c.size * block, "position of the end: \(shown { try file.position })")
        // Collective forms at the individual pointers and at explicit offsets (once every
        // rank has seen the end where it was).
        try c.world.barrier()
        try file.seek(to: c.size * block + c.rank * block)
        try file.writeAll([Int32](repeating: Int32(-c.rank - 1), count: block))
        try file.writeAtAll([Int32](repeating: Int32(c.rank + 7), count: 2), at: 2 * c.size * block + 2 * c.rank)
        try file.sync()
        try c.world.barrier()
        try file.sync()
        try file.seek(to: c.size * block + c.next * block)
        let collective = try file.readAll(count: block, as: Int32.self)
        try expect(collective == [Int32](repeating: Int32(-c.next - 1), count: block), "readAll: \(collective)")
        var pair = [Int32](repeating: 0, count: 2)
        try file.readAtAll(at: 2 * c.size * block + 2 * c.previous, into: &pair)
        try expect(pair == [Int32(c.previous + 7), Int32(c.previous + 7)], "readAtAll: \(pair)")
        // Immediate collective forms (once every rank has read what they overwrite).
        try c.world.barrier()
        var writeAll = try file.immediateWriteAtAll(MessageBuffer<Int32>([Int32(c.rank), Int32(c.rank)]), at: 2 * c.size * block + 2 * c.rank)
        try writeAll.wait()
        try file.seek(to: c.rank * block)
        var writeIndividual = try file.immediateWriteAll(MessageBuffer<Int32>(repeating: 5, count: 1))
        try writeIndividual.wait()
        try file.sync()
        try c.world.barrier()
        try file.sync()
        let pairBack = MessageBuffer<Int32>(repeating: 0, count: 2)
        var readAll = try file.immediateReadAtAll(at: 2 * c.size * block + 2 * c.next, into: pairBack)
        try readAll.wait()
        try expect(pairBack.array == [Int32(c.next), Int32(c.next)], "immediateReadAtAll: \(pairBack.array)")
        try file.seek(to: c.next * block)
        let first = MessageBuffer<Int32>(repeating: 0, count: 2)
        var readIndividual = try file.immediateReadAll(into: first)
        try readIndividual.wait()
        try expect(first.array == [5, Int32(c.next * 100 + 1)], "immediateReadAll: \(first.array)")
        try expect((try file.position) == c.next * block + 2, "position after an immediate read: \(shown { try file.position })")
        var single = try file.immediateRead(into: first)
        try single.wait()
        try expect(first.array == [Int32(c.next * 100 + 2), Int32(c.next * 100 + 3)], "immediateRead: \(first.array)")
        try file.close()
        try c.world.barrier()
        try expect(access(path, F_OK) != 0, "deleteOnClose left \(path)")
        return .passed
    },

    Scenario("file-ordered") { c in
        let path = try scenarioPath(c, "ordered")
        let file = try File.open(path, mode: [.create, .readWrite, .deleteOnClose], on: c.world)
        try file.setView(elementType: Int64.self)
        // Rank r writes r + 1 copies of r: the file is 0, 1 1, 2 2 2, …
        let status = try file.writeOrdered([Int64](repeating: Int64(c.rank), count: c.rank + 1))
        try expect(status.count(of: Int64.self) == c.rank + 1, "writeOrdered status \(status)")
        let total = c.size * (c.size + 1) / 2
        try expect((try file.sharedPosition) == total, "shared position after writeOrdered: \(shown { try file.sharedPosition })")
        try file.writeOrdered([Int64(-1)])
        try file.sync()
        try c.world.barrier()
        try file.sync()
        let everything = try file.read(at: 0, count: total + c.size, as: Int64.self)
        let expected = (0..<c.size).flatMap { [Int64](repeating: Int64($0), count: $0 + 1) } + [Int64](repeating: -1, count: c.size)
        try expect(everything == expected, "file after ordered writes: \(everything)")
        try file.seekShared(to: 0)
        let mine = try file.readOrdered(count: c.rank + 1, as: Int64.self)
        try expect(mine == [Int64](repeating: Int64(c.rank), count: c.rank + 1), "readOrdered: \(mine)")
        var rest = [Int64](repeating: 0, count: 1)
        try file.readOrdered(into: &rest)
        try expect(rest == [-1], "second readOrdered: \(rest)")
        try file.close()
        return .passed
    },

    Scenario("file-subarray-view") { c in
        // A rows × columns row-major grid of Doubles, one tile per rank of a balanced 2-D grid
        // of ranks; each rank writes its tile collectively through a subarray view.
        let dims = try CartesianTopology.balancedDimensions(ranks: c.size, constraints: [0, 0])
        let tileRows = 3
        let tileColumns = 5
        let rows = dims[0] * tileRows
        let columns = dims[1] * tileColumns
        let (row, column) = (c.rank / dims[1], c.rank % dims[1])
        func value(_ r: Int, _ col: Int) -> Double { Double(r * 1000 + col) + 0.25 }
        let tile = (0..<tileRows).flatMap { r in (0..<tileColumns).map { value(row * tileRows + r, column * tileColumns + $0) } }
        let path = try scenarioPath(c, "subarray")
        let file = try File.open(path, mode: [.create, .readWrite], on: c.world)
        let header = 16  // bytes before the grid
        let layout = try MessageLayout<Double>.subarray(
            sizes: [rows, columns], subsizes: [tileRows, tileColumns], starts: [row * tileRows, column * tileColumns])
        try file.setView(displacement: header, elementType: Double.self, fileType: layout)
        try expect((try file.byteOffset(of: tileColumns)) == header + ((row * tileRows + 1) * columns + column * tileColumns) * 8,
            "byte offset of the second tile row")
        try file.writeAll(tile)
        try file.sync()
        try c.world.barrier()
        try file.sync()
        // Every rank reads its own tile back through the view.
        try file.seek(to: 0)
        let back = try file.readAll(count: tile.count, as: Double.self)
        try expect(back == tile, "tile read back through the view: \(back)")
        // The whole grid, read as plain Doubles after the header, equals a serial write.
        try file.setView(displacement: header, elementType: Double.self)
        let grid = try file.read(at: 0, count: rows * columns, as: Double.self)
        let serial = (0..<rows).flatMap { r in (0..<columns).map { value(r, $0) } }
        try expect(grid == serial, "the grid in the file differs from a serial write")
        try expect((try file.size) == header + rows * columns * 8, "file size \(shown { try file.size })")
        try file.close()
        try removeTogether(c, path)
        return .passed
    },

    Scenario("file-size-and-modes") { c in
        let path = try scenarioPath(c, "size")
        let file = try File.open(path, mode: [.create, .writeOnly, .exclusive], on: c.world)
        try file.preallocate(4096)
        try expect((try file.size) >= 4096, "size after preallocate: \(shown { try file.size })")
        try file.setSize(100)
        try expect((try file.size) == 100, "size after setSize(100): \(shown { try file.size })")
        try file.setSize(0)
        try file.writeAtAll([UInt8](repeating: UInt8(c.rank), count: 3), at: 3 * c.rank)
        try file.close()
        try c.world.barrier()
        // Append: both pointers start at the end.
        let appending = try File.open(path, mode: [.readWrite, .append], on: c.world)
        try expect((try appending.position) == 3 * c.size && (try appending.sharedPosition) == 3 * c.size,
            "append positions \(shown { try appending.position }) \(shown { try appending.sharedPosition })")
        try appending.writeOrdered([UInt8(0xEE)])
        try appending.close()
        try c.world.barrier()
        let bytes = fileBytes(path) ?? []
        let expected = (0..<c.size).flatMap { [UInt8](repeating: UInt8($0), count: 3) } + [UInt8](repeating: 0xEE, count: c.size)
        try expect(bytes == expected, "file after append: \(bytes)")
        // Read-only: writes throw and change nothing.
        let reading = try File.open(path, mode: .readOnly, on: c.world)
        let error = try expectError(.readOnly, "write to a read-only file") { try reading.write([UInt8(1)], at: 0) }
        try expect(error.message.contains(path), "the error names the path: \(error)")
        _ = try expectError(.readOnly, "setSize of a read-only file") { try reading.setSize(0) }
        try expect(try reading.read(at: 0, count: 3, as: UInt8.self) == [0, 0, 0], "read-only read")
        try reading.close()
        _ = try expectError(.file, "use after close") { _ = try reading.size }
        _ = try expectError(.file, "close twice") { try reading.close() }
        try c.world.barrier()
        try expect(fileBytes(path) == expected, "the failed writes changed the file")
        try removeTogether(c, path)
        return .passed
    },

    Scenario("file-struct-elements") { c in
        // A struct datatype leaves a field out: the file holds only the typemap's bytes (28 per
        // Particle), and a read writes only those, leaving `scratch` alone.
        let path = try scenarioPath(c, "struct")
        let file = try File.open(path, mode: [.create, .readWrite, .deleteOnClose], on: c.world)
        let record = Particle.datatype.size
        let mine = (0..<3).map { Particle.made(by: c.rank, $0) }
        let status = try file.writeAtAll(mine, at: c.rank * 3 * record)
        try expect(status.byteCount == 3 * record && status.count(of: Particle.self) == 3, "struct write status \(status)")
        try file.sync()
        try c.world.barrier()
        try file.sync()
        try expect((try file.size) == c.size * 3 * record, "file of packed particles: \(shown { try file.size }) bytes")
        var back = [Particle](repeating: Particle(position: .zero, id: 0, scratch: 77), count: 3)
        try file.readAtAll(at: c.next * 3 * record, into: &back)
        try expect(zip(back, (0..<3).map { Particle.made(by: c.next, $0) }).allSatisfy { $0.sameData($1) }, "particles read back: \(back)")
        try expect(back.allSatisfy { $0.scratch == 77 }, "a read wrote the field that does not travel: \(back)")
        // A view counting in packed records of a Particle's data (a view of Particle itself
        // would tile the file at the struct's 40-byte extent, as MPI says, not at 28).
        try file.setView(elementType: .contiguousBytes(record))
        let viewed = try file.read(at: c.previous * 3 + 1, count: 1, as: Particle.self)
        try expect(viewed.count == 1 && viewed[0].sameData(Particle.made(by: c.previous, 1)), "particle through a view: \(viewed)")
        try file.close()
        return .passed
    },

    Scenario("file-errors") { c in
        let path = try scenarioPath(c, "errors")
        let missing = path + ".missing"
        var error = try expectError(.noSuchFile, "open a missing file") { _ = try File.open(missing, mode: .readOnly, on: c.world) }
        try expect(error.message.contains(missing), "the error names the path: \(error)")
        _ = try expectError(.noSuchFile, "delete a missing file") { try File.delete(missing) }
        _ = try expectError(.accessMode, "two access modes") { _ = try File.open(path, mode: [.readOnly, .writeOnly], on: c.world) }
        _ = try expectError(.accessMode, "read-only create") { _ = try File.open(path, mode: [.readOnly, .create], on: c.world) }
        // Mismatched modes: the same error on every rank, nothing opened.
        if c.size > 1 {
            _ = try expectError(.notSame, "mismatched modes") {
                _ = try File.open(path, mode: c.rank == 0 ? [.create, .readWrite] : [.create, .writeOnly], on: c.world)
            }
        }
        // Exclusive create of a file that exists.
        let file = try File.open(path, mode: [.create, .readWrite], on: c.world)
        try file.writeAtAll([Int64(c.rank)], at: 8 * c.rank)
        try file.close()
        try c.world.barrier()
        error = try expectError(.fileExists, "exclusive create of an existing file") {
            _ = try File.open(path, mode: [.create, .exclusive, .writeOnly], on: c.world)
        }
        // No permission (root too: sysfs refuses writes to read-only attributes).
        if access("/sys/kernel/notes", F_OK) == 0 {
            _ = try expectError(.access, "open without permission") { _ = try File.open("/sys/kernel/notes", mode: .writeOnly, on: c.world) }
        }
        let writer = try File.open(path, mode: .writeOnly, on: c.world)
        _ = try expectError(.access, "read from a write-only file") { _ = try writer.read(at: 0, count: 1, as: Int64.self) }
        _ = try expectError(.argument, "negative offset") { try writer.write([Int64(1)], at: -1) }
        _ = try expectError(.count, "negative count") { _ = try writer.read(at: 0, count: -1, as: Int64.self) }
        _ = try expectError(.argument, "negative displacement") { try writer.setView(displacement: -8, elementType: Int64.self) }
        _ = try expectError(.argument, "seek before the start") { try writer.seek(to: -1) }
        try writer.setView(elementType: Int64.self)
        _ = try expectError(.type, "memory type other than the view's") { try writer.write([Int32(1)], at: 0) }
        let unordered = try Datatype.indexed(blockLength: 1, displacements: [2, 0], of: .int64)
        _ = try expectError(.type, "file type going backwards") { try writer.setView(elementType: .int64, fileType: unordered) }
        try writer.close()
        try c.world.barrier()
        let contents = fileBytes(path) ?? []
        try expect(contents.count == 8 * c.size, "the failed calls changed the file: \(contents.count) bytes")
        try removeTogether(c, path)
        return .passed
    },
]
