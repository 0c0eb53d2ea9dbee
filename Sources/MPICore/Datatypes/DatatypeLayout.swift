import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Derived datatypes: how one is described (a `DatatypeRecipe`, which the Open MPI backend turns
// into `MPI_Type_*` calls) and where its data lies in memory (`DatatypeBlock`s, which the
// shared-memory backend packs and unpacks). Described datatypes live in a process-wide registry
// for the life of the process: a `Datatype` only carries the index, so it stays a plain value
// that costs nothing to copy, and describing the same datatype twice finds the first one.

extension Datatype {
    /// One field of a struct datatype: `count` elements of `type` at `offset` bytes from the
    /// start of the struct.
    public struct Field<Root>: Sendable {
        package let member: DatatypeMember

        /// The stored property at `keyPath`, of its own datatype.
        public static func field<Value: MessageElement>(_ keyPath: KeyPath<Root, Value>) -> Field {
            field(keyPath, count: 1, of: Value.datatype)
        }

        /// The SIMD vector stored at `keyPath`: its lanes, as a run of its scalar's datatype
        /// (a `SIMD3<Double>` is three doubles; its fourth, padding lane stays out).
        public static func field<Vector: SIMD>(_ keyPath: KeyPath<Root, Vector>) -> Field where Vector.Scalar: MessageElement {
            field(keyPath, count: Vector.scalarCount, of: Vector.Scalar.datatype)
        }

        /// `count` elements of `type` stored at `keyPath`: a fixed-size array in a tuple, say
        /// `.field(\.coefficients, count: 4, of: .double)` for a `(Double, Double, Double, Double)`.
        public static func field<Value>(_ keyPath: KeyPath<Root, Value>, count: Int, of type: Datatype) -> Field {
            guard let offset = MemoryLayout<Root>.offset(of: keyPath) else {
                preconditionFailure("\(keyPath) is not a stored property of \(Root.self) laid out inline: a datatype field needs its offset")
            }
            precondition(count >= 1, "a field needs at least one element, got \(count)")
            precondition(
                (count - 1) * type.extent + type.span <= MemoryLayout<Value>.size,
                "\(count) × \(type) (\(count * type.extent) bytes) do not fit \(keyPath), a \(Value.self) of \(MemoryLayout<Value>.size) bytes")
            return Field(member: DatatypeMember(offset: offset, count: count, type: type))
        }

        /// `count` elements of `type` at byte `offset` from the start of the struct.
        public static func bytes(at offset: Int, count: Int = 1, of type: Datatype) -> Field {
            precondition(offset >= 0 && count >= 1, "a field needs a non-negative offset and at least one element")
            return Field(member: DatatypeMember(offset: offset, count: count, type: type))
        }
    }

    /// The datatype of a struct, from its fields (`MPI_Type_create_struct`, resized to the
    /// struct's stride): only the named fields travel, in the order given; a receive writes only
    /// them. Describing the same struct again returns the same datatype.
    ///
    /// ```swift
    /// static let datatype = Datatype.structure(of: Particle.self, .field(\.position), .field(\.id))
    /// ```
    public static func structure<T: BitwiseCopyable>(of type: T.Type, _ fields: Field<T>...) -> Datatype {
        structure(of: type, fields: fields)
    }

    /// The datatype of a struct from an array of its fields (see ``structure(of:_:)``).
    public static func structure<T: BitwiseCopyable>(of type: T.Type, fields: [Field<T>]) -> Datatype {
        precondition(!fields.isEmpty, "a struct datatype needs at least one field")
        let stride = MemoryLayout<T>.stride
        for field in fields {
            let end = field.member.offset + (field.member.count - 1) * field.member.type.extent + field.member.type.span
            precondition(end <= MemoryLayout<T>.size, "a field of \(T.self) reaches byte \(end), past its \(MemoryLayout<T>.size) bytes")
        }
        return DatatypeRegistry.register(.structure(name: "\(T.self)", members: fields.map(\.member)), extent: stride)
    }

    /// `count` blocks of `blockLength` elements of `element`, `stride` elements apart
    /// (`MPI_Type_vector`). Its extent runs from the first block's start to the last one's end.
    /// As in MPI, blocks may overlap (a stride shorter than the block: such a datatype can be
    /// sent, a receive into overlapping positions is erroneous) and a count or block length of
    /// 0 makes an empty datatype.
    ///
    /// - Throws: `MPIError(.count)` for a negative count or block length or a layout larger than
    ///   the address space; `MPIError(.argument)` for a negative stride, which would put data
    ///   before the element's start (a lower bound below 0, which swift-mpi's datatypes do not
    ///   have: lay the blocks out forwards).
    public static func vector(count: Int, blockLength: Int, stride: Int, of element: Datatype) throws(MPIError) -> Datatype {
        try hvector(count: count, blockLength: blockLength, strideBytes: nil, elementStride: stride, of: element)
    }

    /// `count` blocks of `blockLength` elements of `element`, the starts of consecutive blocks
    /// `strideBytes` bytes apart (`MPI_Type_create_hvector`): a stride that is not a multiple of
    /// the element's extent, such as one field of an array of structs. See ``vector(count:blockLength:stride:of:)``.
    public static func hvector(count: Int, blockLength: Int, strideBytes: Int, of element: Datatype) throws(MPIError) -> Datatype {
        try hvector(count: count, blockLength: blockLength, strideBytes: strideBytes, elementStride: nil, of: element)
    }

    private static func hvector(
        count: Int, blockLength: Int, strideBytes: Int?, elementStride: Int?, of element: Datatype
    ) throws(MPIError) -> Datatype {
        let kind = strideBytes == nil ? "vector" : "hvector"
        guard count >= 0 && blockLength >= 0 else {
            throw MPIError(.count, "a \(kind) datatype needs a count and block length of at least 0, got \(count) × \(blockLength)")
        }
        let stride: Int
        if let strideBytes { stride = strideBytes } else { stride = try multiplied(elementStride!, element.extent, "a \(kind) stride") }
        guard stride >= 0 else {
            throw MPIError(.argument, "\(kind) stride \(elementStride ?? stride) is negative: swift-mpi datatypes start at their first byte (lower bound 0), so blocks must be laid out forwards")
        }
        let block = try multiplied(blockLength, element.extent, "a \(kind) block")
        guard count > 0 && blockLength > 0 else { return try contiguous(0, of: element) }
        let (span, overflow) = (count - 1).multipliedReportingOverflow(by: stride)
        let (extent, overflow2) = span.addingReportingOverflow(block)
        guard !overflow && !overflow2 else { throw MPIError(.count, "a \(kind) of \(count) blocks \(stride) bytes apart overflows the address space") }
        if count == 1 || stride == block { return try contiguous(count * blockLength, of: element) }
        if let elementStride {
            return DatatypeRegistry.register(
                .vector(count: count, blockLength: blockLength, stride: elementStride, element: element), extent: extent)
        }
        return DatatypeRegistry.register(
            .hvector(count: count, blockLength: blockLength, strideBytes: stride, element: element), extent: extent)
    }

    /// Blocks of `blockLength` elements of `element` starting at the given element
    /// `displacements`, in that order (`MPI_Type_create_indexed_block`); the extent runs from
    /// element 0 to the end of the furthest block. No displacements, or a block length of 0,
    /// make an empty datatype.
    ///
    /// - Throws: `MPIError(.count)` for a negative block length, `MPIError(.argument)` for a
    ///   negative displacement (a lower bound below 0, see ``vector(count:blockLength:stride:of:)``).
    public static func indexed(blockLength: Int, displacements: [Int], of element: Datatype) throws(MPIError) -> Datatype {
        guard blockLength >= 0 else {
            throw MPIError(.count, "an indexed datatype needs a block length of at least 0, got \(blockLength)")
        }
        if let negative = displacements.first(where: { $0 < 0 }) {
            throw MPIError(.argument, "indexed datatype displacements must not be negative (swift-mpi datatypes start at their first byte), got \(negative)")
        }
        guard blockLength > 0, let furthest = displacements.max() else { return try contiguous(0, of: element) }
        let extent = try multiplied(furthest + blockLength, element.extent, "an indexed datatype")
        return DatatypeRegistry.register(
            .indexed(blockLength: blockLength, displacements: displacements, element: element), extent: extent)
    }

    /// Blocks of `blockLengths[i]` elements of `element` at element displacement
    /// `displacements[i]`, in that order (`MPI_Type_indexed`).
    ///
    /// - Throws: `MPIError(.count)` for lists of different lengths or a negative block length,
    ///   `MPIError(.argument)` for a negative displacement.
    public static func indexed(blockLengths: [Int], displacements: [Int], of element: Datatype) throws(MPIError) -> Datatype {
        var bytes: [Int] = []
        bytes.reserveCapacity(displacements.count)
        for displacement in displacements {
            guard displacement >= 0 else {
                throw MPIError(.argument, "indexed datatype displacements must not be negative (swift-mpi datatypes start at their first byte), got \(displacement)")
            }
            bytes.append(try multiplied(displacement, element.extent, "an indexed displacement"))
        }
        return try hindexed(blockLengths: blockLengths, byteDisplacements: bytes, of: element)
    }

    /// Blocks of `blockLengths[i]` elements of `element` at `byteDisplacements[i]` bytes from
    /// the element's start, in that order (`MPI_Type_create_hindexed`); the extent runs from
    /// byte 0 to the end of the furthest block.
    ///
    /// - Throws: `MPIError(.count)` for lists of different lengths or a negative block length,
    ///   `MPIError(.argument)` for a negative displacement.
    public static func hindexed(blockLengths: [Int], byteDisplacements: [Int], of element: Datatype) throws(MPIError) -> Datatype {
        guard blockLengths.count == byteDisplacements.count else {
            throw MPIError(.count, "an hindexed datatype needs one displacement per block: \(blockLengths.count) block lengths, \(byteDisplacements.count) displacements")
        }
        if let negative = blockLengths.first(where: { $0 < 0 }) {
            throw MPIError(.count, "hindexed block lengths must be at least 0, got \(negative)")
        }
        if let negative = byteDisplacements.first(where: { $0 < 0 }) {
            throw MPIError(.argument, "hindexed displacements must not be negative (swift-mpi datatypes start at their first byte), got \(negative)")
        }
        var extent = 0
        for (length, displacement) in zip(blockLengths, byteDisplacements) where length > 0 {
            let (end, overflow) = displacement.addingReportingOverflow(try multiplied(length, element.extent, "an hindexed block"))
            guard !overflow else { throw MPIError(.count, "an hindexed block at byte \(displacement) overflows the address space") }
            extent = max(extent, end)
        }
        guard extent > 0 else { return try contiguous(0, of: element) }
        return DatatypeRegistry.register(
            .hindexed(blockLengths: blockLengths, byteDisplacements: byteDisplacements, element: element), extent: extent)
    }

    /// `type` with its extent changed to `extent` bytes, its lower bound staying 0
    /// (`MPI_Type_create_resized` with lower bound 0). Consecutive elements then start `extent`
    /// bytes apart, overlapping when it is smaller than the data: a column of a row-major matrix
    /// resized to one element's extent makes `count` columns `count` consecutive items, the
    /// classic way to scatter columns.
    ///
    /// - Throws: `MPIError(.argument)` for a negative extent.
    public static func resized(_ type: Datatype, extent: Int) throws(MPIError) -> Datatype {
        guard extent >= 0 else { throw MPIError(.argument, "a datatype's extent must not be negative, got \(extent)") }
        if extent == type.extent { return type }
        return DatatypeRegistry.register(.contiguous(count: 1, element: type), extent: extent)
    }

    /// The storage order of a multidimensional array.
    public enum ArrayOrder: Sendable, Hashable {
        /// The last index varies fastest (C, Swift arrays of rows; `MPI_ORDER_C`).
        case rowMajor
        /// The first index varies fastest (Fortran, Julia; `MPI_ORDER_FORTRAN`).
        case columnMajor
    }

    /// The block `subsizes` at `starts` of an array of `sizes` elements of `element`
    /// (`MPI_Type_create_subarray`): one rank's part of a 2-D or 3-D grid, a face of a halo, a
    /// rank's place in a file. Its extent is the whole array's, so consecutive items are
    /// consecutive arrays.
    ///
    /// ```swift
    /// // The 2 × 3 block at row 1, column 4 of a 4 × 8 row-major matrix of doubles.
    /// let block = try Datatype.subarray(sizes: [4, 8], subsizes: [2, 3], starts: [1, 4], of: .double)
    /// ```
    ///
    /// - Throws: `MPIError(.dimensions)` for no dimension or lists of different lengths,
    ///   `MPIError(.argument)` for a size or subsize below 1 or a block reaching past the array.
    public static func subarray(
        sizes: [Int], subsizes: [Int], starts: [Int], order: ArrayOrder = .rowMajor, of element: Datatype
    ) throws(MPIError) -> Datatype {
        guard !sizes.isEmpty, sizes.count == subsizes.count, sizes.count == starts.count else {
            throw MPIError(.dimensions, "a subarray needs the same number (at least one) of sizes, subsizes and starts: got \(sizes.count), \(subsizes.count), \(starts.count)")
        }
        for dimension in sizes.indices {
            let (size, subsize, start) = (sizes[dimension], subsizes[dimension], starts[dimension])
            guard size >= 1 && subsize >= 1 && subsize <= size else {
                throw MPIError(.argument, "subarray dimension \(dimension): subsize \(subsize) must be in 1...size \(size)")
            }
            guard start >= 0 && start <= size - subsize else {
                throw MPIError(.argument, "subarray dimension \(dimension): start \(start) puts \(subsize) elements past the size \(size)")
            }
        }
        var extent = element.extent
        for size in sizes { extent = try multiplied(extent, size, "a subarray") }
        return DatatypeRegistry.register(
            .subarray(sizes: sizes, subsizes: subsizes, starts: starts, rowMajor: order == .rowMajor, element: element),
            extent: extent)
    }

    private static func multiplied(_ a: Int, _ b: Int, _ what: String) throws(MPIError) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw MPIError(.count, "\(what) of \(a) × \(b) bytes overflows the address space") }
        return product
    }

    /// Where one element's data lies: byte ranges relative to the element's start, in the
    /// order the data travels.
    package var blocks: [DatatypeBlock] {
        if layoutID != 0 { return DatatypeRegistry.layout(layoutID).blocks }
        return size == 0 ? [] : [DatatypeBlock(offset: 0, length: size)]
    }

    /// Where each of `blocks` starts in the packed stream of one element.
    package var blockStarts: [Int] {
        if layoutID != 0 { return DatatypeRegistry.layout(layoutID).blockStarts }
        return size == 0 ? [] : [0]
    }

    /// The bytes from an element's start to the end of its last data byte (the true upper bound).
    @usableFromInline package var span: Int {
        if layoutID != 0 { return DatatypeRegistry.layout(layoutID).span }
        return size
    }

    /// The recipe of a registered datatype, `nil` for predefined datatypes and runs.
    package var recipe: DatatypeRecipe? {
        layoutID == 0 ? nil : DatatypeRegistry.layout(layoutID).recipe
    }

    // MARK: Moving data by layout

    /// Gathers the data of `count` elements at `source` (laid out `extent` apart) into `packed`,
    /// which holds `count × size` bytes.
    package func pack(_ source: UnsafeRawPointer, count: Int, into packed: UnsafeMutableRawPointer) {
        let blocks = self.blocks
        var out = packed
        for element in 0..<count {
            let base = source + element * extent
            for block in blocks {
                copyBlock(out, base + block.offset, block.length)
                out += block.length
            }
        }
    }

    /// Scatters `bytes` packed bytes (whole elements first, then part of one) into the data
    /// positions of the elements at `destination`; nothing else there is written.
    package func unpack(_ packed: UnsafeRawPointer, bytes: Int, into destination: UnsafeMutableRawPointer) {
        let blocks = self.blocks
        var input = packed
        var left = bytes
        var base = destination
        while left > 0 {
            for block in blocks {
                let length = min(block.length, left)
                copyBlock(base + block.offset, input, length)
                input += length
                left -= length
                if left == 0 { return }
            }
            base += extent
        }
    }

    /// Copies bytes `start ..< start + length` of the packed stream of the elements at `user`
    /// out of them into `packed`, or, when `unpacking`, from `packed` into their data positions
    /// (see `DatatypeLayout.copyPacked`).
    package func copyPacked(
        range start: Int, length: Int, user: UnsafeMutableRawPointer, packed: UnsafeMutableRawPointer, unpacking: Bool
    ) {
        if layoutID != 0 {
            DatatypeRegistry.layout(layoutID).copyPacked(range: start, length: length, user: user, packed: packed, unpacking: unpacking)
        } else if unpacking {
            memcpy(user + start, packed, length)
        } else {
            memcpy(packed, user + start, length)
        }
    }

    /// Copies the data positions of `count` elements from `source` to `destination`, both laid
    /// out `extent` apart; bytes outside the data (padding, gaps) at `destination` stay as they
    /// are.
    package func copyData(from source: UnsafeRawPointer, count: Int, to destination: UnsafeMutableRawPointer) {
        if isDense {
            memcpy(destination, source, count * extent)
            return
        }
        let blocks = self.blocks
        for element in 0..<count {
            let offset = element * extent
            for block in blocks {
                copyBlock(destination + offset + block.offset, source + offset + block.offset, block.length)
            }
        }
    }
}

