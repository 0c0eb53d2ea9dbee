// Point-to-point operations on a `MessageLayout` of a typed buffer: `count` items of the layout
// starting at element `offset` (MPI's derived-datatype sends and receives). Every entry point
// checks that the layout stays inside the buffer.

extension Communicator {
    // MARK: Blocking

    /// Sends `count` items of `layout` taken from `buffer` starting at element `offset`
    /// (`MPI_Send` with a derived datatype).
    @inlinable
    public func send<T: MessageElement>(
        _ buffer: UnsafeBufferPointer<T>, layout: MessageLayout<T>, count: Int = 1, at offset: Int = 0,
        to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) {
        try checkActive()
        try checkLayout(layout, count: count, offset: offset, capacity: buffer.count)
        try checkSendTag(tag)
        guard try validDestination(dest) else { return }
        try backend.send(
            UnsafeRawPointer(buffer.baseAddress.map { $0 + offset }), count: count, type: layout.datatype,
            to: dest, tag: tag, comm: handle, mode: mode)
    }

    /// Sends `count` items of `layout` taken from `array` starting at element `offset`.
    @inlinable
    public func send<T: MessageElement>(
        _ array: [T], layout: MessageLayout<T>, count: Int = 1, at offset: Int = 0,
        to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) {
        try array.withUnsafeBufferPointer { (buffer) throws(MPIError) in
            try send(buffer, layout: layout, count: count, at: offset, to: dest, tag: tag, mode: mode)
        }
    }

    /// Receives at most `count` items of `layout` into `buffer` starting at element `offset`
    /// (`MPI_Recv` with a derived datatype). Elements outside the layout are not written.
    @inlinable @discardableResult
    public func receive<T: MessageElement>(
        into buffer: UnsafeMutableBufferPointer<T>, layout: MessageLayout<T>, count: Int = 1, at offset: Int = 0,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try checkActive()
        try checkLayout(layout, count: count, offset: offset, capacity: buffer.count)
        try checkReceiveTag(tag)
        guard try validSource(source) else { return .null }
        return try backend.receive(
            into: UnsafeMutableRawPointer(buffer.baseAddress.map { $0 + offset }), count: count, type: layout.datatype,
            from: source, tag: tag, comm: handle)
    }

