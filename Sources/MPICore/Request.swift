/// A nonblocking operation in flight (`MPI_Request`).
///
/// A request keeps alive whatever memory the operation uses: an array it sends from is retained
/// (and, being a value, cannot change under it), a ``MessageBuffer`` is lent and locked. Dropping
/// a request that has not completed waits for it: memory in use is never freed.
public struct Request: ~Copyable {
    /// Backends live as long as the process (see `Runtime`), so no reference count is kept.
    @usableFromInline unowned(unsafe) let backend: any Backend
    @usableFromInline var handle: RequestHandle?
    @usableFromInline var loan: Loan
    @usableFromInline var result: Status?
    @usableFromInline let persistent: Bool

    @inlinable
    init(backend: any Backend, handle: RequestHandle?, loan: Loan, result: Status?, persistent: Bool = false) {
        self.backend = backend
        self.handle = handle
        self.loan = loan
        self.result = result
        self.persistent = persistent
    }

    /// A request that completed at once (e.g. with the null process).
    @inlinable
    static func completed(_ backend: any Backend, _ status: Status) -> Request {
        Request(backend: backend, handle: nil, loan: .none, result: status)
    }

    deinit {
        if let handle, result == nil {
            _ = try? backend.wait(handle)
            loan.end()
        }
        if persistent, let handle { backend.release(handle) }
    }

    /// Whether the operation has completed (as far as the last ``test()`` or ``wait()`` knows).
    public var isComplete: Bool { result != nil }

    /// Waits for the operation to complete and returns its status (`MPI_Wait`). When the
    /// operation failed, its error is thrown, the request is complete all the same and its status
    /// (from then on) has ``Status/error`` set.
    @inlinable @discardableResult
    public mutating func wait() throws(MPIError) -> Status {
        if let result { return result }
        do {
            let status = try backend.wait(handle!)
            complete(status)
            return status
        } catch {
            complete(.failed(error))
            throw error
        }
    }

    /// The status if the operation has completed, else `nil` (`MPI_Test`). A failed operation
    /// throws its error, as ``wait()`` does.
    @inlinable
    public mutating func test() throws(MPIError) -> Status? {
        if let result { return result }
        do {
            guard let status = try backend.test(handle!) else { return nil }
            complete(status)
            return status
        } catch {
            complete(.failed(error))
            throw error
        }
    }

    /// Asks for a pending receive to be cancelled (`MPI_Cancel`); ``wait()`` then returns a
    /// status whose ``Status/isCancelled`` says whether it was. Sends cannot be cancelled.
    public mutating func cancel() throws(MPIError) {
        guard result == nil, let handle else { return }
        try backend.cancel(handle)
    }

    @inlinable
    mutating func complete(_ status: Status) {
        result = status
        loan.end()
        if !persistent {
            handle = nil
            loan = .none
        }
    }

    // MARK: Persistent requests

    /// Starts a persistent request again once it has completed (`MPI_Start`).
    public mutating func start() throws(MPIError) {
        guard persistent, let handle else {
            throw MPIError(.request, "only a persistent request can be started")
        }
        guard result != nil else { throw MPIError(.request, "a persistent request cannot be started while active") }
        try loan.renew()
        do {
            try backend.start(handle)
        } catch {
            loan.end()
            throw error
        }
        result = nil
    }
}

/// A pending receive into a new array, which ``wait()`` hands back.
public struct ReceiveRequest<Element: MessageElement>: ~Copyable {
    @usableFromInline var request: Request
    @usableFromInline var values: [Element]

    @inlinable
    init(request: consuming Request, values: [Element]) {
        self.request = request
        self.values = values
    }

    /// Waits for the message and returns its elements and status (`MPI_Wait`).
    @inlinable
    public consuming func wait() throws(MPIError) -> (values: [Element], status: Status) {
        let status = try request.wait()
        let count = status.count(of: Element.self) ?? values.count
        return (count == values.count ? values : Array(values.prefix(count)), status)
    }

    /// Whether the message has arrived (`MPI_Test`); call ``wait()`` to take it.
    @inlinable
    public mutating func test() throws(MPIError) -> Bool { try request.test() != nil }

    /// Asks for the receive to be cancelled (`MPI_Cancel`).
    public mutating func cancel() throws(MPIError) { try request.cancel() }
}
