/// Which implementation carries the job's messages.
public enum BackendKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Open MPI through its C API (package trait `OpenMPI`; started by `mpirun`).
    case openMPI = "openmpi"
    /// swift-mpi's pure-Swift shared-memory transport (started by `swift-mpiexec` or alone).
    case sharedMemory = "shm"

    public var description: String { rawValue }
}

/// The thread support level (`MPI_THREAD_*`).
public enum ThreadLevel: Int, Sendable, Comparable, CaseIterable {
    /// Only one thread will execute (`MPI_THREAD_SINGLE`).
    case single = 0
    /// Only the thread that initialized makes MPI calls (`MPI_THREAD_FUNNELED`).
    case funneled = 1
    /// Any thread may call, but never two at once (`MPI_THREAD_SERIALIZED`).
    case serialized = 2
    /// Any thread may call at any time (`MPI_THREAD_MULTIPLE`).
    case multiple = 3

    public static func < (a: ThreadLevel, b: ThreadLevel) -> Bool { a.rawValue < b.rawValue }
}

/// The send mode of a point-to-point send.
public enum SendMode: Sendable, Hashable {
    /// The library may buffer the message and return before it is received (`MPI_Send`).
    case standard
    /// Returns only once the matching receive has started (`MPI_Ssend`).
    case synchronous
    /// Copies the message into the buffer attached with `Environment.attachBuffer(capacity:)`
    /// and returns at once, whatever the receiver does (`MPI_Bsend`). A message that does not
    /// fit the space left throws `MPIError(.buffer)` and sends nothing.
    case buffered
    /// Asserts that the matching receive is already posted (`MPI_Rsend`): erroneous otherwise,
    /// when the message may be lost or the job fail. The shared-memory backend sends it as a
    /// standard send, which MPI allows.
    case ready
}

/// How two communicators relate (`MPI_Comm_compare`).
public enum CommunicatorComparison: Sendable, Hashable {
    /// The same communicator (`MPI_IDENT`).
    case identical
    /// Same group and order, different context (`MPI_CONGRUENT`).
    case congruent
    /// Same members, different order (`MPI_SIMILAR`).
    case similar
    /// Different members (`MPI_UNEQUAL`).
    case unequal
}

/// A backend's name for one of its communicators.
@usableFromInline
package struct CommHandle: Hashable, Sendable {
    @usableFromInline package var raw: UInt
    @inlinable package init(raw: UInt) { self.raw = raw }
}

