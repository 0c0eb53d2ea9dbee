/// Many nonblocking operations completed together: wait or test for all, any or some of them
/// (`MPI_Waitall`, `MPI_Waitany`, `MPI_Waitsome` and the `MPI_Test…` forms).
///
/// Requests move in with ``add(_:)`` and are known by the index it returns. Like a single
/// ``Request``, the list keeps the memory of every pending operation alive, and dropping the list
/// waits for whatever is still pending.
public struct RequestList: ~Copyable {
    // Three parallel arrays: the backend's handles and the statuses are flat, so a whole list
    // goes to the backend in one call (`MPI_Waitall` on Open MPI); the rest of each request
    // (loan, kind, origin) is trivially copyable, so adding and emptying move plain words.
    /// What the list keeps of a request besides its handle and status.
    @usableFromInline struct Slot {
        @usableFromInline var loan: PendingLoan
        /// Pending as far as the list knows: started and not yet completed by it.
        @usableFromInline var isActive: Bool
        @usableFromInline var isPersistent: Bool
        @usableFromInline var origin: RequestOrigin

        @inlinable
        init(loan: PendingLoan, isActive: Bool, isPersistent: Bool, origin: RequestOrigin) {
            self.loan = loan
            self.isActive = isActive
            self.isPersistent = isPersistent
            self.origin = origin
        }
    }

    /// Backends live as long as the process (see `BackendReference`), so no reference count is
    /// kept. Set by the first ``add(_:)`` (tracked by `hasBackend`, so `add` never reads it).
    @usableFromInline var backendReference: Unmanaged<BackendReference>?
    @usableFromInline var hasBackend = false
    @usableFromInline var handles: [RequestHandle?] = []
    /// `nil` while the request is pending.
    @usableFromInline var statuses: [Status?] = []
    @usableFromInline var slots: [Slot] = []
    /// Requests whose status is `nil`.
    @usableFromInline var pending = 0

    /// The backend of the requests (a strong reference, for calls off the message path); only
    /// called on when a request has been added.
    @inlinable var backend: any Backend { backendReference.unsafelyUnwrapped.backend }

    /// An empty list with room for `capacity` requests before it grows.
    public init(capacity: Int = 0) {
        handles.reserveCapacity(capacity)
        statuses.reserveCapacity(capacity)
        slots.reserveCapacity(capacity)
    }

    /// Waits for every pending request, then empties the list, keeping its storage for reuse.
    @inlinable
    public mutating func removeAll() throws(MPIError) {
        // Waited for here, so none of them counts as dropped.
        defer { releaseAll() }
        if pending > 0 { try completeAll() }
    }

    /// Lets go of every request (frees persistent ones, drops loans) and empties the list.
    @inlinable
    mutating func releaseAll() {
        guard hasBackend else { return }
        let backend = self.backend
        handles.withUnsafeBufferPointer { handles in
            slots.withUnsafeBufferPointer { slots in
                for index in slots.indices {
                    if slots[index].isPersistent, let handle = handles[index] { backend.release(handle) }
                    slots[index].loan.release()
                }
            }
        }
        handles.removeAll(keepingCapacity: true)
        statuses.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        pending = 0
    }

    deinit {
        guard hasBackend else { return }
        for index in slots.indices {
            if statuses[index] == nil, let handle = handles[index] {
                RequestOrigin.reportDropped(slots[index].origin)
                _ = try? backend.wait(handle)
                slots[index].loan.end()
            }
            if slots[index].isPersistent, let handle = handles[index] { backend.release(handle) }
            slots[index].loan.release()
        }
    }

    /// Number of requests in the list.
    public var count: Int { slots.count }

    /// Number of requests not yet complete.
    public var pendingCount: Int { pending }

    /// Moves `request` into the list and returns its index.
    @inlinable @discardableResult
    public mutating func add(_ request: consuming Request) -> Int {
        if !hasBackend {
            backendReference = request.backendReference
            hasBackend = true
        }
        let parts = request.disown()
        handles.append(parts.handle)
        statuses.append(parts.result)
        slots.append(Slot(loan: parts.loan, isActive: parts.result == nil, isPersistent: parts.persistent, origin: parts.origin))
        if parts.result == nil { pending += 1 }
        return slots.count - 1
    }

