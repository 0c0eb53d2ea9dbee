/// A nonblocking operation in flight (`MPI_Request`).
///
/// A request keeps alive whatever memory the operation uses: a copy of an array or value it
/// sends, a ``MessageBuffer`` lent and locked. Dropping a request that has not completed waits
/// for it — memory in use is never freed — and says so once per process on standard error,
/// naming the operation, peer and tag, so a forgotten request does not become a silent hang.
///
/// ``wait()`` blocks the calling thread; ``completion()`` suspends the calling task instead.
@frozen
public struct Request: ~Copyable {
    // Every stored property is trivially copyable (the loan counts its one reference by hand),
    // so moving a request into a ``RequestList`` copies a few words and runs no deinit.
    /// Backends live as long as the process (see `BackendReference`), so no reference count is kept.
    @usableFromInline let backendReference: Unmanaged<BackendReference>
    @usableFromInline var handle: RequestHandle?
    @usableFromInline var loan: PendingLoan
    @usableFromInline var result: Status?
    @usableFromInline let persistent: Bool
    @usableFromInline let origin: RequestOrigin

    /// The backend, for calls off the message path (a strong reference).
    @inlinable var backend: any Backend { backendReference.backend }

    @inlinable
    init(
        backend: Unmanaged<BackendReference>, handle: RequestHandle?, loan: Loan, result: Status?, persistent: Bool = false,
        origin: RequestOrigin
    ) {
        self.backendReference = backend
        self.handle = handle
        self.loan = PendingLoan(loan)
        self.result = result
        self.persistent = persistent
        self.origin = origin
    }

    /// A request that completed at once (e.g. with the null process).
    @inlinable
    static func completed(_ backend: Unmanaged<BackendReference>, _ status: Status, origin: RequestOrigin) -> Request {
        Request(backend: backend, handle: nil, loan: .none, result: status, origin: origin)
    }