/// The contract between the public API and an implementation. One backend serves a process,
/// chosen at initialization. Arguments arrive validated: ranks in range (or the wildcards where
/// allowed, never the null process), tags in range, counts not negative.
@usableFromInline
package protocol Backend: AnyObject, Sendable, OneSidedBackend, FileBackend {
    var kind: BackendKind { get }
    var providedThreadLevel: ThreadLevel { get }
    /// False after `finalize`; read on every call, so it must be cheap.
    var isActive: Bool { get }
    var worldHandle: CommHandle { get }
    var soloHandle: CommHandle { get }
    var worldRank: Int { get }
    var worldSize: Int { get }
    var tagUpperBound: Int { get }
    var processorName: String { get }
    var libraryVersion: String { get }
    var wallTick: Double { get }
    func wallTime() -> Double
    func finalize() throws(MPIError)
    func abort(errorCode: Int) -> Never

    func rank(of comm: CommHandle) -> Int
    func size(of comm: CommHandle) -> Int
    func duplicate(_ comm: CommHandle) throws(MPIError) -> CommHandle
    /// `MPI_Alltoallw`: block `i` of `sendBlocks` from `send` to rank `i`, block `i` of
    /// `receiveBlocks` into `receive` from rank `i`; one datatype per block. Collective, blocking.
    func allToAllw(
        _ send: UnsafeRawPointer?, _ sendBlocks: [TypedBlock],
        into receive: UnsafeMutableRawPointer?, _ receiveBlocks: [TypedBlock], comm: CommHandle
    ) throws(MPIError)
    /// `MPI_Comm_dup_with_info`: a duplicate given `hints` (info keys and values), which a
    /// backend may ignore, as MPI allows.
    func duplicate(_ comm: CommHandle, hints: [(key: String, value: String)]) throws(MPIError) -> CommHandle
    /// Starts duplicating `comm` (`MPI_Comm_idup`), ordered like a collective on it; once the
    /// request completes, `finishDuplicate` with the same `resources` returns the communicator.
    func immediateDuplicate(_ comm: CommHandle) throws(MPIError) -> (request: RequestHandle, resources: AnyObject)
    func finishDuplicate(_ comm: CommHandle, _ resources: AnyObject) throws(MPIError) -> CommHandle
    /// `color == nil` is `MPI_UNDEFINED`: the caller joins no new communicator and gets `nil`.
    func split(_ comm: CommHandle, color: Int?, key: Int) throws(MPIError) -> CommHandle?
    /// The processes of `comm` that can share memory with this one, ordered by `key` then rank
    /// (`MPI_Comm_split_type` with `MPI_COMM_TYPE_SHARED`). Collective.
    /// `nil` for a rank that does not join (`MPI_UNDEFINED` as the split type).
    func splitShared(_ comm: CommHandle, key: Int, joining: Bool) throws(MPIError) -> CommHandle?
    /// Tells the implementation a communicator's name (`MPI_Comm_set_name`), for its messages
    /// and tools; the name itself is kept by `Communicator`.
    func setName(_ name: String, of comm: CommHandle)
    func compare(_ a: CommHandle, _ b: CommHandle) throws(MPIError) -> CommunicatorComparison
    /// The world rank of each process of `comm`, in rank order (for `MPI_Comm_group`).
    func worldRanks(of comm: CommHandle) throws(MPIError) -> [Int]
    /// A communicator of the processes with world ranks `worldRanks` (in that order), all in
    /// `comm` and including this one; collective over them only (`MPI_Comm_create_group`).
    func createGroup(_ comm: CommHandle, worldRanks: [Int], tag: Int) throws(MPIError) -> CommHandle
    func free(_ comm: CommHandle)

    /// Attaches `capacity` bytes of space for buffered sends (`MPI_Buffer_attach`); throws
    /// `.buffer` when space is attached already.
    func attachBuffer(capacity: Int) throws(MPIError)
    /// Waits until every buffered message has left the space, detaches it and returns its
    /// capacity (`MPI_Buffer_detach`); throws `.buffer` when none is attached.
    func detachBuffer() throws(MPIError) -> Int
    /// Bytes of attached space a buffered send needs beyond its data (`MPI_BSEND_OVERHEAD`).
    var bufferedSendOverhead: Int { get }
    func barrier(_ comm: CommHandle) throws(MPIError)

    func send(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError)
    func receive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> Status
    func sendReceive(
        _ sendBuffer: UnsafeRawPointer?, sendCount: Int, sendType: Datatype, to dest: Int, sendTag: Int,
        into receiveBuffer: UnsafeMutableRawPointer?, receiveCount: Int, receiveType: Datatype,
        from source: Int, receiveTag: Int, comm: CommHandle
    ) throws(MPIError) -> Status
    /// Blocking probe when `blocking`; otherwise `nil` when nothing matches yet.
    func probe(from source: Int, tag: Int, comm: CommHandle, blocking: Bool) throws(MPIError) -> Status?
    /// Matched probe (`MPI_Mprobe`, or `MPI_Improbe` when not `blocking`, then `nil` when nothing
    /// matches yet): takes the first matching message out of matching, so no other receive can
    /// take it, and returns it with its status. It must be received with exactly one
    /// `matchedReceive` or `immediateMatchedReceive`.
    func matchedProbe(from source: Int, tag: Int, comm: CommHandle, blocking: Bool) throws(MPIError) -> (MessageHandle, Status)?
    /// Receives a matched message (`MPI_Mrecv`); a message longer than the buffer is consumed and
    /// reported as a truncation.
    func matchedReceive(
        _ message: MessageHandle, into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype
    ) throws(MPIError) -> Status
    /// Starts receiving a matched message (`MPI_Imrecv`); completes like `immediateReceive`.
    func immediateMatchedReceive(
        _ message: MessageHandle, into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype
    ) throws(MPIError) -> RequestHandle

    // Nonblocking operations. A request started with `immediate…` is freed by the backend when
    // `test`/`wait` reports it complete; a persistent request stays until `release`, and `start`
    // reactivates it. The caller keeps buffers alive and untouched until completion. An operation
    // that fails (a truncated receive) is complete all the same: its error is thrown by the
    // `test`/`wait` that completes it, which frees or deactivates the request as on success.
    func immediateSend(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) -> RequestHandle
    func immediateReceive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> RequestHandle
    func persistentSend(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) -> RequestHandle
    func persistentReceive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> RequestHandle
    /// Starts an inactive persistent request (`MPI_Start`).
    func start(_ request: RequestHandle) throws(MPIError)
    /// The status when complete (freeing an immediate request, deactivating a persistent one),
    /// else `nil`. Errors of the operation itself are thrown.
    func test(_ request: RequestHandle) throws(MPIError) -> Status?
    func wait(_ request: RequestHandle) throws(MPIError) -> Status
    /// Whether `request` has completed, after driving progress once, without completing it:
    /// the request stays pending for `test`/`wait` (`MPI_Request_get_status`).
    func isComplete(_ request: RequestHandle) throws(MPIError) -> Bool
    /// Completes, as `wait` would, every request of `requests` whose entry of `statuses` is
    /// `nil` (the others are complete already and left alone), writing its status there —
    /// `Status.failed` for one that failed — and returns the first that failed with its error.
    /// What is thrown is an error of the call itself. (`MPI_Waitall`: one call for a whole list.)
    func waitAll(
        _ requests: UnsafeBufferPointer<RequestHandle?>, statuses: UnsafeMutableBufferPointer<Status?>
    ) throws(MPIError) -> (index: Int, error: MPIError)?
    /// Waits until one of the requests of `requests` whose entry of `statuses` is `nil`
    /// completes and completes it, as `wait` would; the index is into `requests`. The error of
    /// a failed operation comes back as its outcome, not thrown, so the caller learns which
    /// request it completed; what is thrown is an error of the call itself (`.request` when
    /// none is pending).
    func waitAny(
        _ requests: UnsafeBufferPointer<RequestHandle?>, statuses: UnsafeBufferPointer<Status?>
    ) throws(MPIError) -> (index: Int, outcome: Result<Status, MPIError>)
    /// Completes, as `test` would, every request of `requests` whose entry of `statuses` is
    /// `nil` and that is done, writing its status there (`Status.failed` for one that failed);
    /// returns the first that failed with its error. (`MPI_Testsome`.)
    func testSome(
        _ requests: UnsafeBufferPointer<RequestHandle?>, statuses: UnsafeMutableBufferPointer<Status?>
    ) throws(MPIError) -> (index: Int, error: MPIError)?
    /// Asks for a pending receive to be cancelled; it still has to be completed by test/wait,
    /// whose status then says whether it was cancelled (`MPI_Cancel`).
    func cancel(_ request: RequestHandle) throws(MPIError)
    /// Frees an inactive persistent request (`MPI_Request_free`).
    func release(_ request: RequestHandle)

    // Collective operations (`Collective` says which fields each kind reads). Every rank of the
    // communicator calls them in the same order.
    /// Runs `operation`, returning when this rank's part is done.
    func collective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError)
    /// Starts `operation` and returns a request that `test`/`wait` complete like any other.
    /// `resources`, when not `nil`, is memory or handles the backend needs until then: the caller
    /// keeps it alive until the request completes.
    func immediateCollective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError)
        -> (request: RequestHandle, resources: AnyObject?)
    /// Makes `operation` a persistent collective request (MPI-4.1 §6.13, `MPI_Allreduce_init`…),
    /// inactive until `start`; completed like a persistent point-to-point request and freed by
    /// `release`. Every rank of the communicator makes its persistent collectives in the same
    /// order as its other collectives, but may start them in any order. Nothing of the operation
    /// moves before the first start (Open MPI's checked mode compares the arguments at init). The buffers and counts are those of every activation: counts and
    /// displacements are copied; `resources` as for `immediateCollective`, kept until `release`.
    func persistentCollective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError)
        -> (request: RequestHandle, resources: AnyObject?)
}