    /// The status of request `index` once it has completed, else `nil`.
    public func status(at index: Int) -> Status? { statuses[index] }

    /// Asks for pending request `index` (a receive) to be cancelled (`MPI_Cancel`).
    public mutating func cancel(at index: Int) throws(MPIError) {
        guard statuses[index] == nil, let handle = handles[index] else { return }
        try backend.cancel(handle)
    }

    /// Starts every persistent request of the list again (`MPI_Startall`).
    public mutating func startAll() throws(MPIError) {
        for index in slots.indices where slots[index].isPersistent {
            guard statuses[index] != nil else {
                throw MPIError(.request, "persistent request \(index) started while still active")
            }
            guard let handle = handles[index] else {
                statuses[index] = .null  // with the null process: complete at once
                continue
            }
            try slots[index].loan.renew()
            try backend.start(handle)
            statuses[index] = nil
            slots[index].isActive = true
            pending += 1
        }
    }

    /// Ends what request `index` held once its status is in: gives its buffer back and, unless
    /// it is persistent, lets go of the operation.
    @inlinable
    static func finish(_ index: Int, _ slots: UnsafeMutableBufferPointer<Slot>, _ handles: UnsafeMutableBufferPointer<RequestHandle?>) {
        slots[index].isActive = false
        slots[index].loan.end()
        if !slots[index].isPersistent {
            handles[index] = nil
            slots[index].loan.release()
            slots[index].loan = .none
        }
    }

    /// Finishes every request the list had as pending whose status has come in since, telling
    /// `report` of each (in list order).
    @inlinable
    mutating func finishCompleted(report: (_ index: Int, _ status: Status) -> Void = { _, _ in }) {
        var completed = 0
        let statuses = self.statuses
        handles.withUnsafeMutableBufferPointer { handles in
            slots.withUnsafeMutableBufferPointer { slots in
                for index in slots.indices where slots[index].isActive {
                    guard let status = statuses[index] else { continue }
                    report(index, status)
                    RequestList.finish(index, slots, handles)
                    completed += 1
                }
            }
        }
        pending -= completed
    }

    /// Records request `index`'s outcome and finishes it.
    @usableFromInline
    mutating func finish(_ index: Int, _ status: Status) {
        statuses[index] = status
        handles.withUnsafeMutableBufferPointer { handles in
            slots.withUnsafeMutableBufferPointer { slots in RequestList.finish(index, slots, handles) }
        }
        pending -= 1
    }

    // MARK: Wait

    /// Waits for every request and returns their statuses in list order (`MPI_Waitall`). On an
    /// error the remaining requests are still completed before it is thrown.
    @inlinable @discardableResult
    public mutating func waitAll() throws(MPIError) -> [Status] {
        if pending > 0 { try completeAll() }
        return statuses.map { $0! }
    }

    /// Completes every pending request in one backend call, then throws the first error.
    @inlinable
    mutating func completeAll() throws(MPIError) {
        let reference = backendReference.unsafelyUnwrapped
        let failure = try handles.withUnsafeBufferPointer { (handles) throws(MPIError) in
            try statuses.withUnsafeMutableBufferPointer { (statuses) throws(MPIError) in
                try reference.withBackend { (backend) throws(MPIError) in try backend.waitAll(handles, statuses: statuses) }
            }
        }
        finishCompleted()
        if let failure { throw failure.error }
    }

    /// Waits until one pending request completes and returns its index and status
    /// (`MPI_Waitany`); `nil` when none is pending. When the operation that completed failed,
    /// its error is thrown and ``status(at:)`` of its index has ``Status/error`` set.
    public mutating func waitAny() throws(MPIError) -> (index: Int, status: Status)? {
        guard pending > 0 else { return nil }
        let reference = backendReference.unsafelyUnwrapped
        let (index, outcome) = try handles.withUnsafeBufferPointer { (handles) throws(MPIError) in
            try statuses.withUnsafeBufferPointer { (statuses) throws(MPIError) in
                try reference.withBackend { (backend) throws(MPIError) in try backend.waitAny(handles, statuses: statuses) }
            }
        }
        switch outcome {
        case .success(let status):
            finish(index, status)
            return (index, status)
        case .failure(let error):
            finish(index, .failed(error))
            throw error
        }
    }

