/// Which elements of a buffer of `Element`s one message item takes: a strided or indexed
/// selection, such as a column of a row-major matrix (an MPI derived datatype built on the
/// element's datatype).
///
/// ```swift
/// // Column j of a rows × columns row-major matrix: rows elements, columns apart.
/// let column = try MessageLayout<Double>.vector(count: rows, blockLength: 1, stride: columns)
/// try world.send(grid, layout: column, at: j, to: left)
/// ```
///
/// Only the selected elements travel, packed; a receive writes only the selected elements, so
/// the rest of the buffer is untouched. On Open MPI the layout is the datatype itself
/// (`MPI_Type_vector`, `MPI_Type_create_indexed_block`, committed once and cached); the
/// shared-memory backend gathers and scatters the blocks. The constructors throw
/// `MPIError(.count)` or `MPIError(.argument)` for shapes MPI rejects (negative counts, a
/// subarray reaching past its array) and for negative displacements (which swift-mpi's
/// datatypes, whose lower bound is always 0, cannot express).
public struct MessageLayout<Element: MessageElement>: Hashable, Sendable, CustomStringConvertible {
    /// The datatype one item of the layout is.
    public let datatype: Datatype

    init(_ datatype: Datatype) { self.datatype = datatype }

    /// `count` blocks of `blockLength` consecutive elements, the starts of consecutive blocks
    /// `stride` elements apart (`MPI_Type_vector`).
    public static func vector(count: Int, blockLength: Int = 1, stride: Int) throws(MPIError) -> MessageLayout {
        MessageLayout(try .vector(count: count, blockLength: blockLength, stride: stride, of: Element.datatype))
    }

    /// Blocks of `blockLength` consecutive elements starting at each of `displacements`
    /// (element indices, in the order the data travels; `MPI_Type_create_indexed_block`).
    public static func indexed(blockLength: Int = 1, displacements: [Int]) throws(MPIError) -> MessageLayout {
        MessageLayout(try .indexed(blockLength: blockLength, displacements: displacements, of: Element.datatype))
    }

    /// Blocks of `blockLengths[i]` consecutive elements starting at element `displacements[i]`,
    /// in that order (`MPI_Type_indexed`).
    public static func indexed(blockLengths: [Int], displacements: [Int]) throws(MPIError) -> MessageLayout {
        MessageLayout(try .indexed(blockLengths: blockLengths, displacements: displacements, of: Element.datatype))
    }

    /// The block `subsizes` at `starts` of an array of `sizes` elements stored in `order`
    /// (`MPI_Type_create_subarray`): a rank's tile of a 2-D or 3-D grid, a face of a halo. One
    /// item spans the whole array; pass offset 0 for an array at the start of the buffer.
    ///
    /// ```swift
    /// // The interior of a 6 × 10 row-major grid with a one-cell halo.
    /// let interior = try MessageLayout<Double>.subarray(sizes: [6, 10], subsizes: [4, 8], starts: [1, 1])
    /// ```
    public static func subarray(
        sizes: [Int], subsizes: [Int], starts: [Int], order: Datatype.ArrayOrder = .rowMajor
    ) throws(MPIError) -> MessageLayout {
        MessageLayout(try .subarray(sizes: sizes, subsizes: subsizes, starts: starts, order: order, of: Element.datatype))
    }

    /// This layout with consecutive items `extent` elements apart instead of its own extent
    /// (`MPI_Type_create_resized`): a column resized to 1 makes `n` items the `n` consecutive
    /// columns of a matrix, so a scatter hands each rank its own columns.
    public func resized(extent: Int) throws(MPIError) -> MessageLayout {
        let (bytes, overflow) = extent.multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        guard !overflow else { throw MPIError(.count, "an extent of \(extent) elements overflows the address space") }
        return MessageLayout(try .resized(datatype, extent: bytes))
    }

    /// `count` consecutive elements (`MPI_Type_contiguous`).
    public static func contiguous(_ count: Int) throws(MPIError) -> MessageLayout {
        MessageLayout(try .contiguous(count, of: Element.datatype))
    }

    /// The column of a `rows × columns` row-major matrix (a vector of `rows` single elements,
    /// `columns` apart); pass the column's index as the offset of the operation.
    public static func column(rows: Int, columns: Int) throws(MPIError) -> MessageLayout {
        try vector(count: rows, blockLength: 1, stride: columns)
    }

    /// Elements one item moves.
    public var elementCount: Int { datatype.size / Element.datatype.size }

    /// Elements from one item's start to the next's (the extent, in elements).
    public var extentInElements: Int { datatype.extent / MemoryLayout<Element>.stride }

    public var description: String { datatype.description }
}

extension Communicator {
    /// Checks that `count` items of `layout` starting at element `offset` lie inside a buffer of
    /// `capacity` elements.
    @inlinable
    package func checkLayout<T>(
        _ layout: MessageLayout<T>, count: Int, offset: Int, capacity: Int
    ) throws(MPIError) {
        try checkCount(count)
        guard offset >= 0 else { throw MPIError(.buffer, "invalid layout offset \(offset): offsets must not be negative") }
        guard count > 0 else { return }
        let stride = MemoryLayout<T>.stride
        let (items, overflow) = (count - 1).multipliedReportingOverflow(by: layout.datatype.extent)
        let end = offset * stride + items + layout.datatype.span
        guard !overflow, end <= capacity * stride else {
            throw MPIError(.buffer, "\(count) × \(layout) at element \(offset) reaches element \((end + stride - 1) / stride), past the buffer's \(capacity) elements")
        }
    }
}
