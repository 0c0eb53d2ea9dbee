// Receives (MPI-4.1 §3.2, §3.7, §3.9): into an existing buffer (blocking, immediate, persistent),
// into a new array or value, and objects; the `async` forms are `communicator.async.receive…`.

extension Communicator {
    /// Where a receive's items go: the elements themselves, or `count` items of `layout`
    /// starting at element `offset`.
    @inlinable
    func message<T: MessageElement>(
        _ elements: UnsafeMutableBufferPointer<T>, layout: MessageLayout<T>?, count: Int, offset: Int
    ) throws(MPIError) -> (base: UnsafeMutableRawPointer?, count: Int, type: Datatype) {
        let message = try self.message(UnsafeBufferPointer(elements), layout: layout, count: count, offset: offset)
        return (UnsafeMutableRawPointer(mutating: message.base), message.count, message.type)
    }

    /// Receives a message of at most as many elements as `buffer` holds into it (`MPI_Recv`).
    /// With a `layout`, receives at most `count` items of it into `buffer` starting at element
    /// `offset`; elements outside the layout are not written.
    ///
    /// - Throws: `MPIError` of class ``MPIError/ErrorClass/truncate`` when the message is longer
    ///   than the buffer; the message is consumed and the job can go on.
    @inlinable @discardableResult
    public func receive<Buffer: ReceiveBuffer>(
        into buffer: inout Buffer, layout: MessageLayout<Buffer.Element>? = nil, count: Int = 1, at offset: Int = 0,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        guard try checkedPeers(source: source, tag: tag) else { return .null }
        return try buffer.withReceiveElements { (elements) throws(MPIError) in
            let message = try self.message(elements, layout: layout, count: count, offset: offset)
            return try backend.receive(into: message.base, count: message.count, type: message.type, from: source, tag: tag, comm: handle)
        }
    }

