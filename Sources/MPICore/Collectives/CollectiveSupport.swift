// What every collective operation shares: running it blocking, starting it as a request, and the
// argument checks. Each operation's file describes it once — a function that turns the send and
// receive elements into a `Collective` and submits it — and these helpers give that description
// every buffer kind and every form (blocking, immediate, returning a new array, `async`).

/// Builds the `Collective` of an operation from its send elements (`nil` in place) and receive
/// elements, and hands it to `submit` while any counts it points to are valid.
@usableFromInline
typealias DescribeCollective<T: MessageElement> = (
    _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>,
    _ submit: (Collective) throws(MPIError) -> Void
) throws(MPIError) -> Void

/// Which of an operation's buffers this rank uses (MPI: "significant only at the root").
@usableFromInline
struct CollectiveRoles {
    @usableFromInline var sends: Bool
    @usableFromInline var receives: Bool

    @inlinable init(sends: Bool = true, receives: Bool = true) {
        self.sends = sends
        self.receives = receives
    }
}

/// A nonblocking collective whose result is a new array, which ``wait()`` hands back.
public struct CollectiveRequest<Element: MessageElement>: ~Copyable {
    @usableFromInline var request: Request
    @usableFromInline let result: OwnedElements<Element>?
    @usableFromInline var resultCount: Int

    @inlinable
    init(request: consuming Request, result: OwnedElements<Element>?, count: Int) {
        self.request = request
        self.result = result
        self.resultCount = count
    }

    /// Waits for the operation and returns its result: empty on ranks that receive nothing
    /// (all but the root of a reduce or gather, rank 0 of an exclusive scan) (`MPI_Wait`).
    @inlinable
    public consuming func wait() throws(MPIError) -> [Element] {
        try request.wait()
        return takeResult()
    }

    /// Suspends until the operation completes and returns its result; the waiting task drives
    /// progress below ``ThreadLevel/multiple`` (`MPI_Wait` without blocking a thread).
    public consuming func completion() async throws -> [Element] {
        try await request.completion()
        return takeResult()
    }

    @inlinable
    func takeResult() -> [Element] {
        result?.array(prefix: resultCount) ?? []
    }

    /// Whether the operation has completed (`MPI_Test`); call ``wait()`` to take the result.
    @inlinable
    public mutating func test() throws(MPIError) -> Bool { try request.test() != nil }

    /// Whether the operation is known to have completed.
    public var isComplete: Bool { request.isComplete }
}

/// What a pending collective keeps alive: the loans of its send and receive buffers, the
/// backend's own resources and the communicator (MPI frees a communicator only once no request
/// refers to it; Open MPI 4.1's persistent collectives crash when it is freed under them). An
/// immediate collective's loans end when the request lets go of it; a persistent one's are
/// renewed at each start and ended at each completion (`Loan.collective`), while the resources
/// and the communicator stay until the request is freed.
@usableFromInline
final class CollectiveLoan {
    @usableFromInline let send: Loan
    @usableFromInline let receive: Loan
    @usableFromInline let resources: AnyObject?
    @usableFromInline let communicator: Communicator?
    @usableFromInline let isPersistent: Bool

    @inlinable
    init(send: Loan, receive: Loan, resources: AnyObject?, communicator: Communicator? = nil, persistent: Bool = false) {
        self.send = send
        self.receive = receive
        self.resources = resources
        self.communicator = communicator
        isPersistent = persistent
    }

    deinit {
        if !isPersistent { end() }
    }

    @inlinable
    func renew() throws(MPIError) {
        try send.renew()
        do throws(MPIError) {
            try receive.renew()
        } catch {
            send.end()
            throw error
        }
    }

    @inlinable
    func end() {
        send.end()
        receive.end()
    }
}

extension Communicator {
    // MARK: Forms

    /// Runs the collective `describe` builds, blocking, on `send` (or in place) and `receive`.
    /// (Every closure here is a literal argument, so none needs a heap context: a closure kept in
    /// a local cost an allocation per call.)
    @inlinable
    func runCollective<S: SendBuffer, R: ReceiveBuffer>(
        _ send: S, _ receive: inout R, roles: CollectiveRoles = CollectiveRoles(), _ describe: DescribeCollective<S.Element>
    ) throws(MPIError) where S.Element == R.Element {
        try checkActive()
        let nothing = UnsafeMutableBufferPointer<S.Element>(start: nil, count: 0)
        if send.isInPlace || !roles.sends {
            guard roles.receives else {
                return try describe(nil, nothing) { (operation) throws(MPIError) in try backend.collective(operation.fields(), comm: handle) }
            }
            try receive.withReceiveElements { (elements) throws(MPIError) in
                try describe(nil, elements) { (operation) throws(MPIError) in try backend.collective(operation.fields(), comm: handle) }
            }
        } else if roles.receives {
            try send.withSendElements { (sent) throws(MPIError) in
                try receive.withReceiveElements { (elements) throws(MPIError) in
                    try describe(sent, elements) { (operation) throws(MPIError) in try backend.collective(operation.fields(), comm: handle) }
                }
            }
        } else {
            try send.withSendElements { (sent) throws(MPIError) in
                try describe(sent, nothing) { (operation) throws(MPIError) in try backend.collective(operation.fields(), comm: handle) }
            }
        }
    }

