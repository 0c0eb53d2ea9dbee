import Synchronization

/// A file opened collectively by the ranks of a communicator: parallel I/O (`MPI_File`,
/// MPI-4.1 chapter 14).
///
/// ```swift
/// let file = try File.open("/scratch/state.bin", mode: [.create, .writeOnly], on: world)
/// try file.setView(displacement: 0, elementType: Double.self)
/// try file.writeAtAll(myShard, at: world.rank * myShard.count)   // offsets count in Doubles
/// try file.close()
/// ```
///
/// What a data access reads or writes is seen through the file's **view**
/// (``setView(displacement:elementType:fileType:)``): the data starts `displacement` bytes into
/// the file, offsets and positions count in the view's elementary type, and a file type (a
/// ``MessageLayout`` such as a subarray) selects which parts of the file belong to this rank.
/// Until a view is set the file is a stream of bytes, so offsets count in bytes.
///
/// Accesses come in MPI's three positionings: explicit offsets (``read(at:into:)``,
/// ``write(_:at:)``), the rank's individual file pointer (``read(into:)``, ``write(_:)``,
/// ``seek(to:from:)``) and, in rank order, the shared file pointer (``writeOrdered(_:)``,
/// ``readOrdered(into:)``); each has a collective form that every rank of the file's
/// communicator calls (`…All`, and the ordered ones), and an immediate form that returns a
/// ``Request`` (buffers are lent under the rules of nonblocking operations). A status's
/// ``Status/byteCount`` is what was transferred: a read past the end of the file is short,
/// not an error, as MPI says.
///
/// The file is closed by ``close()`` or when dropped (both collective); any use after that
/// throws ``MPIError/ErrorClass/file``. Failures throw an ``MPIError`` whose class says what
/// happened (``MPIError/ErrorClass/noSuchFile``, ``MPIError/ErrorClass/access``,
/// ``MPIError/ErrorClass/fileExists``, ``MPIError/ErrorClass/readOnly``, …) and whose message
/// names the path.
public final class File: @unchecked Sendable, CustomStringConvertible {
    /// How a file is opened (`MPI_MODE_*`; the raw values are MPI's). Exactly one of
    /// ``readOnly``, ``writeOnly`` and ``readWrite``, with any of the others.
    public struct AccessMode: OptionSet, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: Int
        @inlinable public init(rawValue: Int) { self.rawValue = rawValue }

        /// Create the file if it does not exist (`MPI_MODE_CREATE`).
        public static let create = AccessMode(rawValue: 1)
        /// Read only (`MPI_MODE_RDONLY`).
        public static let readOnly = AccessMode(rawValue: 2)
        /// Write only (`MPI_MODE_WRONLY`).
        public static let writeOnly = AccessMode(rawValue: 4)
        /// Read and write (`MPI_MODE_RDWR`).
        public static let readWrite = AccessMode(rawValue: 8)
        /// Delete the file when it is closed (`MPI_MODE_DELETE_ON_CLOSE`).
        public static let deleteOnClose = AccessMode(rawValue: 16)
        /// No one else opens the file meanwhile (`MPI_MODE_UNIQUE_OPEN`).
        public static let uniqueOpen = AccessMode(rawValue: 32)
        /// With ``create``: fail with ``MPIError/ErrorClass/fileExists`` if the file exists
        /// (`MPI_MODE_EXCL`).
        public static let exclusive = AccessMode(rawValue: 64)
        /// Start both file pointers at the end of the file (`MPI_MODE_APPEND`).
        public static let append = AccessMode(rawValue: 128)
        /// The file is only accessed sequentially, through the shared file pointer
        /// (`MPI_MODE_SEQUENTIAL`): explicit offsets are not allowed.
        public static let sequential = AccessMode(rawValue: 256)