    /// Receives a message into the memory viewed by `span` (`MPI_Recv`).
    @inlinable @discardableResult
    public func receive<T: MessageElement>(
        into span: inout MutableSpan<T>,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try span.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in
            var buffer = buffer
            return try receive(into: &buffer, from: source, tag: tag)
        }
    }

    /// Receives one value (`MPI_Recv` with a count of 1).
    ///
    /// - Throws: `MPIError(.truncate)` when the message holds more than one value, or fewer.
    @inlinable
    public func receive<T: MessageElement>(
        _ type: T.Type, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> T {
        try withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { (buffer) throws(MPIError) in
            // Bytes a struct datatype leaves out (padding, unnamed fields) read as zero.
            if !T.datatype.isDense { UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0) }
            var target = buffer
            let status = try receive(into: &target, from: source, tag: tag)
            guard status.byteCount == T.datatype.size else {
                throw MPIError(.truncate, "expected one \(T.self) (\(T.datatype.size) bytes) from rank \(status.source), got \(status.byteCount) bytes")
            }
            return buffer[0]
        }
    }

    /// Receives a whole message into a new array. Without a `count` the message is taken out of
    /// matching by a matched probe first, which gives its size (`MPI_Mprobe` + `MPI_Mrecv`: no
    /// other thread's receive can take it in between); with one, a message of at most `count`
    /// elements is received (`MPI_Recv`).
    ///
    /// - Throws: `MPIError(.type)` when, without a `count`, the message is not a whole number of
    ///   `T`s: the message is consumed all the same, as a truncated one is.
    @inlinable
    public func receiveArray<T: MessageElement>(
        of type: T.Type, count: Int? = nil, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> (values: [T], status: Status) {
        guard let count else { return try matchedProbe(from: source, tag: tag).receiveArray(of: T.self) }
        try checkCount(count)
        var status = Status.null
        let values = try makeArray(count: count) { (buffer: UnsafeMutableBufferPointer<T>) throws(MPIError) in
            var target = buffer
            status = try receive(into: &target, from: source, tag: tag)
        }
        let received = status.count(of: T.self) ?? values.count
        return (received == values.count ? values : Array(values.prefix(received)), status)
    }

    /// Starts receiving at most as many elements as `buffer` holds (or `count` items of
    /// `layout` from element `offset`) and returns at once (`MPI_Irecv`).
    ///
    /// A ``MessageBuffer`` (or a slice of one) is lent until the request completes: reading or
    /// writing it before then traps, and starting another operation on it throws. An
    /// `UnsafeMutableBufferPointer` is used as it is: the caller keeps it alive and untouched.
    @inlinable
    public func immediateReceive<Buffer: LendableReceiveBuffer>(
        into buffer: Buffer, layout: MessageLayout<Buffer.Element>? = nil, count: Int = 1, at offset: Int = 0,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Request {
        let origin = RequestOrigin(.receive, peer: source, tag: tag)
        guard try checkedPeers(source: source, tag: tag) else { return .completed(backendReference, .null, origin: origin) }
        let lent = try buffer.lendForReceiving()
        do throws(MPIError) {
            let message = try self.message(lent.elements, layout: layout, count: count, offset: offset)
            let handle = try backend.immediateReceive(
                into: message.base, count: message.count, type: message.type, from: source, tag: tag, comm: self.handle)
            return Request(backend: backendReference, handle: handle, loan: lent.loan.loan, result: nil, origin: origin)
        } catch {
            lent.loan.loan.end()
            throw error
        }
    }

    /// Starts receiving a message of at most `count` elements into a new array, which the
    /// request's `wait()` returns (`MPI_Irecv`).
    @inlinable
    public func immediateReceiveArray<T: MessageElement>(
        of type: T.Type, count: Int, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> ReceiveRequest<T> {
        try checkCount(count)
        let origin = RequestOrigin(.receive, peer: source, tag: tag)
        guard try checkedPeers(source: source, tag: tag) else {
            return ReceiveRequest(request: .completed(backendReference, .null, origin: origin), storage: nil)
        }
        let storage = OwnedElements<T>(zeroedCount: count)
        let handle = try backend.immediateReceive(
            into: UnsafeMutableRawPointer(storage.storage.baseAddress), count: count, type: T.datatype,
            from: source, tag: tag, comm: self.handle)
        return ReceiveRequest(
            request: Request(backend: backendReference, handle: handle, loan: .retained(storage), result: nil, origin: origin),
            storage: storage)
    }

    /// A persistent receive into `buffer` (or `count` items of `layout` from element `offset`),
    /// inactive until ``Request/start()`` (`MPI_Recv_init`). A ``MessageBuffer`` is locked
    /// while the request is active. With ``nullProcess`` as `source` every start completes at
    /// once with the null status (MPI-4.1 §3.11).
    public func persistentReceive<Buffer: LendableReceiveBuffer>(
        into buffer: Buffer, layout: MessageLayout<Buffer.Element>? = nil, count: Int = 1, at offset: Int = 0,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Request {
        let origin = RequestOrigin(.persistentReceive, peer: source, tag: tag)
        guard try checkedPeers(source: source, tag: tag) else { return .persistentWithNullProcess(backendReference, origin: origin) }
        // Inactive until started: each start lends the buffer again.
        let lent = try buffer.lendForPersistentReceiving()
        let message = try self.message(lent.elements, layout: layout, count: count, offset: offset)
        let handle = try backend.persistentReceive(
            into: message.base, count: message.count, type: message.type, from: source, tag: tag, comm: self.handle)
        return Request(backend: backendReference, handle: handle, loan: lent.loan.loan,
            result: Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0), persistent: true,
            origin: origin)
    }

    /// Receives an object sent by ``send(object:to:tag:mode:)`` and decodes it as a `T`
    /// (mpi4py's `comm.recv(source=, tag=, status=)`; `MPI_Mprobe` for the size, then `MPI_Mrecv`).
    ///
    /// - Returns: The object and the message's status: its source, tag and size in bytes.
    /// - Throws: `MPIError` of class ``MPIError/ErrorClass/type`` when the message does not
    ///   decode as a `T` (another type was sent: the error names the missing key or the
    ///   mismatched value); the message is consumed and the job can go on.
    ///   ``MPIError/ErrorClass/rank`` for ``nullProcess``, which sends no object.
    public func receiveObject<T: Decodable>(
        _ type: T.Type, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> (value: T, status: Status) {
        guard try checkedPeers(source: source, tag: tag) else { throw Communicator.noObjectFromNullProcess() }
        return try matchedProbe(from: source, tag: tag).receiveObject(T.self)
    }

    /// Starts receiving an object of at most `capacity` encoded bytes and returns at once
    /// (mpi4py's `comm.irecv(buf, source, tag)`; `MPI_Irecv` into memory the request owns). The
    /// receive is posted now, so it matches in the order MPI promises and lets a large send
    /// complete before anyone waits; `wait()` decodes the object as a `T`.
    ///
    /// An object's size is not known before it arrives and a posted receive needs its room up
    /// front, so `capacity` bounds it: a larger object fails with `MPIError(.truncate)` and is
    /// lost, as in mpi4py. ``receiveObject(_:from:tag:)`` (blocking) has no bound.
    ///
    /// - Throws: ``MPIError/ErrorClass/rank`` for ``nullProcess``, which sends no object;
    ///   ``MPIError/ErrorClass/count`` for a capacity below 1.
    public func immediateReceiveObject<T: Decodable>(
        _ type: T.Type, capacity: Int = 1 << 16, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> ObjectReceiveRequest<T> {
        guard capacity >= 1 else { throw MPIError(.count, "an object receive needs a capacity of at least 1 byte, got \(capacity)") }
        guard try checkedPeers(source: source, tag: tag) else { throw Communicator.noObjectFromNullProcess() }
        return ObjectReceiveRequest(request: try immediateReceiveArray(of: UInt8.self, count: capacity, from: source, tag: tag))
    }

    static func noObjectFromNullProcess() -> MPIError {
        MPIError(.rank, "the null process sends no object: a receive of an object needs a real source rank or anySource")
    }
}