    /// Runs the collective blocking into a new array of `count` elements.
    @inlinable
    func collectiveResult<S: SendBuffer>(
        _ send: S, count: Int, zeroed: Bool = false, roles: CollectiveRoles = CollectiveRoles(),
        _ describe: DescribeCollective<S.Element>
    ) throws(MPIError) -> [S.Element] {
        try makeArray(count: roles.receives ? count : 0, zeroed: zeroed) { (elements) throws(MPIError) in
            var receive = elements
            try runCollective(send, &receive, roles: roles, describe)
        }
    }

    /// Starts the collective `describe` builds and returns its request, which keeps `send` and
    /// `receive` lent (or their copies alive) until the operation completes.
    @inlinable
    func startCollective<S: SendBuffer, R: LendableReceiveBuffer>(
        _ send: S, _ receive: R, roles: CollectiveRoles = CollectiveRoles(), origin: RequestOrigin,
        _ describe: DescribeCollective<S.Element>
    ) throws(MPIError) -> Request where S.Element == R.Element {
        try checkActive()
        var sent: (elements: UnsafeBufferPointer<S.Element>, loan: BufferLoan)?
        if !send.isInPlace && roles.sends { sent = try send.lendForSending() }
        var received = (elements: UnsafeMutableBufferPointer<S.Element>(start: nil, count: 0), loan: BufferLoan.none)
        if roles.receives {
            do throws(MPIError) {
                received = try receive.lendForReceiving()
            } catch {
                sent?.loan.loan.end()
                throw error
            }
        }
        var started: (request: RequestHandle, resources: AnyObject?)?
        do throws(MPIError) {
            try describe(sent?.elements, received.elements) { (operation) throws(MPIError) in
                started = try self.backend.immediateCollective(operation.fields(), comm: self.handle)
            }
        } catch {
            sent?.loan.loan.end()
            received.loan.loan.end()
            throw error
        }
        let loan = CollectiveLoan(send: sent?.loan.loan ?? .none, receive: received.loan.loan, resources: started!.resources, communicator: self)
        return Request(backend: backendReference, handle: started!.request, loan: .retained(loan), result: nil, origin: origin)
    }

