// Blocking point-to-point operations on contiguous typed buffers (MPI-4.1 chapter 3).
//
// Every entry point is `@inlinable` and generic, so it specializes in the caller and reaches the
// backend with a raw pointer, a count and a datatype: no allocation per message.

extension Communicator {
    // MARK: Send

    /// Sends `count` elements starting at `base` to rank `dest` (`MPI_Send`, or `MPI_Ssend` for
    /// the synchronous mode).
    @inlinable
    public func send<T: MessageElement>(
        _ base: UnsafePointer<T>?, count: Int, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) {
        try checkActive()
        try checkCount(count)
        try checkSendTag(tag)
        guard try validDestination(dest) else { return }
        if count > 0 && base == nil { throw MPIError(.buffer, "send of \(count) elements from a nil buffer") }
        try backend.send(
            UnsafeRawPointer(base), count: count, type: T.datatype, to: dest, tag: tag, comm: handle, mode: mode)
    }

    /// Sends the elements of `buffer` to rank `dest` (`MPI_Send` / `MPI_Ssend`).
    @inlinable
    public func send<T: MessageElement>(
        _ buffer: UnsafeBufferPointer<T>, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) {
        try send(buffer.baseAddress, count: buffer.count, to: dest, tag: tag, mode: mode)
    }

    /// Sends the elements of `array` to rank `dest` (`MPI_Send` / `MPI_Ssend`).
    @inlinable
    public func send<T: MessageElement>(
        _ array: [T], to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) {
        try array.withUnsafeBufferPointer { (buffer) throws(MPIError) in
            try send(buffer, to: dest, tag: tag, mode: mode)
        }
    }

    /// Sends the elements of `slice` to rank `dest` (`MPI_Send` / `MPI_Ssend`).
    @inlinable
    public func send<T: MessageElement>(
        _ slice: ArraySlice<T>, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) {
        try slice.withUnsafeBufferPointer { (buffer) throws(MPIError) in
            try send(buffer, to: dest, tag: tag, mode: mode)
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

    /// Sends one value to rank `dest` (`MPI_Send` / `MPI_Ssend` with a count of 1).
    @inlinable
    public func send<T: MessageElement>(
        _ value: T, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) {
        try withUnsafePointer(to: value) { (pointer) throws(MPIError) in
            try send(pointer, count: 1, to: dest, tag: tag, mode: mode)
        }
    }

    // MARK: Receive

    /// Receives a message of at most `count` elements into `base` (`MPI_Recv`).
    ///
    /// - Throws: `MPIError` of class ``MPIError/ErrorClass/truncate`` when the message is longer
    ///   than `count`; the message is consumed and the job can go on.
    @inlinable @discardableResult
    public func receive<T: MessageElement>(
        into base: UnsafeMutablePointer<T>?, count: Int,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try checkActive()
        try checkCount(count)
        try checkReceiveTag(tag)
        guard try validSource(source) else { return .null }
        if count > 0 && base == nil { throw MPIError(.buffer, "receive of \(count) elements into a nil buffer") }
        return try backend.receive(
            into: UnsafeMutableRawPointer(base), count: count, type: T.datatype, from: source, tag: tag, comm: handle)
    }

    /// Receives a message into `buffer`, which must be large enough (`MPI_Recv`).
    @inlinable @discardableResult
    public func receive<T: MessageElement>(
        into buffer: UnsafeMutableBufferPointer<T>,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try receive(into: buffer.baseAddress, count: buffer.count, from: source, tag: tag)
    }

    /// Receives a message into the elements of `array`, which keeps its length (`MPI_Recv`).
    @inlinable @discardableResult
    public func receive<T: MessageElement>(
        into array: inout [T],
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try array.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in
            try receive(into: buffer, from: source, tag: tag)
        }
    }

    /// Receives a message into the elements of `slice` (`MPI_Recv`).
    @inlinable @discardableResult
    public func receive<T: MessageElement>(
        into slice: inout ArraySlice<T>,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try slice.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in
            try receive(into: buffer, from: source, tag: tag)
        }
    }

