/// What a receive or probe found: the message's source, tag and size (`MPI_Status`).
public struct Status: Sendable, Hashable, CustomStringConvertible {
    /// Rank of the sender in the communicator, or ``Communicator/nullProcess``.
    public var source: Int
    /// Tag of the message, or ``Communicator/anyTag`` for a receive from the null process.
    public var tag: Int
    /// The error class of this operation, `nil` when it succeeded.
    public var error: MPIError.ErrorClass?
    /// Size of the message in bytes.
    public var byteCount: Int
    /// Whether the operation was cancelled instead of completing (`MPI_Test_cancelled`).
    public var isCancelled: Bool = false

    @inlinable
    public init(source: Int, tag: Int, error: MPIError.ErrorClass? = nil, byteCount: Int) {
        self.source = source
        self.tag = tag
        self.error = error
        self.byteCount = byteCount
    }

    /// Number of elements of `type` in the message, or `nil` when the size is not a whole
    /// number of them (`MPI_Get_count`, which returns `MPI_UNDEFINED` then). An element counts
    /// its datatype's ``Datatype/size``: the data of the fields a struct datatype names.
    @inlinable
    public func count<T: MessageElement>(of type: T.Type) -> Int? {
        count(of: T.datatype)
    }

    /// Number of elements of `datatype` in the message (`MPI_Get_count`), `nil` when not whole.
    @inlinable
    public func count(of datatype: Datatype) -> Int? {
        let size = datatype.size
        guard size > 0 else { return byteCount == 0 ? 0 : nil }
        return byteCount % size == 0 ? byteCount / size : nil
    }

    /// The status of a receive from the null process: source null, any tag, empty.
    @inlinable public static var null: Status { Status(source: Communicator.nullProcess, tag: Communicator.anyTag, byteCount: 0) }

    /// The status a request keeps when its operation failed with `error` (which was thrown).
    @usableFromInline
    package static func failed(_ error: MPIError) -> Status {
        Status(source: Communicator.anySource, tag: Communicator.anyTag, error: error.errorClass, byteCount: 0)
    }

    public var description: String {
        "Status(source: \(source), tag: \(tag), bytes: \(byteCount)\(isCancelled ? ", cancelled" : "")\(error.map { ", error: \($0)" } ?? ""))"
    }
}
