import Synchronization

// Matched probes (MPI-4.1 §3.8.2): a probe that takes the message it finds out of matching, so
// that no other receive — another thread's wildcard receive — can take it before this one does.

/// A message taken out of matching by ``Communicator/matchedProbe(from:tag:)`` (`MPI_Message`):
/// its ``status`` says its source, tag and size, and exactly one of its consuming receives gets
/// it. It cannot be copied; one dropped without being received is received into scratch memory
/// and discarded (reported once per process on standard error), since MPI allows no other end.
public struct Message: ~Copyable {
    @usableFromInline let communicator: Communicator
    /// `nil` once received, and for the message of the null process (`MPI_MESSAGE_NO_PROC`).
    @usableFromInline var handle: MessageHandle?
    /// The message's source, tag and size in bytes, as the probe found it.
    public let status: Status

    @inlinable
    init(communicator: Communicator, handle: MessageHandle?, status: Status) {
        self.communicator = communicator
        self.handle = handle
        self.status = status
    }

    deinit {
        guard let handle else { return }
        Message.reportDropped(status)
        Message.discard(handle, status, communicator)
    }

    /// Receives matched message `handle` into scratch memory and forgets it.
    @usableFromInline
    static func discard(_ handle: MessageHandle, _ status: Status, _ communicator: Communicator) {
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(status.byteCount, 1), alignment: 16)
        defer { scratch.deallocate() }
        _ = try? communicator.backend.matchedReceive(handle, into: scratch, count: status.byteCount, type: .byte)
    }

    /// Receives the message into `buffer` (`MPI_Mrecv`); with a `layout`, into `count` items of
    /// it from element `offset`.
    ///
    /// - Throws: `MPIError(.truncate)` when the message is longer than the buffer; the message
    ///   is consumed all the same.
    @inlinable @discardableResult
    public consuming func receive<Buffer: ReceiveBuffer>(
        into buffer: inout Buffer, layout: MessageLayout<Buffer.Element>? = nil, count: Int = 1, at offset: Int = 0
    ) throws(MPIError) -> Status {
        guard let handle = takeHandle() else { return status }
        let communicator = self.communicator
        return try buffer.withReceiveElements { (elements) throws(MPIError) in
            let message = try communicator.message(elements, layout: layout, count: count, offset: offset)
            return try communicator.backend.matchedReceive(handle, into: message.base, count: message.count, type: message.type)
        }
    }

    /// Receives the whole message into a new array sized by the probe.
    ///
    /// - Throws: `MPIError(.type)` when the message is not a whole number of `T`s; the message
    ///   is consumed all the same.
    @inlinable
    public consuming func receiveArray<T: MessageElement>(of type: T.Type) throws(MPIError) -> (values: [T], status: Status) {
        let probed = status
        guard let handle = takeHandle() else { return ([], probed) }
        guard let count = probed.count(of: T.self) else {
            // Consume it all the same: a matched message cannot be given back.
            Message.discard(handle, probed, communicator)
            throw MPIError(.type, "message from rank \(probed.source) has \(probed.byteCount) bytes, not a whole number of \(T.self) (\(T.datatype.size) bytes each)")
        }
        var status = Status.null
        let communicator = self.communicator
        let values = try communicator.makeArray(count: count) { (buffer: UnsafeMutableBufferPointer<T>) throws(MPIError) in
            status = try communicator.backend.matchedReceive(handle, into: UnsafeMutableRawPointer(buffer.baseAddress), count: count, type: T.datatype)
        }
        return (values, status)
    }

    /// Receives the message as an object (the matched form of ``Communicator/receiveObject(_:from:tag:)``).
    public consuming func receiveObject<T: Decodable>(_ type: T.Type) throws(MPIError) -> (value: T, status: Status) {
        guard handle != nil else { throw Communicator.noObjectFromNullProcess() }
        let (bytes, status) = try receiveArray(of: UInt8.self)
        return (try Communicator.decodeMessage(T.self, from: bytes, sender: status.source), status)
    }

    /// Starts receiving the message into `buffer` and returns at once (`MPI_Imrecv`); the
    /// lending rules of ``Communicator/immediateReceive(into:layout:count:at:from:tag:)`` apply.
    @inlinable
    public consuming func immediateReceive<Buffer: LendableReceiveBuffer>(
        into buffer: Buffer, layout: MessageLayout<Buffer.Element>? = nil, count: Int = 1, at offset: Int = 0
    ) throws(MPIError) -> Request {
        let origin = RequestOrigin(.receive, peer: status.source, tag: status.tag)
        let communicator = self.communicator
        guard let handle = takeHandle() else { return .completed(communicator.backendReference, status, origin: origin) }
        let lent = try buffer.lendForReceiving()
        do throws(MPIError) {
            let message = try communicator.message(lent.elements, layout: layout, count: count, offset: offset)
            let request = try communicator.backend.immediateMatchedReceive(
                handle, into: message.base, count: message.count, type: message.type)
            return Request(backend: communicator.backendReference, handle: request, loan: lent.loan.loan, result: nil, origin: origin)
        } catch {
            lent.loan.loan.end()
            throw error
        }
    }

    /// Hands the backend's handle over to a receive, so the deinit leaves the message alone.
    @inlinable
    mutating func takeHandle() -> MessageHandle? {
        defer { handle = nil }
        return handle
    }

    static func reportDropped(_ status: Status) {
        guard droppedMessageReported.exchange(true, ordering: .relaxed) == false else { return }
        writeToStandardError(
            "swift-mpi: warning: a matched Message from rank \(status.source), tag \(status.tag) (\(status.byteCount) bytes) was dropped without being received; "
                + "it was received here and discarded (further dropped messages are not reported)\n")
    }
}

extension Communicator {
    /// Waits for a matching message and takes it out of matching (`MPI_Mprobe`): the returned
    /// ``Message`` describes it and only its own receive can get it — the way to receive a
    /// message of unknown size when other threads receive from ``anySource`` too. From
    /// ``nullProcess``, a message with the null status whose receive returns at once.
    @inlinable
    public func matchedProbe(from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag) throws(MPIError) -> Message {
        guard try checkedPeers(source: source, tag: tag) else { return Message(communicator: self, handle: nil, status: .null) }
        guard let (handle, status) = try backend.matchedProbe(from: source, tag: tag, comm: self.handle, blocking: true) else {
            throw MPIError(.intern, "blocking matched probe returned without a message")
        }
        return Message(communicator: self, handle: handle, status: status)
    }

    /// Takes a matching message out of matching if one has arrived, else returns `nil`
    /// (`MPI_Improbe`).
    @inlinable
    public func immediateMatchedProbe(from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag) throws(MPIError) -> Message? {
        guard try checkedPeers(source: source, tag: tag) else { return Message(communicator: self, handle: nil, status: .null) }
        guard let (handle, status) = try backend.matchedProbe(from: source, tag: tag, comm: self.handle, blocking: false) else {
            return nil
        }
        return Message(communicator: self, handle: handle, status: status)
    }
}
