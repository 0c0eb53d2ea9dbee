// Reading a `File` (MPI-4.1 §14.4): explicit offsets, the individual file pointer, the shared
// file pointer in rank order; blocking, collective and immediate. Offsets count in elementary
// types of the view. A read past the end of the file is short, not an error: the status's byte
// count (or the returned array) says how much was read.

extension File {
    /// Reads into `buffer` from `offset` (`MPI_File_read_at`).
    @discardableResult
    public func read<Buffer: ReceiveBuffer>(at offset: Int, into buffer: inout Buffer) throws(MPIError) -> Status {
        try read("read(at:)", &buffer, .explicit(offset), collective: false)
    }

    /// Up to `count` elements from `offset` (`MPI_File_read_at`): fewer at the end of the file.
    public func read<Element: MessageElement>(at offset: Int, count: Int, as type: Element.Type = Element.self) throws(MPIError) -> [Element] {
        try read("read(at:)", count: count, .explicit(offset), collective: false)
    }

    /// Reads into `buffer` at the individual file pointer, and advances it (`MPI_File_read`).
    @discardableResult
    public func read<Buffer: ReceiveBuffer>(into buffer: inout Buffer) throws(MPIError) -> Status {
        try read("read", &buffer, .individual, collective: false)
    }

    /// Up to `count` elements at the individual file pointer, which advances past them (`MPI_File_read`).
    public func read<Element: MessageElement>(count: Int, as type: Element.Type = Element.self) throws(MPIError) -> [Element] {
        try read("read", count: count, .individual, collective: false)
    }

    /// Reads into `buffer` from `offset`, collectively (`MPI_File_read_at_all`).
    @discardableResult
    public func readAtAll<Buffer: ReceiveBuffer>(at offset: Int, into buffer: inout Buffer) throws(MPIError) -> Status {
        try read("readAtAll", &buffer, .explicit(offset), collective: true)
    }

    /// Up to `count` elements from `offset`, collectively (`MPI_File_read_at_all`).
    public func readAtAll<Element: MessageElement>(at offset: Int, count: Int, as type: Element.Type = Element.self) throws(MPIError) -> [Element] {
        try read("readAtAll", count: count, .explicit(offset), collective: true)
    }

    /// Reads into `buffer` at each rank's individual file pointer, collectively (`MPI_File_read_all`).
    @discardableResult
    public func readAll<Buffer: ReceiveBuffer>(into buffer: inout Buffer) throws(MPIError) -> Status {
        try read("readAll", &buffer, .individual, collective: true)
    }

    /// Up to `count` elements at each rank's individual file pointer, collectively (`MPI_File_read_all`).
    public func readAll<Element: MessageElement>(count: Int, as type: Element.Type = Element.self) throws(MPIError) -> [Element] {
        try read("readAll", count: count, .individual, collective: true)
    }

    /// Reads into `buffer` at the shared file pointer in rank order, collectively
    /// (`MPI_File_read_ordered`): rank 0 reads first, rank 1 what follows, and so on.
    @discardableResult
    public func readOrdered<Buffer: ReceiveBuffer>(into buffer: inout Buffer) throws(MPIError) -> Status {
        try read("readOrdered", &buffer, .ordered, collective: true)
    }

    /// Up to `count` elements at the shared file pointer in rank order, collectively (`MPI_File_read_ordered`).
    public func readOrdered<Element: MessageElement>(count: Int, as type: Element.Type = Element.self) throws(MPIError) -> [Element] {
        try read("readOrdered", count: count, .ordered, collective: true)
    }

    /// Starts a read into `buffer` from `offset` (`MPI_File_iread_at`); the buffer is lent to the
    /// request (a ``MessageBuffer`` traps when read before the request completes).
    public func immediateRead<Buffer: LendableReceiveBuffer>(at offset: Int, into buffer: Buffer) throws(MPIError) -> Request {
        try immediateRead("immediateRead(at:)", buffer, .explicit(offset), collective: false)
    }

    /// Starts a read at the individual file pointer (`MPI_File_iread`), which moves on at once.
    public func immediateRead<Buffer: LendableReceiveBuffer>(into buffer: Buffer) throws(MPIError) -> Request {
        try immediateRead("immediateRead", buffer, .individual, collective: false)
    }

    /// Starts a collective read from `offset` (`MPI_File_iread_at_all`).
    public func immediateReadAtAll<Buffer: LendableReceiveBuffer>(at offset: Int, into buffer: Buffer) throws(MPIError) -> Request {
        try immediateRead("immediateReadAtAll", buffer, .explicit(offset), collective: true)
    }

    /// Starts a collective read at the individual file pointers (`MPI_File_iread_all`).
    public func immediateReadAll<Buffer: LendableReceiveBuffer>(into buffer: Buffer) throws(MPIError) -> Request {
        try immediateRead("immediateReadAll", buffer, .individual, collective: true)
    }
}
