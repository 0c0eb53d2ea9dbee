// `async` point-to-point operations. They start a nonblocking operation and suspend until the
// progress engine sees it complete; the calling thread is never blocked. They need
// `Environment.initialize(threadLevel: .multiple)`, and throw `CancellationError` when the task
// is cancelled while a receive is still unmatched.

extension Request {
    /// Suspends until the operation completes and returns its status (`MPI_Wait`, driven by the
    /// progress engine).
    @discardableResult
    public mutating func wait() async throws -> Status {
        if let result { return result }
        let engine = try Runtime.progressEngine(for: backend)
        do {
            let status = try await engine.complete(handle!)
            complete(status)
            return status
        } catch let error as CancellationError {
            var status = Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0)
            status.isCancelled = true
            complete(status)
            throw error
        } catch {
            complete(Status(source: Communicator.anySource, tag: Communicator.anyTag, error: (error as? MPIError)?.errorClass, byteCount: 0))
            throw error
        }
    }
}

extension ReceiveRequest {
    /// Suspends until the message has arrived and returns its elements and status.
    public consuming func wait() async throws -> (values: [Element], status: Status) {
        let status = try await request.wait()
        let count = status.count(of: Element.self) ?? values.count
        return (count == values.count ? values : Array(values.prefix(count)), status)
    }
}

extension Communicator {
    /// Sends `array` to rank `dest`, suspending until the send completes.
    public func send<T: MessageElement>(
        _ array: [T], to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) async throws {
        _ = try Runtime.progressEngine(for: backend)  // before anything starts: no stray message on failure
        var request = try immediateSend(array, to: dest, tag: tag, mode: mode)
        try await request.wait()
    }

    /// Sends the elements of `buffer` to rank `dest`, suspending until the send completes.
    public func send<T: MessageElement>(
        _ buffer: MessageBuffer<T>, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) async throws {
        _ = try Runtime.progressEngine(for: backend)
        var request = try immediateSend(buffer, to: dest, tag: tag, mode: mode)
        try await request.wait()
    }

    /// Receives a message of at most `count` elements into a new array, suspending until it
    /// arrives.
    public func receive<T: MessageElement>(
        _ type: T.Type, count: Int, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) async throws -> (values: [T], status: Status) {
        _ = try Runtime.progressEngine(for: backend)
        let request = try immediateReceive(type, count: count, from: source, tag: tag)
        return try await request.wait()
    }

    /// Receives a message into `buffer`, suspending until it arrives.
    @discardableResult
    public func receive<T: MessageElement>(
        into buffer: MessageBuffer<T>, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) async throws -> Status {
        _ = try Runtime.progressEngine(for: backend)
        var request = try immediateReceive(into: buffer, from: source, tag: tag)
        return try await request.wait()
    }
}
