import Synchronization

/// A group of processes that exchange messages in a context of their own (`MPI_Comm`).
///
/// ``world`` holds every process of the job and ``solo`` the calling process alone. New
/// communicators come from ``duplicate()`` and ``split(color:key:)`` and are freed when the last
/// reference goes away (`MPI_Comm_free`), unless MPI has been finalized by then.
public final class Communicator: Sendable, CustomStringConvertible {
    @usableFromInline package let backend: any Backend
    /// The backend as requests hold it (see `BackendReference`).
    @usableFromInline package let backendReference: Unmanaged<BackendReference>
    @usableFromInline package let handle: CommHandle
    /// This process's rank in the communicator, `0..<size` (`MPI_Comm_rank`).
    public let rank: Int
    /// Number of processes in the communicator (`MPI_Comm_size`).
    public let size: Int
    private let predefined: Bool
    private let nameStorage: Mutex<String>

    package init(backend: any Backend, handle: CommHandle, rank: Int, size: Int, predefined: Bool, name: String = "") {
        self.backend = backend
        backendReference = BackendReference.of(backend)
        self.handle = handle
        self.rank = rank
        self.size = size
        self.predefined = predefined
        self.nameStorage = Mutex(name)
    }

    /// The communicator's name, for messages and tools (`MPI_Comm_get_name`): `MPI_COMM_WORLD`
    /// and `MPI_COMM_SELF` for the predefined ones, empty for new ones until set (a name is not
    /// inherited by ``duplicate()`` or ``split(color:key:)``, as in MPI). Local to this process.
    /// Setting it (`MPI_Comm_set_name`) also names the communicator in Open MPI, so its error
    /// messages and debuggers show it; names longer than Open MPI's 63 bytes are cut there.
    public var name: String {
        get { nameStorage.withLock { $0 } }
        set {
            nameStorage.withLock { $0 = newValue }
            if backend.isActive { backend.setName(newValue, of: handle) }
        }
    }

    deinit {
        if !predefined && backend.isActive { backend.free(handle) }
    }

    /// Wildcard source for receives and probes (`MPI_ANY_SOURCE`).
    public static let anySource = -1
    /// Wildcard tag for receives and probes (`MPI_ANY_TAG`).
    public static let anyTag = -1
    /// The null process: a send to it or a receive from it completes at once (`MPI_PROC_NULL`).
    public static let nullProcess = -2

    /// Every process of the job (`MPI_COMM_WORLD`).
    public static var world: Communicator {
        get throws(MPIError) {
            switch Runtime.current {
            case .active(_, let world, _): return world
            case .uninitialized: throw MPIError.notInitialized()
            case .finalized: throw MPIError.finalized()
            }
        }
    }

    /// The calling process alone (`MPI_COMM_SELF`).
    public static var solo: Communicator {
        get throws(MPIError) {
            switch Runtime.current {
            case .active(_, _, let solo): return solo
            case .uninitialized: throw MPIError.notInitialized()
            case .finalized: throw MPIError.finalized()
            }
        }
    }

    /// The largest tag a message may carry (the `MPI_TAG_UB` attribute); at least 32767.
    public var tagUpperBound: Int { backend.tagUpperBound }

    /// A new communicator with the same group and a new context (`MPI_Comm_dup`). Collective.
    public func duplicate() throws(MPIError) -> Communicator {
        try checkActive()
        let handle = try backend.duplicate(handle)
        return Communicator(backend: backend, handle: handle, rank: rank, size: size, predefined: false)
    }

