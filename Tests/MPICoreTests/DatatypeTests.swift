import MPICore
import Testing

@Suite("Datatype")
struct DatatypeTests {
    /// Checks that `T` travels as `expected`, whose size is exactly the Swift stride of `T`.
    private func check<T: MessageElement>(_ type: T.Type, _ expected: Datatype) {
        #expect(T.datatype == expected, "\(T.self) travels as \(T.datatype), expected \(expected)")
        #expect(T.datatype.size == MemoryLayout<T>.stride, "\(T.self): datatype size \(T.datatype.size), stride \(MemoryLayout<T>.stride)")
    }

    @Test func everyScalarHasADatatypeOfItsSize() {
        check(Int8.self, .int8)
        check(Int16.self, .int16)
        check(Int32.self, .int32)
        check(Int64.self, .int64)
        check(UInt8.self, .uint8)
        check(UInt16.self, .uint16)
        check(UInt32.self, .uint32)
        check(UInt64.self, .uint64)
        check(Int.self, MemoryLayout<Int>.size == 8 ? .int64 : .int32)
        check(UInt.self, MemoryLayout<UInt>.size == 8 ? .uint64 : .uint32)
        check(Float.self, .float)
        check(Double.self, .double)
        check(Bool.self, .bool)
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        check(Float16.self, .float16)
        #endif
    }