    /// Makes the collective `describe` builds a persistent request, inactive until
    /// ``Request/start()`` (MPI-4.1 §6.13). Each start lends `send` and `receive` again (a
    /// ``MessageBuffer`` is locked while an activation runs); an array or value sent is copied
    /// once, here.
    @inlinable
    func persistentCollective<S: SendBuffer, R: LendableReceiveBuffer>(
        _ send: S, _ receive: R, roles: CollectiveRoles = CollectiveRoles(), kind: Collective.Kind,
        _ describe: DescribeCollective<S.Element>
    ) throws(MPIError) -> Request where S.Element == R.Element {
        try checkActive()
        var sent: (elements: UnsafeBufferPointer<S.Element>, loan: BufferLoan)?
        if !send.isInPlace && roles.sends { sent = try send.lendForPersistentSending() }
        var received = (elements: UnsafeMutableBufferPointer<S.Element>(start: nil, count: 0), loan: BufferLoan.none)
        if roles.receives { received = try receive.lendForPersistentReceiving() }
        var made: (request: RequestHandle, resources: AnyObject?)?
        try describe(sent?.elements, received.elements) { (operation) throws(MPIError) in
            made = try self.backend.persistentCollective(operation.fields(), comm: self.handle)
        }
        let loan = CollectiveLoan(send: sent?.loan.loan ?? .none, receive: received.loan.loan, resources: made!.resources, communicator: self, persistent: true)
        return Request(backend: backendReference, handle: made!.request, loan: .collective(loan),
            result: Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0), persistent: true,
            origin: RequestOrigin(kind, persistent: true))
    }

    /// Starts the collective into a new array of `count` elements, which the request returns.
    @inlinable
    func startCollectiveResult<S: SendBuffer>(
        _ send: S, count: Int, roles: CollectiveRoles = CollectiveRoles(), origin: RequestOrigin,
        _ describe: DescribeCollective<S.Element>
    ) throws(MPIError) -> CollectiveRequest<S.Element> {
        let count = roles.receives ? count : 0
        let result = OwnedElements<S.Element>(zeroedCount: count)
        let request = try startCollective(send, result, roles: roles, origin: origin, describe)
        return CollectiveRequest(request: request, result: result, count: count)
    }

    // MARK: Argument checks

    @inlinable
    package func checkCollective(root: Int) throws(MPIError) {
        try checkActive()
        guard root >= 0 && root < size else {
            throw MPIError(.root, "invalid root \(root): communicator has \(size) rank\(size == 1 ? "" : "s") (valid 0...\(size - 1))")
        }
    }

    /// Throws unless a buffer of `have` elements holds the `need` elements `what` takes.
    @inlinable
    package func checkRoom(_ have: Int, for need: Int, _ what: @autoclosure () -> String, sending: Bool = false) throws(MPIError) {
        guard have >= need else {
            throw MPIError(.count, "\(sending ? "send" : "receive") buffer of \(have) elements is too small for the \(what()): \(need) elements needed")
        }
    }

    /// Elements in `size` blocks of `count` elements.
    @inlinable
    package func blocks(_ count: Int) throws(MPIError) -> Int {
        let (total, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow else { throw MPIError(.count, "\(size) blocks of \(count) elements overflow Int") }
        return total
    }

    /// The block size of a buffer of `count` elements split evenly among the ranks.
    @inlinable
    package func blockCount(_ count: Int, _ what: @autoclosure () -> String) throws(MPIError) -> Int {
        guard count % size == 0 else {
            throw MPIError(.count, "\(what()) of \(count) elements does not split into \(size) equal blocks")
        }
        return count / size
    }

    /// The sum of `counts`, which must have one non-negative entry per rank.
    @inlinable
    package func total(_ counts: [Int], _ what: @autoclosure () -> String) throws(MPIError) -> Int {
        _ = try layout(counts: counts, displacements: nil, room: Int.max, what())
        return counts.reduce(0, +)
    }

    /// Checks per-rank `counts` and `displacements` (packed when `nil`) against a buffer of `room`
    /// elements; returns the displacements.
    @inlinable
    package func layout(
        counts: [Int], displacements: [Int]?, room: Int, _ what: String, sending: Bool = false
    ) throws(MPIError) -> [Int] {
        guard counts.count == size else {
            throw MPIError(.count, "\(what) needs one count per rank: \(counts.count) counts for \(size) ranks")
        }
        if let bad = counts.firstIndex(where: { $0 < 0 }) {
            throw MPIError(.count, "\(what): counts[\(bad)] is \(counts[bad]); counts must not be negative")
        }
        var result: [Int]
        if let displacements {
            guard displacements.count == size else {
                throw MPIError(.count, "\(what) needs one displacement per rank: \(displacements.count) displacements for \(size) ranks")
            }
            if let bad = displacements.firstIndex(where: { $0 < 0 }) {
                throw MPIError(.argument, "\(what): displacements[\(bad)] is \(displacements[bad]); displacements must not be negative")
            }
            result = displacements
        } else {
            result = []
            result.reserveCapacity(size)
            var offset = 0
            for count in counts {
                result.append(offset)
                let (next, overflow) = offset.addingReportingOverflow(count)
                guard !overflow else { throw MPIError(.count, "\(what): the counts add up past Int.max") }
                offset = next
            }
        }
        var end = 0
        for index in 0..<size where counts[index] > 0 {
            let (last, overflow) = result[index].addingReportingOverflow(counts[index])
            guard !overflow else { throw MPIError(.count, "\(what): block \(index) ends past Int.max") }
            end = Swift.max(end, last)
        }
        try checkRoom(room, for: end, "\(what) blocks", sending: sending)
        return result
    }

    @inlinable
    package func withCounts<R>(
        _ counts: [Int], _ displacements: [Int],
        _ body: (UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int>) throws(MPIError) -> R
    ) throws(MPIError) -> R {
        try counts.withUnsafeBufferPointer { (counts) throws(MPIError) in
            try displacements.withUnsafeBufferPointer { (displacements) throws(MPIError) in try body(counts, displacements) }
        }
    }

    /// A new array of `count` elements that `fill` writes (zeroed first when `zeroed`, for
    /// operations that may leave part of it untouched, and for datatypes that leave bytes out).
    @inlinable
    package func makeArray<T: MessageElement>(
        count: Int, zeroed: Bool = false, _ fill: (UnsafeMutableBufferPointer<T>) throws(MPIError) -> Void
    ) throws(MPIError) -> [T] {
        var failure: MPIError?
        let array = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if zeroed || !T.datatype.isDense { UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0) }
            do throws(MPIError) {
                try fill(buffer)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return array
    }

    /// `values` cut into consecutive arrays of `counts[i]` elements.
    @inlinable
    package func split<T>(_ values: [T], counts: [Int]) -> [[T]] {
        var result: [[T]] = []
        result.reserveCapacity(counts.count)
        var offset = 0
        for count in counts {
            result.append(Array(values[offset..<offset + count]))
            offset += count
        }
        return result
    }

    /// A collective's input: the send elements, or in place.
    @inlinable
    func input<T>(_ send: UnsafeBufferPointer<T>?) -> Collective.Input {
        send.map { .buffer(UnsafeRawPointer($0.baseAddress)) } ?? .inPlace
    }

    /// The number of elements `buffer` holds.
    @inlinable
    func elementCount<S: SendBuffer>(_ buffer: S) throws(MPIError) -> Int {
        try buffer.withSendElements { (elements) throws(MPIError) in elements.count }
    }
}