/// A backend's handle of a message taken out of matching by a matched probe.
@usableFromInline
package struct MessageHandle: Hashable, Sendable {
    @usableFromInline package var raw: UInt
    @inlinable package init(raw: UInt) { self.raw = raw }
}

/// A backend's name for one of its pending operations.
@usableFromInline
package struct RequestHandle: Hashable, Sendable {
    @usableFromInline package var raw: UInt
    @inlinable package init(raw: UInt) { self.raw = raw }
}

extension Backend {
    /// Backends with no use for names ignore them.
    package func setName(_ name: String, of comm: CommHandle) {}

    /// One `wait` per pending request, for a backend without a batch form.
    package func waitAll(
        _ requests: UnsafeBufferPointer<RequestHandle?>, statuses: UnsafeMutableBufferPointer<Status?>
    ) throws(MPIError) -> (index: Int, error: MPIError)? {
        guard isActive else { throw MPIError.finalized() }
        return completeEachPending(requests, statuses) { (request) throws(MPIError) in try wait(request) }
    }

    /// One `test` per pending request, for a backend without a batch form.
    package func testSome(
        _ requests: UnsafeBufferPointer<RequestHandle?>, statuses: UnsafeMutableBufferPointer<Status?>
    ) throws(MPIError) -> (index: Int, error: MPIError)? {
        guard isActive else { throw MPIError.finalized() }
        return completeEachPending(requests, statuses) { (request) throws(MPIError) in try test(request) }
    }
}

/// Runs `complete` on every request of `requests` whose status is `nil` and writes what it
/// returns (`nil`: still pending; `Status.failed` for an error it throws); returns the first
/// that failed with its error. The loop of the batch completions that have no batch call.
package func completeEachPending(
    _ requests: UnsafeBufferPointer<RequestHandle?>, _ statuses: UnsafeMutableBufferPointer<Status?>,
    _ complete: (RequestHandle) throws(MPIError) -> Status?
) -> (index: Int, error: MPIError)? {
    var firstFailure: (index: Int, error: MPIError)?
    for index in requests.indices where statuses[index] == nil {
        do throws(MPIError) {
            statuses[index] = try complete(requests[index].unsafelyUnwrapped)
        } catch {
            statuses[index] = .failed(error)
            if firstFailure == nil { firstFailure = (index, error) }
        }
    }
    return firstFailure
}

/// One rank's block of an all-to-all-w at the seam: `count` elements of `type` starting
/// `byteOffset` bytes into the buffer.
@usableFromInline
package struct TypedBlock: Sendable {
    @usableFromInline package var byteOffset: Int
    @usableFromInline package var count: Int
    @usableFromInline package var type: Datatype

    @inlinable package init(byteOffset: Int, count: Int, type: Datatype) {
        self.byteOffset = byteOffset
        self.count = count
        self.type = type
    }
}