    /// An inactive persistent request with the null process: each start completes it at once
    /// with the null status, nothing reaches the backend.
    @inlinable
    static func persistentWithNullProcess(_ backend: Unmanaged<BackendReference>, origin: RequestOrigin) -> Request {
        Request(backend: backend, handle: nil, loan: .none,
            result: Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0), persistent: true, origin: origin)
    }

    /// The request's parts, handed to a ``RequestList`` that takes over the operation: no deinit
    /// runs, and the loan's reference moves with them.
    @inlinable
    consuming func disown() -> (handle: RequestHandle?, loan: PendingLoan, result: Status?, persistent: Bool, origin: RequestOrigin) {
        let parts = (handle, loan, result, persistent, origin)
        discard self
        return parts
    }

    @inlinable
    deinit {
        if let handle, result == nil { Request.waitDropped(backend, handle, origin, loan) }
        loan.release()
        if persistent, let handle { backend.release(handle) }
    }

    /// A request dropped while pending: said once, then waited for here.
    @usableFromInline
    static func waitDropped(_ backend: any Backend, _ handle: RequestHandle, _ origin: RequestOrigin, _ loan: PendingLoan) {
        RequestOrigin.reportDropped(origin)
        _ = try? backend.wait(handle)
        loan.end()
    }

    /// Whether the operation has completed (as far as the last ``test()`` or ``wait()`` knows).
    public var isComplete: Bool { result != nil }

    /// Waits for the operation to complete and returns its status (`MPI_Wait`), blocking the
    /// calling thread. When the operation failed, its error is thrown, the request is complete
    /// all the same and its status (from then on) has ``Status/error`` set.
    @inlinable @discardableResult
    public mutating func wait() throws(MPIError) -> Status {
        if let result { return result }
        do {
            let handle = self.handle.unsafelyUnwrapped
            let status = try backendReference.withBackend { (backend) throws(MPIError) in try backend.wait(handle) }
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
            let handle = self.handle.unsafelyUnwrapped
            guard let status = try backendReference.withBackend({ (backend) throws(MPIError) in try backend.test(handle) }) else { return nil }
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
            loan.release()
            loan = .none
        }
    }

    // MARK: Persistent requests

    /// Starts a persistent request again once it has completed (`MPI_Start`).
    public mutating func start() throws(MPIError) {
        guard persistent else { throw MPIError(.request, "only a persistent request can be started") }
        guard result != nil else { throw MPIError(.request, "a persistent request cannot be started while active") }
        guard let handle else {
            // With the null process: complete at once (MPI-4.1 §3.11).
            result = .null
            return
        }
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

/// What a request was started for, for the message that names a request dropped while pending.
@usableFromInline
struct RequestOrigin: Sendable {
    @usableFromInline enum Operation: UInt8, Sendable {
        case send, receive, persistentSend, persistentReceive, collective, persistentCollective, duplicate, oneSided, fileRead, fileWrite
    }

    /// One word, so that making a request and moving it into a list copy it with one store and
    /// one load (separate narrow fields cost a store-forwarding stall per request): the tag in
    /// bits 0-31, the peer in 32-53 (22 bits, sign-extended when read: it only names the rank
    /// in a message), the collective's kind in 54-58 and the operation in 59-63.
    @usableFromInline let bits: UInt64

    @inlinable
    init(operation: Operation, collective: UInt8, peer: Int, tag: Int) {
        bits = UInt64(operation.rawValue) << 59 | UInt64(collective & 0x1F) << 54 | (UInt64(truncatingIfNeeded: peer) & 0x3F_FFFF) << 32
            | UInt64(UInt32(truncatingIfNeeded: tag))
    }

    @inlinable
    init(_ operation: Operation, peer: Int, tag: Int) {
        self.init(operation: operation, collective: 0, peer: peer, tag: tag)
    }

    /// The origin of an immediate duplication.
    init(_ operation: Operation) {
        self.init(operation: operation, collective: 0, peer: -1, tag: -1)
    }

    @inlinable
    init(_ kind: Collective.Kind, persistent: Bool = false) {
        self.init(operation: persistent ? .persistentCollective : .collective, collective: kind.rawValue, peer: -1, tag: -1)
    }

    var operation: Operation { Operation(rawValue: UInt8(bits >> 59))! }
    var collective: UInt8 { UInt8(bits >> 54 & 0x1F) }
    /// The peer, sign-extended from its 22 bits.
    var peer: Int32 { Int32(truncatingIfNeeded: Int64(bitPattern: bits << 10) >> 42) }
    var tag: Int32 { Int32(truncatingIfNeeded: UInt32(truncatingIfNeeded: bits)) }

    var description: String {
        switch operation {
        case .collective, .persistentCollective:
            let name = Collective.Kind(rawValue: collective).map { "\($0)" } ?? "collective"
            return "\(operation == .collective ? "immediate" : "persistent") \(name)"
        case .send: return "immediate send to rank \(peer), tag \(tag)"
        case .persistentSend: return "persistent send to rank \(peer), tag \(tag)"
        case .receive, .persistentReceive:
            let source = peer == Int32(Communicator.anySource) ? "any source" : "rank \(peer)"
            let what = tag == Int32(Communicator.anyTag) ? "any tag" : "tag \(tag)"
            return "\(operation == .receive ? "immediate" : "persistent") receive from \(source), \(what)"
        case .duplicate: return "immediate duplicate of a communicator"
        case .oneSided: return "request-based one-sided operation on rank \(peer)'s window"
        case .fileRead: return "immediate file read"
        case .fileWrite: return "immediate file write"
        }
    }

    /// Says once per process, on standard error, that a pending request was dropped.
    @usableFromInline
    static func reportDropped(_ origin: RequestOrigin) {
        guard droppedReported.exchange(true, ordering: .relaxed) == false else { return }
        let message = "swift-mpi: warning: a Request for an \(origin.description) was dropped while pending; "
            + "waiting for it here (a request should be waited for, tested to completion or kept in a RequestList; "
            + "further dropped requests are not reported)\n"
        writeToStandardError(message)
    }
}

/// A pending receive into a new array, which ``wait()`` hands back.
public struct ReceiveRequest<Element: MessageElement>: ~Copyable {
    @usableFromInline var request: Request
    @usableFromInline let storage: OwnedElements<Element>?

    @inlinable
    init(request: consuming Request, storage: OwnedElements<Element>?) {
        self.request = request
        self.storage = storage
    }

    /// Waits for the message and returns its elements and status (`MPI_Wait`).
    @inlinable
    public consuming func wait() throws(MPIError) -> (values: [Element], status: Status) {
        let status = try request.wait()
        return (values(for: status), status)
    }

    /// Suspends until the message has arrived and returns its elements and status.
    public consuming func completion() async throws -> (values: [Element], status: Status) {
        let status = try await request.completion()
        return (values(for: status), status)
    }

    @inlinable
    func values(for status: Status) -> [Element] {
        guard let storage else { return [] }
        return storage.array(prefix: status.count(of: Element.self) ?? storage.storage.count)
    }

    /// Whether the message has arrived (`MPI_Test`); call ``wait()`` to take it.
    @inlinable
    public mutating func test() throws(MPIError) -> Bool { try request.test() != nil }

    /// Asks for the receive to be cancelled (`MPI_Cancel`).
    public mutating func cancel() throws(MPIError) { try request.cancel() }

    /// Whether the receive is known to have completed.
    public var isComplete: Bool { request.isComplete }
}

/// A pending receive of an object (``Communicator/immediateReceiveObject(_:capacity:from:tag:)``),
/// whose ``wait()`` decodes it.
public struct ObjectReceiveRequest<Value: Decodable>: ~Copyable {
    @usableFromInline var request: ReceiveRequest<UInt8>

    init(request: consuming ReceiveRequest<UInt8>) { self.request = request }

    /// Waits for the object and returns it with the message's status (`MPI_Wait`).
    ///
    /// - Throws: `MPIError(.truncate)` when it was longer than the capacity, `MPIError(.type)`
    ///   when it does not decode as a `Value` (the message is consumed either way).
    public consuming func wait() throws(MPIError) -> (value: Value, status: Status) {
        let (bytes, status) = try request.wait()
        return (try Communicator.decodeMessage(Value.self, from: bytes, sender: status.source), status)
    }

    /// Suspends until the object has arrived, then decodes it.
    public consuming func completion() async throws -> (value: Value, status: Status) {
        let (bytes, status) = try await request.completion()
        return (try Communicator.decodeMessage(Value.self, from: bytes, sender: status.source), status)
    }

    /// Whether the object has arrived (`MPI_Test`); call ``wait()`` to take it.
    public mutating func test() throws(MPIError) -> Bool { try request.test() }

    /// Asks for the receive to be cancelled (`MPI_Cancel`).
    public mutating func cancel() throws(MPIError) { try request.cancel() }
}

/// A pending send-receive (``Communicator/immediateSendReceive(_:to:sendTag:into:from:receiveTag:)``,
/// `MPI_Isendrecv`): a send and a receive that complete together.
public struct SendReceiveRequest: ~Copyable {
    @usableFromInline var send: Request
    @usableFromInline var receive: Request

    @inlinable
    init(send: consuming Request, receive: consuming Request) {
        self.send = send
        self.receive = receive
    }

    /// Waits for both halves and returns the receive's status (`MPI_Wait`). Both complete even
    /// when one fails; the error thrown is the receive's, else the send's.
    @discardableResult
    public mutating func wait() throws(MPIError) -> Status {
        var sendError: MPIError?
        do { _ = try send.wait() } catch { sendError = error }
        let status = try receive.wait()
        if let sendError { throw sendError }
        return status
    }

    /// The receive's status once both halves have completed, else `nil` (`MPI_Test`).
    public mutating func test() throws(MPIError) -> Status? {
        let sent = try send.test() != nil
        let received = try receive.test()
        return sent ? received : nil
    }

    /// Suspends until both halves have completed; returns the receive's status.
    @discardableResult
    public mutating func completion() async throws -> Status {
        var sendError: (any Error)?
        do { _ = try await send.completion() } catch { sendError = error }
        let status = try await receive.completion()
        if let sendError { throw sendError }
        return status
    }

    /// Whether both halves are known to have completed.
    public var isComplete: Bool { send.isComplete && receive.isComplete }
}