    /// A duplicate given `hints`, MPI info keys and values such as `mpi_assert_no_any_tag`
    /// (`MPI_Comm_dup_with_info`). Collective. Open MPI receives the hints; the shared-memory
    /// backend has no use for any and ignores them, as MPI lets an implementation do.
    public func duplicate(hints: [String: String]) throws(MPIError) -> Communicator {
        try checkActive()
        let handle = try backend.duplicate(handle, hints: hints.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) })
        return Communicator(backend: backend, handle: handle, rank: rank, size: size, predefined: false)
    }

    /// Starts duplicating this communicator and returns at once (`MPI_Comm_idup`); the request's
    /// `wait()` returns the new communicator. Collective: every rank starts it in the same order
    /// as its other collectives here, and the new communicator is for use once it has completed.
    public func immediateDuplicate() throws(MPIError) -> DuplicateRequest {
        try checkActive()
        let started = try backend.immediateDuplicate(handle)
        let request = Request(backend: backendReference, handle: started.request, loan: .retained(started.resources), result: nil,
            origin: RequestOrigin(.duplicate))
        return DuplicateRequest(request: request, parent: self, resources: started.resources)
    }

    /// Partitions the group by `color`; ranks in each part are ordered by `key`, then by their
    /// rank here (`MPI_Comm_split`). Collective. A `nil` color (`MPI_UNDEFINED`) joins no part
    /// and returns `nil`.
    public func split(color: Int?, key: Int = 0) throws(MPIError) -> Communicator? {
        try checkActive()
        if let color, color < 0 {
            throw MPIError(.argument, "split color must be non-negative or nil (undefined), got \(color)")
        }
        guard let handle = try backend.split(handle, color: color, key: key) else { return nil }
        return Communicator(
            backend: backend, handle: handle,
            rank: backend.rank(of: handle), size: backend.size(of: handle), predefined: false)
    }

    /// The processes of this communicator that share a node (memory) with this one, ordered by
    /// `key`, then by rank here (`MPI_Comm_split_type` with `MPI_COMM_TYPE_SHARED`). Collective.
    public func splitByNode(key: Int = 0) throws(MPIError) -> Communicator {
        guard let node = try splitByNode(key: key, joining: true) else {
            throw MPIError(.intern, "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) left a joining rank out")
        }
        return node
    }

    /// ``splitByNode(key:)`` where each rank chooses whether to take part: a rank passing
    /// `joining: false` (`MPI_Comm_split_type` with `MPI_UNDEFINED`) joins no node communicator
    /// and gets `nil`; the others get theirs, of the joining ranks only. Collective.
    public func splitByNode(key: Int = 0, joining: Bool) throws(MPIError) -> Communicator? {
        try checkActive()
        guard let handle = try backend.splitShared(handle, key: key, joining: joining) else { return nil }
        return Communicator(
            backend: backend, handle: handle,
            rank: backend.rank(of: handle), size: backend.size(of: handle), predefined: false)
    }

    /// How this communicator relates to `other` (`MPI_Comm_compare`).
    public func compare(_ other: Communicator) throws(MPIError) -> CommunicatorComparison {
        try checkActive()
        return try backend.compare(handle, other.handle)
    }

    /// Ends every process of the job with `errorCode` (`MPI_Abort`).
    public func abort(errorCode: Int = 1) -> Never {
        backend.abort(errorCode: errorCode)
    }

    public var description: String { "Communicator(rank: \(rank), size: \(size), backend: \(backend.kind))" }

    @inlinable
    package func checkActive() throws(MPIError) {
        guard backend.isActive else { throw MPIError.finalized() }
    }
}

/// A duplication in progress (``Communicator/immediateDuplicate()``), whose ``wait()`` returns
/// the new communicator.
public struct DuplicateRequest: ~Copyable {
    var request: Request
    let parent: Communicator
    let resources: AnyObject

    init(request: consuming Request, parent: Communicator, resources: AnyObject) {
        self.request = request
        self.parent = parent
        self.resources = resources
    }

    /// Waits for the duplication and returns the new communicator (`MPI_Wait`).
    public consuming func wait() throws(MPIError) -> Communicator {
        _ = try request.wait()
        return try finish()
    }

    /// Suspends until the duplication has completed and returns the new communicator.
    public consuming func completion() async throws -> Communicator {
        _ = try await request.completion()
        return try finish()
    }

    /// Whether the duplication has completed (`MPI_Test`); call ``wait()`` to take the result.
    public mutating func test() throws(MPIError) -> Bool { try request.test() != nil }

    private func finish() throws(MPIError) -> Communicator {
        let handle = try parent.backend.finishDuplicate(parent.handle, resources)
        return Communicator(backend: parent.backend, handle: handle, rank: parent.rank, size: parent.size, predefined: false)
    }
}
