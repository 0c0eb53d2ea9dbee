// Sends (MPI-4.1 §3.2, §3.7, §3.9): blocking, immediate, persistent and object forms; the `async`
// form is `communicator.async.send` (Async.swift).
//
// One generic entry point per form takes any `SendBuffer` — an array, a slice, a buffer pointer, a
// `MessageBuffer`, a single value — and optionally a `MessageLayout` of it. Entry points are
// `@inlinable`, so they specialize in the caller and reach the backend with a raw pointer, a count
// and a datatype: no allocation per message.

extension Communicator {
    /// Where a message's items start, how many there are and their datatype: the elements
    /// themselves, or `count` items of `layout` starting at element `offset`.
    @inlinable
    func message<T: MessageElement>(
        _ elements: UnsafeBufferPointer<T>, layout: MessageLayout<T>?, count: Int, offset: Int
    ) throws(MPIError) -> (base: UnsafeRawPointer?, count: Int, type: Datatype) {
        guard let layout else {
            guard count == 1 && offset == 0 else {
                throw MPIError(.argument, "a count (\(count)) and an offset (\(offset)) select items of a layout: pass `layout:` too, or a slice of the buffer")
            }
            return (UnsafeRawPointer(elements.baseAddress), elements.count, T.datatype)
        }
        try checkLayout(layout, count: count, offset: offset, capacity: elements.count)
        return (UnsafeRawPointer(elements.baseAddress.map { $0 + offset }), count, layout.datatype)
    }

    /// Sends the elements of `buffer` to rank `dest` (`MPI_Send`, or `MPI_Ssend` in synchronous
    /// mode). With a `layout`, sends `count` items of it taken from `buffer` starting at element
    /// `offset` (`MPI_Send` with a derived datatype). A send to ``nullProcess`` does nothing.
    ///
    /// ```swift
    /// try world.send([1.0, 2.0, 3.0], to: 1)
    /// try world.send(42, to: 1, tag: 7)
    /// try world.send(grid, layout: column, at: j, to: left)
    /// ```
    @inlinable
    public func send<Buffer: SendBuffer>(
        _ buffer: Buffer, layout: MessageLayout<Buffer.Element>? = nil, count: Int = 1, at offset: Int = 0,
        to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) {
        guard try checkedPeers(destination: dest, tag: tag) else { return }
        try buffer.withSendElements { (elements) throws(MPIError) in
            let message = try self.message(elements, layout: layout, count: count, offset: offset)
            try backend.send(message.base, count: message.count, type: message.type, to: dest, tag: tag, comm: handle, mode: mode)
        }
    }

    /// Sends the elements viewed by `span` to rank `dest` (`MPI_Send` / `MPI_Ssend`).
    @inlinable
    public func send<T: MessageElement>(
        _ span: Span<T>, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) {
        try span.withUnsafeBufferPointer { (buffer) throws(MPIError) in
            try send(buffer, to: dest, tag: tag, mode: mode)
        }
    }

    /// Starts sending the elements of `buffer` (or `count` items of `layout` from element
    /// `offset`) to rank `dest` and returns at once (`MPI_Isend`, or `MPI_Issend` in synchronous
    /// mode).
    ///
    /// The request keeps the memory safe until the send completes: a ``MessageBuffer`` is lent
    /// (writes throw or trap until then) — the zero-copy way; an array or value is copied into
    /// memory the request owns; an `UnsafeBufferPointer` is used as it is, and the caller keeps
    /// it alive and unchanged.
    @inlinable
    public func immediateSend<Buffer: SendBuffer>(
        _ buffer: Buffer, layout: MessageLayout<Buffer.Element>? = nil, count: Int = 1, at offset: Int = 0,
        to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) -> Request {
        let origin = RequestOrigin(.send, peer: dest, tag: tag)
        guard try checkedPeers(destination: dest, tag: tag) else { return .completed(backendReference, .null, origin: origin) }
        let lent = try buffer.lendForSending()
        do throws(MPIError) {
            let message = try self.message(lent.elements, layout: layout, count: count, offset: offset)
            let handle = try backend.immediateSend(
                message.base, count: message.count, type: message.type, to: dest, tag: tag, comm: self.handle, mode: mode)
            return Request(backend: backendReference, handle: handle, loan: lent.loan.loan, result: nil, origin: origin)
        } catch {
            lent.loan.loan.end()
            throw error
        }
    }

    /// A persistent send of `buffer` (or `count` items of `layout` from element `offset`) to
    /// `dest`, inactive until ``Request/start()`` (`MPI_Send_init` / `MPI_Ssend_init`). A
    /// ``MessageBuffer`` is locked for writing while the request is active; an array or value
    /// is copied once, when the request is made. With ``nullProcess`` as `dest` every start
    /// completes at once with the null status (MPI-4.1 §3.11).
    public func persistentSend<Buffer: SendBuffer>(
        _ buffer: Buffer, layout: MessageLayout<Buffer.Element>? = nil, count: Int = 1, at offset: Int = 0,
        to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) -> Request {
        let origin = RequestOrigin(.persistentSend, peer: dest, tag: tag)
        guard try checkedPeers(destination: dest, tag: tag) else { return .persistentWithNullProcess(backendReference, origin: origin) }
        // Inactive until started: each start lends the buffer again.
        let lent = try buffer.lendForPersistentSending()
        let message = try self.message(lent.elements, layout: layout, count: count, offset: offset)
        let handle = try backend.persistentSend(
            message.base, count: message.count, type: message.type, to: dest, tag: tag, comm: self.handle, mode: mode)
        return Request(backend: backendReference, handle: handle, loan: lent.loan.loan,
            result: Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0), persistent: true,
            origin: origin)
    }

    /// Sends `object` to rank `dest`, encoded by ``MessageEncoder`` (mpi4py's
    /// `comm.send(obj, dest, tag)`; a byte message through `MPI_Send`, or `MPI_Ssend` in
    /// synchronous mode).
    ///
    /// Rank `dest` takes it with ``receiveObject(_:from:tag:)`` as the same type. A send to
    /// ``nullProcess`` does nothing.
    ///
    /// - Throws: `MPIError` of class ``MPIError/ErrorClass/type`` when `object` cannot be
    ///   encoded, ``MPIError/ErrorClass/other`` when its `encode(to:)` throws an error of its
    ///   own, and the errors of a typed send.
    public func send(
        object: some Encodable & Sendable, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) {
        guard try checkedPeers(destination: dest, tag: tag) else { return }
        try send(Communicator.encodeMessage(object), to: dest, tag: tag, mode: mode)
    }

    /// Starts sending `object` to rank `dest` and returns at once (mpi4py's
    /// `comm.isend(obj, dest, tag)`; `MPI_Isend` of the encoded bytes, which the request owns).
    /// Rank `dest` takes it with ``receiveObject(_:from:tag:)`` or
    /// ``immediateReceiveObject(_:capacity:from:tag:)``.
    ///
    /// - Throws: The errors of ``send(object:to:tag:mode:)``, when the object is encoded, before
    ///   anything is sent.
    public func immediateSend(
        object: some Encodable & Sendable, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) -> Request {
        guard try checkedPeers(destination: dest, tag: tag) else {
            return .completed(backendReference, .null, origin: RequestOrigin(.send, peer: dest, tag: tag))
        }
        return try immediateSend(Communicator.encodeMessage(object), to: dest, tag: tag, mode: mode)
    }
}