    /// Receives at most `count` items of `layout` into `array` starting at element `offset`.
    @inlinable @discardableResult
    public func receive<T: MessageElement>(
        into array: inout [T], layout: MessageLayout<T>, count: Int = 1, at offset: Int = 0,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try array.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in
            try receive(into: buffer, layout: layout, count: count, at: offset, from: source, tag: tag)
        }
    }

    /// Sends one item of `sendLayout` from `array` at element `sendOffset` to `dest` and receives
    /// one item of `receiveLayout` into the same array at `receiveOffset` from `source`
    /// (`MPI_Sendrecv` with derived datatypes): one halo exchange step. The two selections must
    /// not overlap.
    @inlinable @discardableResult
    public func sendReceive<T: MessageElement>(
        _ array: inout [T],
        sending sendLayout: MessageLayout<T>, at sendOffset: Int, to dest: Int, sendTag: Int = 0,
        receiving receiveLayout: MessageLayout<T>, at receiveOffset: Int,
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try checkActive()
        try checkLayout(sendLayout, count: 1, offset: sendOffset, capacity: array.count)
        try checkLayout(receiveLayout, count: 1, offset: receiveOffset, capacity: array.count)
        try checkSendTag(sendTag)
        try checkReceiveTag(receiveTag)
        let sends = try validDestination(dest)
        let receives = try validSource(source)
        return try array.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) -> Status in
            let base = buffer.baseAddress!
            switch (sends, receives) {
            case (false, false):
                return .null
            case (true, false):
                try backend.send(
                    UnsafeRawPointer(base + sendOffset), count: 1, type: sendLayout.datatype,
                    to: dest, tag: sendTag, comm: handle, mode: .standard)
                return .null
            case (false, true):
                return try backend.receive(
                    into: UnsafeMutableRawPointer(base + receiveOffset), count: 1, type: receiveLayout.datatype,
                    from: source, tag: receiveTag, comm: handle)
            case (true, true):
                return try backend.sendReceive(
                    UnsafeRawPointer(base + sendOffset), sendCount: 1, sendType: sendLayout.datatype,
                    to: dest, sendTag: sendTag,
                    into: UnsafeMutableRawPointer(base + receiveOffset), receiveCount: 1, receiveType: receiveLayout.datatype,
                    from: source, receiveTag: receiveTag, comm: handle)
            }
        }
    }

    // MARK: Nonblocking

    /// Starts sending `count` items of `layout` from `buffer` at element `offset` (`MPI_Isend`
    /// with a derived datatype). The buffer cannot be written until the request completes.
    @inlinable
    public func immediateSend<T: MessageElement>(
        _ buffer: MessageBuffer<T>, layout: MessageLayout<T>, count: Int = 1, at offset: Int = 0,
        to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) -> Request {
        try checkLayout(layout, count: count, offset: offset, capacity: buffer.count)
        guard try checkedPeers(destination: dest, tag: tag) else { return .completed(backend, .null) }
        return try lend(buffer, receiving: false) { (base) throws(MPIError) in
            try backend.immediateSend(
                UnsafeRawPointer(base.map { $0 + offset }), count: count, type: layout.datatype,
                to: dest, tag: tag, comm: self.handle, mode: mode)
        }
    }

    /// Starts receiving at most `count` items of `layout` into `buffer` at element `offset`
    /// (`MPI_Irecv` with a derived datatype). The buffer can be neither read nor written until
    /// the request completes; elements outside the layout are not written.
    @inlinable
    public func immediateReceive<T: MessageElement>(
        into buffer: MessageBuffer<T>, layout: MessageLayout<T>, count: Int = 1, at offset: Int = 0,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Request {
        try checkLayout(layout, count: count, offset: offset, capacity: buffer.count)
        guard try checkedPeers(source: source, tag: tag) else { return .completed(backend, .null) }
        return try lend(buffer, receiving: true) { (base) throws(MPIError) in
            try backend.immediateReceive(
                into: UnsafeMutableRawPointer(base.map { $0 + offset }), count: count,
                type: layout.datatype, from: source, tag: tag, comm: self.handle)
        }
    }

    /// A persistent send of `count` items of `layout` from `buffer` at element `offset`,
    /// inactive until ``Request/start()`` (`MPI_Send_init` with a derived datatype).
    public func persistentSend<T: MessageElement>(
        _ buffer: MessageBuffer<T>, layout: MessageLayout<T>, count: Int = 1, at offset: Int = 0,
        to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) -> Request {
        try checkLayout(layout, count: count, offset: offset, capacity: buffer.count)
        guard try checkedPeers(destination: dest, tag: tag) else {
            throw MPIError(.rank, "a persistent request cannot address the null process")
        }
        let handle = try backend.persistentSend(
            UnsafeRawPointer(buffer.storage.baseAddress.map { $0 + offset }), count: count, type: layout.datatype,
            to: dest, tag: tag, comm: self.handle, mode: mode)
        return Request(backend: backend, handle: handle, loan: .buffer(buffer, receiving: false),
            result: Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0), persistent: true)
    }

    /// A persistent receive of at most `count` items of `layout` into `buffer` at element
    /// `offset`, inactive until ``Request/start()`` (`MPI_Recv_init` with a derived datatype).
    public func persistentReceive<T: MessageElement>(
        into buffer: MessageBuffer<T>, layout: MessageLayout<T>, count: Int = 1, at offset: Int = 0,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Request {
        try checkLayout(layout, count: count, offset: offset, capacity: buffer.count)
        guard try checkedPeers(source: source, tag: tag) else {
            throw MPIError(.rank, "a persistent request cannot address the null process")
        }
        let handle = try backend.persistentReceive(
            into: UnsafeMutableRawPointer(buffer.storage.baseAddress.map { $0 + offset }), count: count,
            type: layout.datatype, from: source, tag: tag, comm: self.handle)
        return Request(backend: backend, handle: handle, loan: .buffer(buffer, receiving: true),
            result: Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0), persistent: true)
    }
}
