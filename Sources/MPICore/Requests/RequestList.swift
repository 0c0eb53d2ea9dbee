/// Many nonblocking operations completed together: wait or test for all, any or some of them
/// (`MPI_Waitall`, `MPI_Waitany`, `MPI_Waitsome` and the `MPI_Test…` forms).
///
/// Requests move in with ``add(_:)`` and are known by the index it returns. Like a single
/// ``Request``, the list keeps the memory of every pending operation alive, and dropping the list
/// waits for whatever is still pending.
public struct RequestList: ~Copyable {
    /// One request's parts. Trivially copyable (the loan counts its reference by hand), so
    /// adding, completing and emptying move plain words.
    @usableFromInline struct Slot {
        @usableFromInline var handle: RequestHandle?
        @usableFromInline var loan: PendingLoan
        @usableFromInline var status: Status?
        @usableFromInline var isPersistent: Bool
        @usableFromInline var origin: RequestOrigin

        @inlinable
        init(handle: RequestHandle?, loan: PendingLoan, status: Status?, isPersistent: Bool, origin: RequestOrigin) {
            self.handle = handle
            self.loan = loan
            self.status = status
            self.isPersistent = isPersistent
            self.origin = origin
        }
    }

    /// Backends live as long as the process (see `Runtime`), so no reference count is kept.
    /// Set by the first ``add(_:)`` (tracked by `hasBackend`, so `add` never reads it).
    @usableFromInline unowned(unsafe) var storedBackend: (any Backend)?
    @usableFromInline var hasBackend = false
    /// The backend of the requests; only called on when a request has been added.
    @inlinable var backend: any Backend { storedBackend.unsafelyUnwrapped }
    @usableFromInline var slots: [Slot] = []
    /// Slots whose status is `nil`.
    @usableFromInline var pending = 0
    /// Scratch for `waitAny`: handles of the pending slots and their indices.
    @usableFromInline var pendingHandles: [RequestHandle] = []
    @usableFromInline var pendingIndices: [Int] = []

    /// An empty list with room for `capacity` requests before it grows.
    public init(capacity: Int = 0) {
        slots.reserveCapacity(capacity)
        pendingHandles.reserveCapacity(capacity)
        pendingIndices.reserveCapacity(capacity)
    }

    /// Waits for every pending request, then empties the list, keeping its storage for reuse.
    @inlinable
    public mutating func removeAll() throws(MPIError) {
        // Waited for here, so none of them counts as dropped.
        defer { releaseAll() }
        if pending > 0 { try completeAll() }
    }

    /// Lets go of every slot (frees persistent requests, drops loans) and empties the list.
    @inlinable
    mutating func releaseAll() {
        guard hasBackend else { return }
        let backend = self.backend
        slots.withUnsafeMutableBufferPointer { slots in
            for slot in slots {
                if slot.isPersistent, let handle = slot.handle { backend.release(handle) }
                slot.loan.release()
            }
        }
        slots.removeAll(keepingCapacity: true)
        pending = 0
    }

    deinit {
        guard hasBackend else { return }
        for index in slots.indices where slots[index].status == nil {
            if let handle = slots[index].handle {
                RequestOrigin.reportDropped(slots[index].origin)
                _ = try? backend.wait(handle)
            }
            slots[index].loan.end()
        }
        for slot in slots {
            if slot.isPersistent, let handle = slot.handle { backend.release(handle) }
            slot.loan.release()
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
            storedBackend = request.backend
            hasBackend = true
        }
        let parts = request.disown()
        slots.append(Slot(
            handle: parts.handle, loan: parts.loan, status: parts.result, isPersistent: parts.persistent,
            origin: parts.origin))
        if parts.result == nil { pending += 1 }
        return slots.count - 1
    }

    /// The status of request `index` once it has completed, else `nil`.
    public func status(at index: Int) -> Status? { slots[index].status }

    /// Asks for pending request `index` (a receive) to be cancelled (`MPI_Cancel`).
    public mutating func cancel(at index: Int) throws(MPIError) {
        guard slots[index].status == nil, let handle = slots[index].handle else { return }
        try backend.cancel(handle)
    }