        public var description: String {
            let names: [(AccessMode, String)] = [
                (.create, "create"), (.readOnly, "readOnly"), (.writeOnly, "writeOnly"), (.readWrite, "readWrite"),
                (.deleteOnClose, "deleteOnClose"), (.uniqueOpen, "uniqueOpen"), (.exclusive, "exclusive"),
                (.append, "append"), (.sequential, "sequential"),
            ]
            return "[" + names.filter { contains($0.0) }.map(\.1).joined(separator: ", ") + "]"
        }
    }

    let backend: any Backend
    /// The backend as requests hold it (see `BackendReference`).
    @usableFromInline let backendReference: Unmanaged<BackendReference>
    let handle: FileHandle
    /// The communicator the file was opened on (a private duplicate of it).
    public let communicator: Communicator
    /// The path the file was opened with.
    public let path: String
    /// The mode the file was opened with.
    public let mode: AccessMode
    private let state: Mutex<(closed: Bool, view: FileView)>

    private init(backend: any Backend, handle: FileHandle, communicator: Communicator, path: String, mode: AccessMode) {
        self.backend = backend
        backendReference = BackendReference.of(backend)
        self.handle = handle
        self.communicator = communicator
        self.path = path
        self.mode = mode
        state = Mutex((false, FileView.bytes))
    }

    deinit {
        let open = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        guard open, backend.isActive else { return }
        do {
            try backend.closeFile(handle)
        } catch {
            writeToStandardError("swift-mpi: warning: closing the dropped File \(path) failed: \(error)\n")
        }
    }

    /// This process's rank in the file's communicator.
    public var rank: Int { communicator.rank }

    public var description: String { "File(\(path), \(mode), rank \(rank) of \(communicator.size))" }

    // MARK: Opening, closing, deleting

    /// Opens the file at `path` on every rank of `communicator` (`MPI_File_open`). Collective:
    /// every rank passes the same mode (a mismatch throws ``MPIError/ErrorClass/notSame`` on
    /// every rank) and a path naming the same file; if the open fails on any rank it fails on
    /// every rank, and nothing stays open.
    public static func open(_ path: String, mode: AccessMode, on communicator: Communicator) throws(MPIError) -> File {
        try communicator.checkActive()
        let access = mode.intersection([.readOnly, .writeOnly, .readWrite])
        guard access == .readOnly || access == .writeOnly || access == .readWrite else {
            throw MPIError(.accessMode, "opening \(path) with mode \(mode): give exactly one of readOnly, writeOnly and readWrite")
        }
        if access == .readOnly && !mode.isDisjoint(with: [.create, .exclusive]) {
            throw MPIError(.accessMode, "opening \(path) with mode \(mode): a read-only open cannot create the file")
        }
        if mode.contains(.sequential) && access == .readWrite {
            throw MPIError(.accessMode, "opening \(path) with mode \(mode): a sequential file is read-only or write-only")
        }
        guard !path.isEmpty else { throw MPIError(.badFile, "cannot open a file with an empty path") }
        let duplicate = try communicator.duplicate()
        if let other = try disagreement([Int64(mode.rawValue)], on: duplicate) {
            throw MPIError(.notSame, "opening \(path): rank \(duplicate.rank) gave mode \(mode), rank \(other.rank) gave \(AccessMode(rawValue: Int(other.values[0])))")
        }
        let handle = try communicator.backend.openFile(path, mode: mode.rawValue, comm: duplicate.handle)
        return File(backend: communicator.backend, handle: handle, communicator: duplicate, path: path, mode: mode)
    }

    /// Closes the file (`MPI_File_close`), deleting it if it was opened with
    /// ``AccessMode/deleteOnClose``. Collective. Further calls on the file throw
    /// ``MPIError/ErrorClass/file``; closing twice is an error too.
    public func close() throws(MPIError) {
        try communicator.checkActive()
        let open = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        guard open else { throw MPIError(.file, "\(path) is closed already") }
        try backend.closeFile(handle)
    }

    /// Deletes the file at `path` (`MPI_File_delete`). Not collective. Throws
    /// ``MPIError/ErrorClass/noSuchFile`` when there is none.
    public static func delete(_ path: String) throws(MPIError) {
        switch Runtime.current {
        case .active(let backend, _, _): try backend.deleteFile(path)
        case .uninitialized: throw MPIError(.notInitialized, "File.delete(\(path)) needs Environment.initialize() first")
        case .finalized: throw MPIError.finalized()
        }
    }

    // MARK: Size

    /// The file's size in bytes (`MPI_File_get_size`).
    public var size: Int {
        get throws(MPIError) {
            try checkOpen()
            return try backend.fileSize(handle)
        }
    }

    /// Truncates or extends the file to `bytes` (`MPI_File_set_size`). Collective, with the same
    /// size on every rank.
    public func setSize(_ bytes: Int) throws(MPIError) {
        try checkWritable("setSize")
        guard bytes >= 0 else { throw MPIError(.argument, "setSize(\(bytes)) of \(path): a size cannot be negative") }
        try agree(bytes, "setSize")
        try backend.setFileSize(handle, bytes: bytes)
    }

    /// Makes sure storage is reserved for the first `bytes` of the file, extending it if it is
    /// smaller (`MPI_File_preallocate`). Collective, with the same size on every rank.
    public func preallocate(_ bytes: Int) throws(MPIError) {
        try checkWritable("preallocate")
        guard bytes >= 0 else { throw MPIError(.argument, "preallocate(\(bytes)) of \(path): a size cannot be negative") }
        try agree(bytes, "preallocate")
        try backend.preallocateFile(handle, bytes: bytes)
    }

    /// Transfers what this rank wrote to the storage device, and makes writes of other ranks
    /// visible to this rank's reads when separated from them by a barrier (`MPI_File_sync`;
    /// sync, barrier, sync is MPI's recipe for a rank reading what another wrote). Collective.
    public func sync() throws(MPIError) {
        try checkOpen()
        try backend.syncFile(handle)
    }

    // MARK: Views

    /// The current view: where the data starts, what offsets count in, which bytes are this
    /// rank's.
    public var view: FileView { state.withLock { $0.view } }

    /// Sets the view (`MPI_File_set_view`, data representation "native"): the data starts
    /// `displacement` bytes into the file, offsets count in `Element`s, and `fileType` (a layout
    /// of `Element`s, tiled over the file) selects this rank's elements — a
    /// ``MessageLayout/subarray(sizes:subsizes:starts:order:)`` maps a rank's block of a grid to
    /// its place in a row-major file. Without `fileType` every element is this rank's.
    /// Collective (file types may differ between ranks, the element type may not); resets both
    /// file pointers to 0.
    public func setView<Element: MessageElement>(
        displacement: Int = 0, elementType: Element.Type, fileType: MessageLayout<Element>? = nil
    ) throws(MPIError) {
        try setView(displacement: displacement, elementType: Element.datatype, fileType: fileType?.datatype)
    }

    /// Sets the view with datatypes (`MPI_File_set_view`): `fileType` (by default
    /// `elementType`) must be made of whole `elementType`s at non-decreasing offsets.
    public func setView(displacement: Int = 0, elementType: Datatype, fileType: Datatype? = nil) throws(MPIError) {
        try checkOpen()
        let fileType = fileType ?? elementType
        guard displacement >= 0 else {
            throw MPIError(.argument, "setView of \(path): displacement \(displacement) is negative")
        }
        guard elementType.size > 0 else {
            throw MPIError(.type, "setView of \(path): the elementary type \(elementType) holds no data")
        }
        guard fileType.size > 0 else {
            throw MPIError(.type, "setView of \(path): the file type \(fileType) holds no data")
        }
        guard fileType.size % elementType.size == 0 else {
            throw MPIError(.type, "setView of \(path): the file type \(fileType) (\(fileType.size) bytes of data) is not made of whole elementary types \(elementType) (\(elementType.size) bytes)")
        }
        var end = 0
        for block in fileType.blocks {
            // A block of a predefined elementary type holds whole ones (a composed one's blocks
            // are its fields, checked by the size above).
            guard elementType.recipe != nil || block.length % elementType.size == 0 else {
                throw MPIError(.type, "setView of \(path): the file type \(fileType) is not made of whole elementary types \(elementType) (a block of \(block.length) bytes at byte \(block.offset))")
            }
            guard block.offset >= end else {
                throw MPIError(.type, "setView of \(path): the file type's blocks must lie at non-decreasing offsets (MPI-4.1 §14.3); one at byte \(block.offset) follows one ending at \(end)")
            }
            end = block.offset + block.length
        }
        if mode.contains(.sequential) {
            throw MPIError(.unsupported, "setView of \(path): a file opened sequential keeps its view")
        }
        if let other = try File.disagreement([Int64(elementType.size)], on: communicator) {
            throw MPIError(.notSame, "setView of \(path): rank \(rank)'s elementary type has \(elementType.size) bytes, rank \(other.rank)'s \(other.values[0])")
        }
        try backend.setFileView(handle, displacement: displacement, elementType: elementType, fileType: fileType)
        state.withLock { $0.view = FileView(displacement: displacement, elementType: elementType, fileType: fileType) }
    }

    // MARK: File pointers

    /// This rank's individual file pointer, in elementary types of the view
    /// (`MPI_File_get_position`).
    public var position: Int {
        get throws(MPIError) {
            try checkOpen()
            return try backend.filePosition(handle, shared: false)
        }
    }

    /// The shared file pointer, in elementary types of the view (`MPI_File_get_position_shared`).
    public var sharedPosition: Int {
        get throws(MPIError) {
            try checkOpen()
            return try backend.filePosition(handle, shared: true)
        }
    }

    /// Moves this rank's individual file pointer to `offset` elementary types from `origin`
    /// (`MPI_File_seek`). A position before the start of the view throws `.argument`.
    public func seek(to offset: Int, from origin: FileSeekOrigin = .start) throws(MPIError) {
        try checkOpen()
        try checkSeek(offset, origin, shared: false)
        try backend.seekFile(handle, offset: offset, from: origin, shared: false)
    }

    /// Moves the shared file pointer (`MPI_File_seek_shared`). Collective, with the same
    /// arguments on every rank.
    public func seekShared(to offset: Int, from origin: FileSeekOrigin = .start) throws(MPIError) {
        try checkOpen()
        try checkSeek(offset, origin, shared: true)
        let code: Int = switch origin { case .start: 0; case .current: 1; case .end: 2 }
        if let other = try File.disagreement([Int64(offset), Int64(code)], on: communicator) {
            throw MPIError(.notSame, "seekShared of \(path): rank \(rank) seeks to \(offset) from \(origin), rank \(other.rank) to \(other.values[0]) from another origin or offset")
        }
        try backend.seekFile(handle, offset: offset, from: origin, shared: true)
    }

    /// The byte of the file that view offset `offset` stands for (`MPI_File_get_byte_offset`).
    public func byteOffset(of offset: Int) throws(MPIError) -> Int {
        try checkOpen()
        guard offset >= 0 else { throw MPIError(.argument, "byteOffset(of: \(offset)) of \(path): offsets are not negative") }
        return try backend.fileByteOffset(handle, offset: offset)
    }

    // MARK: Checks

    func checkOpen() throws(MPIError) {
        guard backend.isActive else { throw MPIError.finalized() }
        if state.withLock({ $0.closed }) { throw MPIError(.file, "\(path) was closed") }
    }

    func checkWritable(_ what: String) throws(MPIError) {
        try checkOpen()
        if mode.contains(.readOnly) {
            throw MPIError(.readOnly, "\(what) on \(path), which was opened read-only")
        }
    }

    func checkSeek(_ offset: Int, _ origin: FileSeekOrigin, shared: Bool) throws(MPIError) {
        if origin == .start && offset < 0 {
            throw MPIError(.argument, "seek of \(path) to \(offset): a position before the start of the view")
        }
        if mode.contains(.sequential) && !shared {
            throw MPIError(.unsupported, "seek of \(path): a file opened sequential has no individual file pointer to move")
        }
    }

    /// Checks that every rank passed the same `value` to a collective call.
    func agree(_ value: Int, _ what: String) throws(MPIError) {
        if let other = try File.disagreement([Int64(value)], on: communicator) {
            throw MPIError(.notSame, "\(what) of \(path): rank \(rank) gave \(value), rank \(other.rank) gave \(other.values[0])")
        }
    }

    /// All-gathers this rank's arguments of a collective call; the first rank that gave others,
    /// and what it gave, or `nil` when every rank agrees. Every rank learns the same, so every
    /// rank throws together.
    static func disagreement(_ values: [Int64], on communicator: Communicator) throws(MPIError) -> (rank: Int, values: [Int64])? {
        let table = try communicator.allGather(values)
        for peer in 0..<communicator.size {
            let theirs = table[(peer * values.count)..<((peer + 1) * values.count)]
            if !theirs.elementsEqual(values) { return (peer, Array(theirs)) }
        }
        return nil
    }
}

/// A file's view (MPI-4.1 §14.3): where its data starts, the elementary type offsets count in,
/// and the file type that selects this rank's part.
public struct FileView: Sendable, Hashable, CustomStringConvertible {
    /// Bytes from the start of the file to where the view's data begins.
    public var displacement: Int
    /// What offsets and positions count in (bytes by default).
    public var elementType: Datatype
    /// The pattern tiled over the file from `displacement` on; its data is this rank's.
    public var fileType: Datatype

    /// The view a file opens with: bytes from the start.
    public static var bytes: FileView { FileView(displacement: 0, elementType: .byte, fileType: .byte) }

    public var description: String { "FileView(displacement: \(displacement), elementType: \(elementType), fileType: \(fileType))" }
}