    /// Receives a message into the memory viewed by `span` (`MPI_Recv`).
    @inlinable @discardableResult
    public func receive<T: MessageElement>(
        into span: inout MutableSpan<T>,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try span.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in
            try receive(into: buffer, from: source, tag: tag)
        }
    }

    /// Receives one value (`MPI_Recv` with a count of 1).
    @inlinable
    public func receive<T: MessageElement>(
        _ type: T.Type, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> T {
        try withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { (buffer) throws(MPIError) in
            // Bytes a struct datatype leaves out (padding, unnamed fields) read as zero.
            if !T.datatype.isDense { UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0) }
            let status = try receive(into: buffer.baseAddress, count: 1, from: source, tag: tag)
            guard status.byteCount == T.datatype.size else {
                throw MPIError(.truncate, "expected one \(T.self) (\(T.datatype.size) bytes) from rank \(status.source), got \(status.byteCount) bytes")
            }
            return buffer[0]
        }
    }

    /// Receives a whole message into a new array sized by probing it first
    /// (`MPI_Probe` + `MPI_Get_count` + `MPI_Recv`).
    @inlinable
    public func receiveArray<T: MessageElement>(
        of type: T.Type, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> (values: [T], status: Status) {
        let probed = try probe(from: source, tag: tag)
        if probed.source == Communicator.nullProcess { return ([], probed) }
        guard let count = probed.count(of: T.self) else {
            throw MPIError(.type, "message from rank \(probed.source) has \(probed.byteCount) bytes, not a whole number of \(T.self) (\(T.datatype.size) bytes each)")
        }
        var status = probed
        var failure: MPIError?
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if !T.datatype.isDense { UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0) }
            do throws(MPIError) {
                status = try receive(into: buffer.baseAddress, count: count, from: probed.source, tag: probed.tag)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return (values, status)
    }

    // MARK: Send-receive

    /// Sends `sendBuffer` to `dest` and receives into `receiveBuffer` from `source` in one call
    /// that cannot deadlock against the partner's send-receive (`MPI_Sendrecv`).
    @inlinable @discardableResult
    public func sendReceive<S: MessageElement, R: MessageElement>(
        _ sendBuffer: UnsafeBufferPointer<S>, to dest: Int, sendTag: Int = 0,
        into receiveBuffer: UnsafeMutableBufferPointer<R>,
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try checkActive()
        try checkSendTag(sendTag)
        try checkReceiveTag(receiveTag)
        let sends = try validDestination(dest)
        let receives = try validSource(source)
        switch (sends, receives) {
        case (false, false):
            return .null
        case (true, false):
            try send(sendBuffer, to: dest, tag: sendTag)
            return .null
        case (false, true):
            return try receive(into: receiveBuffer, from: source, tag: receiveTag)
        case (true, true):
            return try backend.sendReceive(
                UnsafeRawPointer(sendBuffer.baseAddress), sendCount: sendBuffer.count, sendType: S.datatype,
                to: dest, sendTag: sendTag,
                into: UnsafeMutableRawPointer(receiveBuffer.baseAddress), receiveCount: receiveBuffer.count,
                receiveType: R.datatype, from: source, receiveTag: receiveTag, comm: handle)
        }
    }

    /// Sends `sendArray` to `dest` and receives into `receiveArray` from `source` (`MPI_Sendrecv`).
    @inlinable @discardableResult
    public func sendReceive<S: MessageElement, R: MessageElement>(
        _ sendArray: [S], to dest: Int, sendTag: Int = 0,
        into receiveArray: inout [R],
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try sendArray.withUnsafeBufferPointer { (sendBuffer) throws(MPIError) in
            try receiveArray.withUnsafeMutableBufferPointer { (receiveBuffer) throws(MPIError) in
                try sendReceive(
                    sendBuffer, to: dest, sendTag: sendTag, into: receiveBuffer, from: source, receiveTag: receiveTag)
            }
        }
    }

    /// Sends the contents of `buffer` to `dest`, then replaces them with a message from
    /// `source` of at most the same length (`MPI_Sendrecv_replace`).
    @inlinable @discardableResult
    public func sendReceiveReplace<T: MessageElement>(
        _ buffer: UnsafeMutableBufferPointer<T>, to dest: Int, sendTag: Int = 0,
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        let outgoing = UnsafeMutableBufferPointer<T>.allocate(capacity: buffer.count)
        defer { outgoing.deallocate() }
        _ = outgoing.initialize(fromContentsOf: buffer)
        return try sendReceive(
            UnsafeBufferPointer(outgoing), to: dest, sendTag: sendTag, into: buffer, from: source, receiveTag: receiveTag)
    }

    /// Sends `array` to `dest`, then replaces its elements with a message from `source`
    /// (`MPI_Sendrecv_replace`).
    @inlinable @discardableResult
    public func sendReceiveReplace<T: MessageElement>(
        _ array: inout [T], to dest: Int, sendTag: Int = 0,
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try array.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in
            try sendReceiveReplace(buffer, to: dest, sendTag: sendTag, from: source, receiveTag: receiveTag)
        }
    }

    // MARK: Probe

    /// Waits for a matching message without receiving it and describes it (`MPI_Probe`).
    @inlinable
    public func probe(from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag) throws(MPIError) -> Status {
        try checkActive()
        try checkReceiveTag(tag)
        guard try validSource(source) else { return .null }
        guard let status = try backend.probe(from: source, tag: tag, comm: handle, blocking: true) else {
            throw MPIError(.intern, "blocking probe returned without a message")
        }
        return status
    }

    /// Describes a matching message if one has arrived, else returns `nil` (`MPI_Iprobe`).
    @inlinable
    public func iprobe(from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag) throws(MPIError) -> Status? {
        try checkActive()
        try checkReceiveTag(tag)
        guard try validSource(source) else { return .null }
        return try backend.probe(from: source, tag: tag, comm: handle, blocking: false)
    }
}