    @Test func sizesOfThePredefinedDatatypes() {
        let sizes: [(Datatype, Int)] = [
            (.int8, 1), (.uint8, 1), (.bool, 1), (.byte, 1),
            (.int16, 2), (.uint16, 2), (.float16, 2),
            (.int32, 4), (.uint32, 4), (.float, 4),
            (.int64, 8), (.uint64, 8), (.double, 8),
        ]
        #expect(sizes.count == Datatype.Builtin.allCases.count)
        for (type, size) in sizes { #expect(type.size == size, "\(type)") }
    }

    @Test func descriptionsNameTheType() {
        #expect(Datatype.double.description == "float64")
        #expect(Datatype.float16.description == "float16")
        #expect(Datatype.byte.description == "byte")
    }
}

/// A struct with padding after `position` (a SIMD3 is three lanes in a 4-lane stride), a field
/// the datatype leaves out, and padding at the end.
private struct Body: MessageElement {
    var position: SIMD3<Double>
    var id: Int32
    var scratch: Int32
    var mass: Double
    static let datatype = Datatype.structure(of: Body.self, .field(\.position), .field(\.id), .field(\.mass))
}

@Suite("Derived datatypes")
struct DerivedDatatypeTests {
    @Test func structDatatypeFromFieldOffsets() throws {
        let type = Body.datatype
        #expect(type.extent == MemoryLayout<Body>.stride)
        #expect(type.size == 24 + 4 + 8)
        #expect(!type.isDense && !type.isPrimitive && type.isBytes)
        let offsets = (MemoryLayout<Body>.offset(of: \.position)!, MemoryLayout<Body>.offset(of: \.id)!, MemoryLayout<Body>.offset(of: \.mass)!)
        #expect(type.blocks == [
            DatatypeBlock(offset: offsets.0, length: 24), DatatypeBlock(offset: offsets.1, length: 4), DatatypeBlock(offset: offsets.2, length: 8),
        ])
        // Describing the same struct again finds the registered datatype.
        #expect(Datatype.structure(of: Body.self, .field(\.position), .field(\.id), .field(\.mass)) == type)
        #expect(Datatype.structure(of: Body.self, .field(\.position)) != type)
        #expect("\(type)".hasPrefix("Body{0: float64×3"))
        #expect(Status(source: 0, tag: 0, byteCount: 3 * 36).count(of: Body.self) == 3)
    }

    @Test func packAndUnpackTouchOnlyTheData() {
        let type = Body.datatype
        let bodies = (0..<3).map { Body(position: SIMD3(Double($0), 1, 2), id: Int32($0), scratch: 99, mass: 0.5 * Double($0)) }
        var packed = [UInt8](repeating: 0, count: 3 * type.size)
        bodies.withUnsafeBytes { source in
            packed.withUnsafeMutableBytes { type.pack(source.baseAddress!, count: 3, into: $0.baseAddress!) }
        }
        var landed = [Body](repeating: Body(position: .zero, id: -1, scratch: 7, mass: -1), count: 3)
        packed.withUnsafeBytes { packed in
            landed.withUnsafeMutableBytes { type.unpack(packed.baseAddress!, bytes: packed.count, into: $0.baseAddress!) }
        }
        for (got, sent) in zip(landed, bodies) {
            #expect(got.position == sent.position && got.id == sent.id && got.mass == sent.mass)
            #expect(got.scratch == 7, "unpack wrote the field the datatype leaves out")
        }
        // A partial message fills whole elements first, then part of the next.
        var partial = [Body](repeating: Body(position: .zero, id: -1, scratch: 7, mass: -1), count: 2)
        packed.withUnsafeBytes { packed in
            partial.withUnsafeMutableBytes { type.unpack(packed.baseAddress!, bytes: type.size + 24, into: $0.baseAddress!) }
        }
        #expect(partial[0].mass == 0 && partial[1].position == bodies[1].position && partial[1].id == -1)
    }

    @Test func vectorAndIndexedLayouts() throws {
        let column = try MessageLayout<Double>.column(rows: 4, columns: 3)
        #expect(column.elementCount == 4)
        #expect(column.datatype.extent == (3 * 3 + 1) * 8)
        #expect(column.datatype.span == column.datatype.extent)
        #expect(column.datatype.blocks.map(\.offset) == [0, 24, 48, 72])
        // Consecutive blocks merge: a vector whose stride is its block length is contiguous.
        #expect(try MessageLayout<Double>.vector(count: 4, blockLength: 3, stride: 3).datatype.isDense)
        let twoColumns = try MessageLayout<Float>.vector(count: 2, blockLength: 2, stride: 5)
        #expect(twoColumns.datatype.blocks == [DatatypeBlock(offset: 0, length: 8), DatatypeBlock(offset: 20, length: 8)])
        let indexed = try MessageLayout<Int32>.indexed(blockLength: 2, displacements: [6, 0])
        #expect(indexed.datatype.blocks == [DatatypeBlock(offset: 24, length: 8), DatatypeBlock(offset: 0, length: 8)])
        #expect(indexed.datatype.extent == 32 && indexed.elementCount == 4)
        // A vector of structs flattens the struct's blocks into each element.
        let ofBodies = try Datatype.vector(count: 2, blockLength: 1, stride: 2, of: Body.datatype)
        #expect(ofBodies.size == 2 * Body.datatype.size && ofBodies.blocks.count == 6)
    }

    /// Packs or unpacks the whole of `packed` in `fragment`-byte pieces, as the transport does.
    private func copyInFragments(
        _ type: Datatype, user: UnsafeMutableRawPointer, packed: UnsafeMutableRawBufferPointer, fragment: Int, unpacking: Bool
    ) {
        var offset = 0
        while offset < packed.count {
            let length = min(fragment, packed.count - offset)
            type.copyPacked(range: offset, length: length, user: user, packed: packed.baseAddress! + offset, unpacking: unpacking)
            offset += length
        }
    }

    @Test(arguments: [1, 3, 7, 13, 64, 1000])
    func fragmentsStartAnywhere(fragment: Int) throws {
        // Packing and unpacking fragment by fragment, from any offset, equals doing it whole.
        let types: [(Datatype, Int)] = [
            (Body.datatype, 4), (try MessageLayout<Double>.column(rows: 5, columns: 3).datatype, 2),
            (try Datatype.contiguous(3, of: .double, extent: 32), 5),
            (try MessageLayout<Int32>.indexed(blockLength: 2, displacements: [6, 0, 3]).datatype, 3),
        ]
        for (type, count) in types {
            let span = (count - 1) * type.extent + type.span
            var source = [UInt8](repeating: 0, count: span)
            for index in source.indices { source[index] = UInt8(truncatingIfNeeded: index &* 7 &+ 1) }
            var whole = [UInt8](repeating: 0, count: count * type.size)
            var pieces = whole
            source.withUnsafeMutableBytes { source in
                whole.withUnsafeMutableBytes { type.pack(source.baseAddress!, count: count, into: $0.baseAddress!) }
                pieces.withUnsafeMutableBytes { pieces in
                    copyInFragments(type, user: source.baseAddress!, packed: pieces, fragment: fragment, unpacking: false)
                }
            }
            #expect(pieces == whole, "\(type): packing in \(fragment)-byte fragments")
            var unpacked = [UInt8](repeating: 0xEE, count: span)
            var expected = unpacked
            expected.withUnsafeMutableBytes { out in
                whole.withUnsafeBytes { type.unpack($0.baseAddress!, bytes: $0.count, into: out.baseAddress!) }
            }
            unpacked.withUnsafeMutableBytes { out in
                whole.withUnsafeMutableBytes { packed in
                    copyInFragments(type, user: out.baseAddress!, packed: packed, fragment: fragment, unpacking: true)
                }
            }
            #expect(unpacked == expected, "\(type): unpacking in \(fragment)-byte fragments")
        }
    }

    @Test func badShapesThrow() {
        #expect(throws: MPIError.self) { try MessageLayout<Double>.vector(count: -1, stride: 3) }
        #expect(throws: MPIError.self) { try MessageLayout<Double>.vector(count: 3, blockLength: 1, stride: -2) }
        #expect(throws: MPIError.self) { try MessageLayout<Double>.column(rows: -1, columns: 3) }
        #expect(throws: MPIError.self) { try MessageLayout<Double>.indexed(displacements: [2, -1]) }
        #expect(throws: MPIError.self) { try MessageLayout<Double>.indexed(blockLengths: [1, 2], displacements: [0]) }
        #expect(throws: MPIError.self) { try MessageLayout<Double>.contiguous(-1) }
        #expect(throws: MPIError.self) { try Datatype.contiguous(3, of: .double, extent: 16) }
        #expect(throws: MPIError.self) { try Datatype.vector(count: Int.max / 2, blockLength: 1, stride: 4, of: .double) }
        #expect(throws: MPIError.self) { try Datatype.hindexed(blockLengths: [-1], byteDisplacements: [0], of: .double) }
        #expect(throws: MPIError.self) { try Datatype.resized(.double, extent: -8) }
        #expect(throws: MPIError.self) { try Datatype.subarray(sizes: [], subsizes: [], starts: [], of: .double) }
        #expect(throws: MPIError.self) { try Datatype.subarray(sizes: [4, 4], subsizes: [2], starts: [0, 0], of: .double) }
        #expect(throws: MPIError.self) { try Datatype.subarray(sizes: [4, 4], subsizes: [2, 3], starts: [0, 2], of: .double) }
        #expect(throws: MPIError.self) { try Datatype.subarray(sizes: [4, 4], subsizes: [0, 3], starts: [0, 0], of: .double) }
        #expect(throws: MPIError.self) { try Datatype.subarray(sizes: [4, 4], subsizes: [2, 2], starts: [-1, 0], of: .double) }
    }

    /// MPI-4.1 §5.1.2 accepts empty datatypes (count or block length 0, no blocks) and
    /// overlapping vector blocks: so do we.
    @Test func shapesMPIAccepts() throws {
        for empty in [
            try Datatype.contiguous(0, of: .double), try Datatype.vector(count: 0, blockLength: 2, stride: 3, of: .double),
            try Datatype.vector(count: 3, blockLength: 0, stride: 3, of: .double),
            try Datatype.indexed(blockLength: 1, displacements: [], of: .double),
            try Datatype.indexed(blockLength: 0, displacements: [1, 2], of: .double),
            try Datatype.hindexed(blockLengths: [], byteDisplacements: [], of: .int32),
        ] {
            #expect(empty.size == 0 && empty.extent == 0 && empty.blocks.isEmpty, "\(empty)")
        }
        let overlapping = try Datatype.vector(count: 3, blockLength: 4, stride: 3, of: .double)
        #expect(overlapping.size == 12 * 8 && overlapping.extent == (2 * 3 + 4) * 8)
        #expect(overlapping.blocks.map(\.offset) == [0, 24, 48])
    }

    @Test func subarrayBlocksAreTheTilesRows() throws {
        // The 2 × 3 tile at (1, 4) of a 4 × 8 row-major matrix: rows 1 and 2, columns 4...6.
        let tile = try Datatype.subarray(sizes: [4, 8], subsizes: [2, 3], starts: [1, 4], of: .double)
        #expect(tile.size == 6 * 8 && tile.extent == 32 * 8)
        #expect(tile.blocks == [DatatypeBlock(offset: 12 * 8, length: 24), DatatypeBlock(offset: 20 * 8, length: 24)])
        // Column-major: the fastest index is the first; the tile's columns are the runs.
        let columns = try Datatype.subarray(sizes: [4, 8], subsizes: [2, 3], starts: [1, 4], order: .columnMajor, of: .int32)
        #expect(columns.blocks.map(\.offset) == [17, 21, 25].map { $0 * 4 } && columns.blocks.allSatisfy { $0.length == 8 })
        // 3-D: every element of the block, in row-major order, from a brute-force walk.
        let (sizes, subsizes, starts) = ([3, 4, 5], [2, 2, 3], [1, 2, 1])
        let cube = try Datatype.subarray(sizes: sizes, subsizes: subsizes, starts: starts, of: .int16)
        var expected: [Int] = []
        for i in starts[0]..<starts[0] + subsizes[0] {
            for j in starts[1]..<starts[1] + subsizes[1] {
                for k in starts[2]..<starts[2] + subsizes[2] { expected.append(((i * 4) + j) * 5 + k) }
            }
        }
        let offsets = cube.blocks.flatMap { block in stride(from: block.offset, to: block.offset + block.length, by: 2).map { $0 / 2 } }
        #expect(offsets == expected)
        #expect(cube.extent == 60 * 2)
        // A whole array is dense.
        #expect(try Datatype.subarray(sizes: [3, 4], subsizes: [3, 4], starts: [0, 0], of: .float).isDense)
    }

    @Test func hvectorHindexedAndResized() throws {
        // Fields a and c of a struct of four Int32s: two ints 8 bytes apart, resized to the stride.
        let pair = try Datatype.hvector(count: 2, blockLength: 1, strideBytes: 8, of: .int32)
        #expect(pair.size == 8 && pair.extent == 12 && pair.blocks.map(\.offset) == [0, 8])
        let quad = try Datatype.resized(pair, extent: 16)
        #expect(quad.size == 8 && quad.extent == 16 && quad.blocks == pair.blocks)
        #expect(try Datatype.resized(pair, extent: 12) == pair)
        let scattered = try Datatype.hindexed(blockLengths: [2, 1], byteDisplacements: [20, 4], of: .int32)
        #expect(scattered.size == 12 && scattered.extent == 28)
        #expect(scattered.blocks == [DatatypeBlock(offset: 20, length: 8), DatatypeBlock(offset: 4, length: 4)])
        let indexed = try Datatype.indexed(blockLengths: [1, 3], displacements: [5, 0], of: .double)
        #expect(indexed.blocks == [DatatypeBlock(offset: 40, length: 8), DatatypeBlock(offset: 0, length: 24)])
        // A column resized to one element: consecutive items are consecutive columns.
        let column = try MessageLayout<Double>.column(rows: 3, columns: 4).resized(extent: 1)
        #expect(column.datatype.extent == 8 && column.datatype.size == 24 && column.extentInElements == 1)
    }

    @Test func tupleAndNestedFields() {
        struct Sample: BitwiseCopyable {
            var coefficients: (Double, Double, Double)
            var flag: Bool
            var body: Body
        }
        let type = Datatype.structure(
            of: Sample.self, .field(\.coefficients, count: 3, of: .double), .field(\.body, count: 1, of: Body.datatype))
        let bodyOffset = MemoryLayout<Sample>.offset(of: \.body)!
        #expect(type.size == 24 + Body.datatype.size)
        #expect(type.blocks.first == DatatypeBlock(offset: 0, length: 24))
        #expect(Array(type.blocks.dropFirst()) == Body.datatype.blocks.map { DatatypeBlock(offset: bodyOffset + $0.offset, length: $0.length) })
    }

    @Test func runsOfScalars() throws {
        let lanes = try Datatype.contiguous(3, of: .double, extent: 32)
        #expect(lanes.size == 24 && lanes.extent == 32 && !lanes.isDense)
        #expect(lanes.blocks == [DatatypeBlock(offset: 0, length: 24)])
        #expect(try Datatype.contiguous(4, of: .float).isPrimitive)
        #expect("\(lanes)" == "float64×3 in 32")
    }
}