    /// Starts every persistent request of the list again (`MPI_Startall`).
    public mutating func startAll() throws(MPIError) {
        for index in slots.indices where slots[index].isPersistent {
            guard slots[index].status != nil else {
                throw MPIError(.request, "persistent request \(index) started while still active")
            }
            guard let handle = slots[index].handle else {
                slots[index].status = .null  // with the null process: complete at once
                continue
            }
            try slots[index].loan.renew()
            try backend.start(handle)
            slots[index].status = nil
            pending += 1
        }
    }

    @inlinable
    mutating func finish(_ index: Int, _ status: Status) {
        slots.withUnsafeMutableBufferPointer { RequestList.finish(&$0[index], status) }
        pending -= 1
    }

    @inlinable
    static func finish(_ slot: inout Slot, _ status: Status) {
        slot.status = status
        slot.loan.end()
        if !slot.isPersistent {
            slot.handle = nil
            slot.loan.release()
            slot.loan = .none
        }
    }

    // MARK: Wait

    /// Waits for every request and returns their statuses in list order (`MPI_Waitall`). On an
    /// error the remaining requests are still completed before it is thrown.
    @inlinable @discardableResult
    public mutating func waitAll() throws(MPIError) -> [Status] {
        if pending > 0 { try completeAll() }
        return slots.map { $0.status! }
    }

    /// Completes every pending request, then throws the first error.
    @inlinable
    mutating func completeAll() throws(MPIError) {
        let backend = self.backend
        let firstError: MPIError? = slots.withUnsafeMutableBufferPointer { slots in
            var firstError: MPIError?
            for index in slots.indices where slots[index].status == nil {
                do throws(MPIError) {
                    RequestList.finish(&slots[index], try backend.wait(slots[index].handle.unsafelyUnwrapped))
                } catch {
                    RequestList.finish(&slots[index], .failed(error))
                    if firstError == nil { firstError = error }
                }
            }
            return firstError
        }
        pending = 0
        if let firstError { throw firstError }
    }

    /// Waits until one pending request completes and returns its index and status
    /// (`MPI_Waitany`); `nil` when none is pending. When the operation that completed failed,
    /// its error is thrown and ``status(at:)`` of its index has ``Status/error`` set.
    public mutating func waitAny() throws(MPIError) -> (index: Int, status: Status)? {
        collectPending()
        guard !pendingHandles.isEmpty else { return nil }
        let (position, outcome) = try pendingHandles.withUnsafeBufferPointer { (handles) throws(MPIError) in
            try backend.waitAny(handles)
        }
        let index = pendingIndices[position]
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
        for index in slots.indices where slots[index].status == nil {
            guard try backend.isComplete(slots[index].handle!) else { return nil }
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
        var pending = false
        for index in slots.indices where slots[index].status == nil {
            pending = true
            if let status = try test(index) { return .completed(index: index, status: status) }
        }
        return pending ? .noneCompleted : .nonePending
    }

    /// Every pending request that has completed (`MPI_Testsome`).
    public mutating func testSome() throws(MPIError) -> [(index: Int, status: Status)] {
        var done: [(index: Int, status: Status)] = []
        for index in slots.indices where slots[index].status == nil {
            if let status = try test(index) { done.append((index, status)) }
        }
        return done
    }

    /// Tests pending request `index`, completing it when done; a failed operation is completed
    /// and its error thrown.
    @usableFromInline
    mutating func test(_ index: Int) throws(MPIError) -> Status? {
        do {
            guard let status = try backend.test(slots[index].handle!) else { return nil }
            finish(index, status)
            return status
        } catch {
            finish(index, .failed(error))
            throw error
        }
    }

    @usableFromInline
    mutating func collectPending() {
        pendingHandles.removeAll(keepingCapacity: true)
        pendingIndices.removeAll(keepingCapacity: true)
        for index in slots.indices where slots[index].status == nil {
            pendingHandles.append(slots[index].handle!)
            pendingIndices.append(index)
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