/// Copies one block: a single load and store for the scalar sizes a strided layout is made of
/// (a column of doubles is one 8-byte block per row), `memcpy` otherwise.
@inline(__always)
func copyBlock(_ destination: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ length: Int) {
    switch length {
    case 8: destination.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
    case 4: destination.storeBytes(of: source.loadUnaligned(as: UInt32.self), as: UInt32.self)
    case 16:
        destination.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
        (destination + 8).storeBytes(of: (source + 8).loadUnaligned(as: UInt64.self), as: UInt64.self)
    default: memcpy(destination, source, length)
    }
}

/// One member of a struct datatype.
package struct DatatypeMember: Hashable, Sendable {
    package let offset: Int
    package let count: Int
    package let type: Datatype
}

/// A byte range of one element's data.
package struct DatatypeBlock: Hashable, Sendable {
    package var offset: Int
    package var length: Int

    package init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }
}

/// How a derived datatype was described, as MPI's type constructors take it.
package enum DatatypeRecipe: Hashable, Sendable {
    case contiguous(count: Int, element: Datatype)
    case structure(name: String, members: [DatatypeMember])
    case vector(count: Int, blockLength: Int, stride: Int, element: Datatype)
    case indexed(blockLength: Int, displacements: [Int], element: Datatype)
    case hvector(count: Int, blockLength: Int, strideBytes: Int, element: Datatype)
    case hindexed(blockLengths: [Int], byteDisplacements: [Int], element: Datatype)
    case subarray(sizes: [Int], subsizes: [Int], starts: [Int], rowMajor: Bool, element: Datatype)
}

