/// A backend's name for one of its open files.
@usableFromInline
package struct FileHandle: Hashable, Sendable {
    @usableFromInline package var raw: UInt
    @inlinable package init(raw: UInt) { self.raw = raw }
}

/// Which file pointer a data access uses (MPI-4.1 §14.4.1).
@usableFromInline
package enum FilePositioning: Sendable, Equatable {
    /// An explicit offset, in elementary types of the view (`MPI_File_read_at`…).
    case explicit(Int)
    /// The process's individual file pointer, which the access advances (`MPI_File_read`…).
    case individual
    /// The shared file pointer, in rank order (`MPI_File_read_ordered`…; collective).
    case ordered
}

/// Where a seek counts from (`MPI_SEEK_SET`, `MPI_SEEK_CUR`, `MPI_SEEK_END`).
public enum FileSeekOrigin: Sendable, Hashable {
    /// From the start of the view.
    case start
    /// From the file pointer's current position.
    case current
    /// From the end of the file (in the view).
    case end
}

/// The parallel I/O part of the backend contract, MPI-4.1 chapter 14. Arguments arrive
/// validated by `File`: the file is open, the access mode allows the call, counts and offsets
/// are not negative, and a view's file type is made of whole elementary types at non-decreasing
/// offsets. Offsets and positions count in elementary types of the current view; sizes in bytes.
@usableFromInline
package protocol FileBackend: AnyObject {
    /// Opens `path` collectively over `comm` (`MPI_File_open`) with MPI's access-mode bits
    /// (``File/AccessMode``'s raw values are MPI's). Fails on every rank if it fails on one.
    func openFile(_ path: String, mode: Int, comm: CommHandle) throws(MPIError) -> FileHandle
    /// Closes `file` collectively (`MPI_File_close`), deleting it if it was opened so.
    func closeFile(_ file: FileHandle) throws(MPIError)
    /// Deletes the file at `path` (`MPI_File_delete`).
    func deleteFile(_ path: String) throws(MPIError)
    /// The file's size in bytes (`MPI_File_get_size`).
    func fileSize(_ file: FileHandle) throws(MPIError) -> Int
    /// Truncates or extends the file to `bytes` (`MPI_File_set_size`). Collective.
    func setFileSize(_ file: FileHandle, bytes: Int) throws(MPIError)
    /// Reserves storage for the first `bytes` of the file (`MPI_File_preallocate`). Collective.
    func preallocateFile(_ file: FileHandle, bytes: Int) throws(MPIError)
    /// Writes what this process wrote to the storage device (`MPI_File_sync`). Collective.
    func syncFile(_ file: FileHandle) throws(MPIError)
    /// Sets the view (`MPI_File_set_view`, data representation "native"): the data starts
    /// `displacement` bytes into the file, counts in `elementType`, and tiles `fileType` (which
    /// is `elementType` itself for a contiguous view). Collective; resets both file pointers.
    func setFileView(_ file: FileHandle, displacement: Int, elementType: Datatype, fileType: Datatype) throws(MPIError)
    /// Reads (`write` false) or writes `count` items of `type` at `buffer` through the view, at
    /// `position`; `collective` for the `_all`/ordered forms. With `request`, the immediate form
    /// (`MPI_File_iread_at`…): a handle whose completion gives the status, or a status when the
    /// access completed at once. The status's byte count is what was transferred: short at the
    /// end of the file.
    func fileAccess(
        _ file: FileHandle, write: Bool, buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        position: FilePositioning, collective: Bool, request: Bool
    ) throws(MPIError) -> (status: Status?, request: RequestHandle?)
    /// Moves the individual (`shared` false, `MPI_File_seek`) or shared (`MPI_File_seek_shared`,
    /// collective) file pointer to `offset` elementary types from `origin`.
    func seekFile(_ file: FileHandle, offset: Int, from origin: FileSeekOrigin, shared: Bool) throws(MPIError)
    /// The individual or shared file pointer, in elementary types of the view
    /// (`MPI_File_get_position`, `MPI_File_get_position_shared`).
    func filePosition(_ file: FileHandle, shared: Bool) throws(MPIError) -> Int
    /// The absolute byte position in the file of view offset `offset` (`MPI_File_get_byte_offset`).
    func fileByteOffset(_ file: FileHandle, offset: Int) throws(MPIError) -> Int
}
