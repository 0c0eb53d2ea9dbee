// Writing a `File` (MPI-4.1 §14.4): explicit offsets, the individual file pointer, the shared
// file pointer in rank order; blocking, collective and immediate. Offsets count in elementary
// types of the view; the status's byte count is what was written.

extension File {
    /// Writes `buffer`'s elements at `offset` (`MPI_File_write_at`).
    @discardableResult
    public func write<Buffer: SendBuffer>(_ buffer: Buffer, at offset: Int) throws(MPIError) -> Status {
        try write("write(at:)", buffer, .explicit(offset), collective: false)
    }

    /// Writes `buffer`'s elements at the individual file pointer, and advances it (`MPI_File_write`).
    @discardableResult
    public func write<Buffer: SendBuffer>(_ buffer: Buffer) throws(MPIError) -> Status {
        try write("write", buffer, .individual, collective: false)
    }

    /// Writes `buffer`'s elements at `offset`, collectively (`MPI_File_write_at_all`): every rank
    /// of the file calls it, each with its own offset and data (0 elements included).
    @discardableResult
    public func writeAtAll<Buffer: SendBuffer>(_ buffer: Buffer, at offset: Int) throws(MPIError) -> Status {
        try write("writeAtAll", buffer, .explicit(offset), collective: true)
    }

    /// Writes `buffer`'s elements at each rank's individual file pointer, collectively
    /// (`MPI_File_write_all`).
    @discardableResult
    public func writeAll<Buffer: SendBuffer>(_ buffer: Buffer) throws(MPIError) -> Status {
        try write("writeAll", buffer, .individual, collective: true)
    }

    /// Writes `buffer`'s elements at the shared file pointer in rank order, collectively
    /// (`MPI_File_write_ordered`): rank 0's data first, then rank 1's, and so on; the shared
    /// pointer ends after the last.
    @discardableResult
    public func writeOrdered<Buffer: SendBuffer>(_ buffer: Buffer) throws(MPIError) -> Status {
        try write("writeOrdered", buffer, .ordered, collective: true)
    }

    /// Starts a write of `buffer`'s elements at `offset` (`MPI_File_iwrite_at`); the buffer is
    /// lent to the request (an array is copied first).
    public func immediateWrite<Buffer: SendBuffer>(_ buffer: Buffer, at offset: Int) throws(MPIError) -> Request {
        try immediateWrite("immediateWrite(at:)", buffer, .explicit(offset), collective: false)
    }

    /// Starts a write at the individual file pointer (`MPI_File_iwrite`), which moves on at once.
    public func immediateWrite<Buffer: SendBuffer>(_ buffer: Buffer) throws(MPIError) -> Request {
        try immediateWrite("immediateWrite", buffer, .individual, collective: false)
    }

    /// Starts a collective write at `offset` (`MPI_File_iwrite_at_all`).
    public func immediateWriteAtAll<Buffer: SendBuffer>(_ buffer: Buffer, at offset: Int) throws(MPIError) -> Request {
        try immediateWrite("immediateWriteAtAll", buffer, .explicit(offset), collective: true)
    }

    /// Starts a collective write at the individual file pointers (`MPI_File_iwrite_all`).
    public func immediateWriteAll<Buffer: SendBuffer>(_ buffer: Buffer) throws(MPIError) -> Request {
        try immediateWrite("immediateWriteAll", buffer, .individual, collective: true)
    }
}
