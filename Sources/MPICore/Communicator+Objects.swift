// Object messages: any Codable value, encoded by `MessageEncoder` into a byte message — the
// counterpart of mpi4py's lowercase methods (`comm.send`, `comm.recv`, `comm.sendrecv`), which
// pickle Python objects. The receiver probes for the message's size, receives it whole and
// decodes it, so neither side states a size.

extension Communicator {
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

    /// Receives an object sent by ``send(object:to:tag:mode:)`` and decodes it as a `T`
    /// (mpi4py's `comm.recv(source=, tag=, status=)`; `MPI_Probe` for the size, then `MPI_Recv`).
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
        let (bytes, status) = try receiveArray(of: UInt8.self, from: source, tag: tag)
        return (try Communicator.decodeMessage(T.self, from: bytes, sender: status.source), status)
    }

    /// Sends `object` to `dest` and receives an object from `source`, decoded as an `R`, in one
    /// call that cannot deadlock against the partner's (mpi4py's
    /// `comm.sendrecv(sendobj, dest, sendtag, source=, recvtag=)`; `MPI_Isend`, the probed
    /// receive, then `MPI_Wait`).
    ///
    /// - Throws: The errors of ``send(object:to:tag:mode:)`` and ``receiveObject(_:from:tag:)``;
    ///   the send completes even when the receive fails.
    public func sendReceive<R: Decodable>(
        object: some Encodable & Sendable, to dest: Int, sendTag: Int = 0,
        receiving type: R.Type, from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> (value: R, status: Status) {
        // Every argument is checked before anything is sent.
        guard try checkedPeers(source: source, tag: receiveTag) else { throw Communicator.noObjectFromNullProcess() }
        _ = try checkedPeers(destination: dest, tag: sendTag)
        var send = try immediateSend(Communicator.encodeMessage(object), to: dest, tag: sendTag)
        let received = try receiveObject(R.self, from: source, tag: receiveTag)
        try send.wait()
        return received
    }

    private static func noObjectFromNullProcess() -> MPIError {
        MPIError(.rank, "the null process sends no object: a receive of an object needs a real source rank or anySource")
    }

    // MARK: Payloads for collective object operations
    //
    // The collective object operations (broadcast, gather, allGather of Codable values, as
    // mpi4py's comm.bcast/gather/allgather) are these two helpers around the byte collectives:
    // broadcast sends the root's payload size, then the payload, and every rank decodes it;
    // gather and allGather collect each rank's payload size, then the payloads with gatherv /
    // allGatherv, and decode each rank's slice of the result with `decodeMessage(_:from:sender:)`.

    /// The object message for `value`; failures become `MPIError`s of class `.type`, or
    /// `.other` for an error of the value's own.
    static func encodeMessage<T: Encodable>(_ value: T) throws(MPIError) -> [UInt8] {
        do {
            return try MessageEncoder().encode(value)
        } catch let error as MPIError {
            throw error
        } catch let error as EncodingError {
            throw MPIError(.type, "cannot encode \(T.self) as an object message: \(summary(of: error))")
        } catch {
            throw MPIError(.other, "encoding \(T.self) as an object message threw \(error)")
        }
    }

    /// Decodes a `T` from the object message `bytes` sent by rank `sender`; failures become
    /// `MPIError`s of class `.type` (or `.other`) that name the sender and what did not match.
    static func decodeMessage<T: Decodable>(
        _ type: T.Type, from bytes: UnsafeRawBufferPointer, sender: Int
    ) throws(MPIError) -> T {
        do {
            return try MessageDecoder().decode(T.self, from: bytes)
        } catch let error as MPIError {
            throw error
        } catch let error as DecodingError {
            throw MPIError(.type, "cannot decode \(T.self) from the \(bytes.count)-byte object message of rank \(sender): \(summary(of: error))")
        } catch {
            throw MPIError(.other, "decoding \(T.self) from the object message of rank \(sender) threw \(error)")
        }
    }

    static func decodeMessage<T: Decodable>(_ type: T.Type, from bytes: [UInt8], sender: Int) throws(MPIError) -> T {
        try bytes.withUnsafeBufferPointer { (buffer) throws(MPIError) in
            try decodeMessage(T.self, from: UnsafeRawBufferPointer(buffer), sender: sender)
        }
    }
}

/// What a coding error says, with where: "at items[2].name: no value for key 'name'…".
private func summary(of error: any Error) -> String {
    let context: (path: [any CodingKey], description: String)
    switch error {
    case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.keyNotFound(_, let c),
        DecodingError.dataCorrupted(let c):
        context = (c.codingPath, c.debugDescription)
    case EncodingError.invalidValue(_, let c):
        context = (c.codingPath, c.debugDescription)
    default:
        return "\(error)"
    }
    guard !context.path.isEmpty else { return context.description }
    let path = context.path.map { key in
        if key is MessageCodingKey, let index = key.intValue { "[\(index)]" } else { ".\(key.stringValue)" }
    }.joined()
    return "at \(path.hasPrefix(".") ? String(path.dropFirst()) : path): \(context.description)"
}

// MARK: Collective object operations (mpi4py's comm.bcast / comm.gather / comm.allgather)

extension Communicator {
    /// Sends `value` from `root` to every process and returns it everywhere (mpi4py's
    /// `comm.bcast`). Other ranks pass any value of the type (it is ignored), e.g. `nil`.
    public func broadcast<T: Codable & Sendable>(object value: T?, root: Int) throws(MPIError) -> T {
        let bytes = rank == root ? try Communicator.encodeMessage(value) : []
        let count = try broadcast(bytes.count, root: root)
        let payload = try broadcast(rank == root ? bytes : [UInt8](repeating: 0, count: count), root: root)
        guard let result = try Communicator.decodeMessage(T?.self, from: payload, sender: root) else {
            throw MPIError(.argument, "the root (rank \(root)) broadcast nil")
        }
        return result
    }

    /// Collects every process's `value` on `root`, in rank order (mpi4py's `comm.gather`);
    /// `nil` on the other ranks.
    public func gather<T: Codable & Sendable>(object value: T, root: Int) throws(MPIError) -> [T]? {
        guard let blocks = try gatherv(try Communicator.encodeMessage(value), root: root) else { return nil }
        var values: [T] = []
        values.reserveCapacity(blocks.count)
        for (sender, block) in blocks.enumerated() {
            values.append(try Communicator.decodeMessage(T.self, from: block, sender: sender))
        }
        return values
    }

    /// Collects every process's `value` on every process, in rank order (mpi4py's
    /// `comm.allgather`).
    public func allGather<T: Codable & Sendable>(object value: T) throws(MPIError) -> [T] {
        let blocks = try allGatherv(try Communicator.encodeMessage(value))
        var values: [T] = []
        values.reserveCapacity(blocks.count)
        for (sender, block) in blocks.enumerated() {
            values.append(try Communicator.decodeMessage(T.self, from: block, sender: sender))
        }
        return values
    }
}