/// A registered datatype's layout.
package final class DatatypeLayout: Sendable {
    package let recipe: DatatypeRecipe
    package let size: Int
    package let extent: Int
    package let span: Int
    /// The data's byte ranges within one element, in typemap order, adjacent ones merged.
    package let blocks: [DatatypeBlock]
    /// Where each block starts in the packed stream of one element.
    package let blockStarts: [Int]
    package let description: String

    init(recipe: DatatypeRecipe, extent: Int) {
        var blocks: [DatatypeBlock] = []
        func append(_ type: Datatype, count: Int, at offset: Int) {
            let inner = type.blocks
            for index in 0..<count {
                for block in inner {
                    let start = offset + index * type.extent + block.offset
                    if let last = blocks.last, last.offset + last.length == start {
                        blocks[blocks.count - 1].length += block.length
                    } else {
                        blocks.append(DatatypeBlock(offset: start, length: block.length))
                    }
                }
            }
        }
        let description: String
        switch recipe {
        case .contiguous(let count, let element):
            append(element, count: count, at: 0)
            description = "\(element)×\(count)" + (extent > count * element.extent ? " in \(extent)" : "")
        case .structure(let name, let members):
            for member in members { append(member.type, count: member.count, at: member.offset) }
            description = "\(name){" + members.map { "\($0.offset): \($0.type)\($0.count > 1 ? "×\($0.count)" : "")" }.joined(separator: ", ") + "}"
        case .vector(let count, let blockLength, let stride, let element):
            for index in 0..<count { append(element, count: blockLength, at: index * stride * element.extent) }
            description = "vector(\(count) × \(blockLength) \(element), stride \(stride))"
        case .indexed(let blockLength, let displacements, let element):
            for displacement in displacements { append(element, count: blockLength, at: displacement * element.extent) }
            description = "indexed(\(displacements.count) × \(blockLength) \(element))"
        case .hvector(let count, let blockLength, let strideBytes, let element):
            for index in 0..<count { append(element, count: blockLength, at: index * strideBytes) }
            description = "hvector(\(count) × \(blockLength) \(element), stride \(strideBytes) bytes)"
        case .hindexed(let blockLengths, let byteDisplacements, let element):
            for (length, displacement) in zip(blockLengths, byteDisplacements) { append(element, count: length, at: displacement) }
            description = "hindexed(\(blockLengths.count) blocks of \(element))"
        case .subarray(let sizes, let subsizes, let starts, let rowMajor, let element):
            // Visit the block's rows (runs along the fastest dimension) in memory order.
            let dimensions = rowMajor ? Array(sizes.indices) : sizes.indices.reversed()
            let fastest = dimensions.last!
            var index = dimensions.map { starts[$0] }
            let last = index.count - 1
            rows: while true {
                var offset = 0
                for (position, dimension) in dimensions.enumerated() { offset = offset * sizes[dimension] + index[position] }
                append(element, count: subsizes[fastest], at: offset * element.extent)
                var position = last - 1
                while position >= 0 {
                    let dimension = dimensions[position]
                    index[position] += 1
                    if index[position] < starts[dimension] + subsizes[dimension] { continue rows }
                    index[position] = starts[dimension]
                    position -= 1
                }
                break
            }
            description = "subarray(\(subsizes.map(String.init).joined(separator: "×")) of \(sizes.map(String.init).joined(separator: "×")) \(element) at \(starts)\(rowMajor ? "" : ", column-major"))"
        }
        self.recipe = recipe
        self.extent = extent
        self.blocks = blocks
        var starts: [Int] = []
        var packed = 0
        for block in blocks {
            starts.append(packed)
            packed += block.length
        }
        self.blockStarts = starts
        self.size = packed
        self.span = blocks.map { $0.offset + $0.length }.max() ?? 0
        self.description = description
    }

    /// Copies bytes `start ..< start + length` of the packed stream of the elements at `user`
    /// (laid out `extent` apart) out of them into `packed` (a send writing one fragment), or, when
    /// `unpacking`, from `packed` into their data positions (a receive taking one fragment).
    /// Fragments may start and end anywhere in an element or block: the first block is found by
    /// a binary search over the blocks' packed offsets.
    package func copyPacked(
        range start: Int, length: Int, user: UnsafeMutableRawPointer, packed: UnsafeMutableRawPointer, unpacking: Bool
    ) {
        guard length > 0 else { return }
        var element = start / size
        let within = start - element * size
        var block = DatatypeLayout.block(containing: within, starts: blockStarts)
        var skip = within - blockStarts[block]
        var done = 0
        blocks.withUnsafeBufferPointer { blocks in
            while done < length {
                let current = blocks[block]
                let count = min(current.length - skip, length - done)
                let place = user + element * extent + current.offset + skip
                if unpacking {
                    copyBlock(place, packed + done, count)
                } else {
                    copyBlock(packed + done, place, count)
                }
                done += count
                skip = 0
                block += 1
                if block == blocks.count {
                    block = 0
                    element += 1
                }
            }
        }
    }

    /// The block holding byte `within` of an element's packed data, given the blocks' packed
    /// starts (a binary search).
    package static func block(containing within: Int, starts: [Int]) -> Int {
        var low = 0, high = starts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= within { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// Whether the data fills the extent with no gap, in memory order.
    var isDense: Bool { blocks.count == 1 && blocks[0].offset == 0 && blocks[0].length == extent }
}

/// The process-wide table of described datatypes.
package enum DatatypeRegistry {
    private struct Key: Hashable {
        let recipe: DatatypeRecipe
        let extent: Int
    }

    private struct Table: ~Copyable {
        var layouts: [DatatypeLayout] = []
        var index: [Key: UInt32] = [:]
    }

    private static let table = Mutex(Table())

    /// The datatype `recipe` describes with `extent`, registered on first use.
    package static func register(_ recipe: DatatypeRecipe, extent: Int) -> Datatype {
        let key = Key(recipe: recipe, extent: extent)
        if let found = table.withLock({ table in table.index[key].map { (id: $0, layout: table.layouts[Int($0) - 1]) } }) {
            return Datatype(layoutID: found.id, size: found.layout.size, extent: extent, isDense: found.layout.isDense)
        }
        // Built outside the lock: flattening a nested datatype reads the registry.
        let layout = DatatypeLayout(recipe: recipe, extent: extent)
        let id = table.withLock { table -> UInt32 in
            if let existing = table.index[key] { return existing }
            table.layouts.append(layout)
            let id = UInt32(table.layouts.count)
            table.index[key] = id
            return id
        }
        return Datatype(layoutID: id, size: layout.size, extent: extent, isDense: layout.isDense)
    }

    /// The layout of registered datatype `id`.
    package static func layout(_ id: UInt32) -> DatatypeLayout {
        table.withLock { $0.layouts[Int(id) - 1] }
    }
}
