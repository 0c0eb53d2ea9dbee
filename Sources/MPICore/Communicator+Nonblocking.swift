// Nonblocking point-to-point operations (MPI-4.1 §3.7, §3.9).
//
// Every request owns or borrows its memory safely: arrays are retained, `MessageBuffer`s are
// lent and locked until completion. Only the `unsafe…` variants take raw memory.

extension Communicator {
    @inlinable
    func checkedPeers(destination dest: Int, tag: Int) throws(MPIError) -> Bool {
        try checkActive()
        try checkSendTag(tag)
        return try validDestination(dest)
    }

    @inlinable
    func checkedPeers(source: Int, tag: Int) throws(MPIError) -> Bool {
        try checkActive()
        try checkReceiveTag(tag)
        return try validSource(source)
    }

    /// Lends `buffer` to the operation `start` posts on its memory: locked for writing (a
    /// send) or for any access (a receive) until the request completes, given back at once if
    /// posting fails.
    @inlinable
    func lend<T: MessageElement>(
        _ buffer: MessageBuffer<T>, receiving: Bool, _ start: (UnsafeMutablePointer<T>?) throws(MPIError) -> RequestHandle
    ) throws(MPIError) -> Request {
        if receiving { try buffer.lendForReceive() } else { try buffer.lendForSend() }
        do {
            let handle = try start(buffer.storage.baseAddress)
            return Request(backend: backend, handle: handle, loan: .buffer(buffer, receiving: receiving), result: nil)
        } catch {
            buffer.giveBack()
            throw error
        }
    }

    // MARK: Immediate sends

    /// Starts sending `array` to rank `dest` and returns at once (`MPI_Isend`, or `MPI_Issend`
    /// in synchronous mode). The request keeps the array alive until the send completes.
    @inlinable
    public func immediateSend<T: MessageElement>(
        _ array: [T], to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) -> Request {
        guard try checkedPeers(destination: dest, tag: tag) else { return .completed(backend, .null) }
        let handle = try array.withUnsafeBufferPointer { (buffer) throws(MPIError) in
            try backend.immediateSend(
                UnsafeRawPointer(buffer.baseAddress), count: buffer.count, type: T.datatype,
                to: dest, tag: tag, comm: self.handle, mode: mode)
        }
        return Request(backend: backend, handle: handle, loan: .retained(array), result: nil)
    }

    /// Starts sending the elements of `buffer` to rank `dest` (`MPI_Isend` / `MPI_Issend`).
    /// The buffer cannot be written until the request completes.
    @inlinable
    public func immediateSend<T: MessageElement>(
        _ buffer: MessageBuffer<T>, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) -> Request {
        guard try checkedPeers(destination: dest, tag: tag) else { return .completed(backend, .null) }
        return try lend(buffer, receiving: false) { (base) throws(MPIError) in
            try backend.immediateSend(
                UnsafeRawPointer(base), count: buffer.count, type: T.datatype, to: dest, tag: tag, comm: self.handle, mode: mode)
        }
    }

    /// Starts sending `count` elements at `base` (`MPI_Isend`). The caller must keep the memory
    /// alive and unchanged until the request completes.
    @inlinable
    public func unsafeImmediateSend<T: MessageElement>(
        _ base: UnsafePointer<T>?, count: Int, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) -> Request {
        try checkCount(count)
        guard try checkedPeers(destination: dest, tag: tag) else { return .completed(backend, .null) }
        let handle = try backend.immediateSend(
            UnsafeRawPointer(base), count: count, type: T.datatype, to: dest, tag: tag, comm: self.handle, mode: mode)
        return Request(backend: backend, handle: handle, loan: .none, result: nil)
    }

    // MARK: Immediate receives

    /// Starts receiving at most `buffer.count` elements into `buffer` (`MPI_Irecv`). The buffer
    /// can be neither read nor written until the request completes.
    @inlinable
    public func immediateReceive<T: MessageElement>(
        into buffer: MessageBuffer<T>, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Request {
        guard try checkedPeers(source: source, tag: tag) else { return .completed(backend, .null) }
        return try lend(buffer, receiving: true) { (base) throws(MPIError) in
            try backend.immediateReceive(
                into: UnsafeMutableRawPointer(base), count: buffer.count, type: T.datatype, from: source, tag: tag, comm: self.handle)
        }
    }

    /// Starts receiving a message of at most `count` elements into a new array, which the
    /// request's `wait()` returns (`MPI_Irecv`).
    @inlinable
    public func immediateReceive<T: MessageElement>(
        _ type: T.Type, count: Int, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> ReceiveRequest<T> {
        try checkCount(count)
        guard try checkedPeers(source: source, tag: tag) else {
            return ReceiveRequest(request: .completed(backend, .null), values: [])
        }
        var values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0)
            initialized = count
        }
        // The array is unique here and stays untouched inside the request until it completes, so
        // its storage is a stable home for the incoming bytes.
        let handle = try values.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in
            try backend.immediateReceive(
                into: UnsafeMutableRawPointer(buffer.baseAddress), count: count, type: T.datatype,
                from: source, tag: tag, comm: self.handle)
        }
        return ReceiveRequest(request: Request(backend: backend, handle: handle, loan: .none, result: nil), values: values)
    }

    /// Starts receiving at most `count` elements into `base` (`MPI_Irecv`). The caller must keep
    /// the memory alive and untouched until the request completes.
    @inlinable
    public func unsafeImmediateReceive<T: MessageElement>(
        into base: UnsafeMutablePointer<T>?, count: Int,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Request {
        try checkCount(count)
        guard try checkedPeers(source: source, tag: tag) else { return .completed(backend, .null) }
        let handle = try backend.immediateReceive(
            into: UnsafeMutableRawPointer(base), count: count, type: T.datatype, from: source, tag: tag, comm: self.handle)
        return Request(backend: backend, handle: handle, loan: .none, result: nil)
    }

    // MARK: Persistent requests

    /// A persistent send of `buffer` to `dest`, inactive until ``Request/start()``
    /// (`MPI_Send_init` / `MPI_Ssend_init`). The buffer is locked for writing while active.
    public func persistentSend<T: MessageElement>(
        _ buffer: MessageBuffer<T>, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) -> Request {
        guard try checkedPeers(destination: dest, tag: tag) else {
            throw MPIError(.rank, "a persistent request cannot address the null process")
        }
        let handle = try backend.persistentSend(
            UnsafeRawPointer(buffer.storage.baseAddress), count: buffer.count, type: T.datatype,
            to: dest, tag: tag, comm: self.handle, mode: mode)
        return Request(backend: backend, handle: handle, loan: .buffer(buffer, receiving: false),
            result: Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0), persistent: true)
    }

    /// A persistent receive into `buffer`, inactive until ``Request/start()`` (`MPI_Recv_init`).
    /// The buffer is locked while active.
    public func persistentReceive<T: MessageElement>(
        into buffer: MessageBuffer<T>, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Request {
        guard try checkedPeers(source: source, tag: tag) else {
            throw MPIError(.rank, "a persistent request cannot address the null process")
        }
        let handle = try backend.persistentReceive(
            into: UnsafeMutableRawPointer(buffer.storage.baseAddress), count: buffer.count, type: T.datatype,
            from: source, tag: tag, comm: self.handle)
        return Request(backend: backend, handle: handle, loan: .buffer(buffer, receiving: true),
            result: Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0), persistent: true)
    }
}