    /// Waits until at least one pending request completes and returns every one that has
    /// (`MPI_Waitsome`); empty when none is pending.
    public mutating func waitSome() throws(MPIError) -> [(index: Int, status: Status)] {
        guard let first = try waitAny() else { return [] }
        return [first] + (try testSome())
    }

    // MARK: Test

    /// The statuses of all requests if all have completed, else `nil` (`MPI_Testall`). As in
    /// MPI, a `nil` result leaves every request as it was: none is completed, so their statuses
    /// stay `nil` and ``pendingCount`` does not change. When all have completed and some failed,
    /// all are completed and the first error is thrown.
    public mutating func testAll() throws(MPIError) -> [Status]? {
        for index in slots.indices where statuses[index] == nil {
            guard try backend.isComplete(handles[index]!) else { return nil }
        }
        return try waitAll()
    }

    /// What ``testAny()`` found.
    public enum AnyCompletion: Sendable {
        /// Request `index` has completed with `status` (`MPI_Testany`'s flag true and an index).
        case completed(index: Int, status: Status)
        /// Requests are pending, none has completed yet (flag false).
        case noneCompleted
        /// No request is pending (flag true, index `MPI_UNDEFINED`).
        case nonePending
    }

    /// One pending request that has completed, if any, or that none has, or that none is pending
    /// (`MPI_Testany`). When the operation that completed failed, its error is thrown and
    /// ``status(at:)`` of its index has ``Status/error`` set.
    ///
    /// ```swift
    /// switch try requests.testAny() {
    /// case .completed(let index, let status): handle(index, status)
    /// case .noneCompleted: doOtherWork()
    /// case .nonePending: break
    /// }
    /// ```
    public mutating func testAny() throws(MPIError) -> AnyCompletion {
        guard pending > 0 else { return .nonePending }
        for index in slots.indices where statuses[index] == nil {
            if let status = try test(index) { return .completed(index: index, status: status) }
        }
        return .noneCompleted
    }

    /// Every pending request that has completed (`MPI_Testsome`).
    public mutating func testSome() throws(MPIError) -> [(index: Int, status: Status)] {
        var done: [(index: Int, status: Status)] = []
        try testSome { index, status in done.append((index, status)) }
        return done
    }

    /// Completes every pending request that has completed (`MPI_Testsome`) and calls `body`
    /// with each one's index and status, in list order; returns how many there were. Allocates
    /// nothing. When some failed, all that completed are completed and reported to `body` (the
    /// failed ones with ``Status/error`` set) before the first error is thrown.
    @discardableResult
    public mutating func testSome(_ body: (_ index: Int, _ status: Status) -> Void) throws(MPIError) -> Int {
        guard pending > 0 else { return 0 }
        let before = pending
        let reference = backendReference.unsafelyUnwrapped
        let failure = try handles.withUnsafeBufferPointer { (handles) throws(MPIError) in
            try statuses.withUnsafeMutableBufferPointer { (statuses) throws(MPIError) in
                try reference.withBackend { (backend) throws(MPIError) in try backend.testSome(handles, statuses: statuses) }
            }
        }
        finishCompleted(report: body)
        if let failure { throw failure.error }
        return before - pending
    }

    /// Tests pending request `index`, completing it when done; a failed operation is completed
    /// and its error thrown.
    @usableFromInline
    mutating func test(_ index: Int) throws(MPIError) -> Status? {
        do {
            let handle = handles[index].unsafelyUnwrapped
            guard let status = try backendReference.unsafelyUnwrapped.withBackend({ (backend) throws(MPIError) in try backend.test(handle) }) else {
                return nil
            }
            finish(index, status)
            return status
        } catch {
            finish(index, .failed(error))
            throw error
        }
    }
}

extension Communicator {
    /// Runs `body` with an empty request list and waits for every request still pending in it
    /// when `body` returns or throws, so memory lent to those requests outlives them (a scope
    /// that waits: nothing it holds counts as dropped).
    public func withRequests<R, E: Error>(
        capacity: Int = 0, _ body: (inout RequestList) throws(E) -> R
    ) throws(E) -> R {
        var list = RequestList(capacity: capacity)
        defer { _ = try? list.waitAll() }
        return try body(&list)
    }
}
