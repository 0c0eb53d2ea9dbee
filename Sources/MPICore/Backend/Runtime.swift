import Synchronization

/// The process-wide MPI state: which backend is live and the predefined communicators.
/// Set by the `MPI` module's `Environment`; read by everything else.
package enum Runtime {
    package enum Phase: Sendable {
        case uninitialized
        case active(any Backend, world: Communicator, solo: Communicator)
        case finalized(BackendKind)
    }

    private static let phase = Mutex<Phase>(.uninitialized)
    private static let progress = Mutex<ProgressEngine?>(nil)
    /// Every backend this process started, kept for its lifetime: requests refer to their
    /// backend without reference counting, which is sound only because backends never die.
    private static let immortal = Mutex<[any Backend]>([])

    /// The progress engine of the live backend, started on first use. Async operations drive the
    /// backend from its thread, so they need `ThreadLevel.multiple`.
    package static func progressEngine(for backend: any Backend) throws(MPIError) -> ProgressEngine {
        guard backend.isActive else { throw MPIError.finalized() }
        guard backend.providedThreadLevel == .multiple else {
            throw MPIError(.unsupported, "async operations complete on a progress thread and need ThreadLevel.multiple: call Environment.initialize(threadLevel: .multiple) (this process runs at .\(backend.providedThreadLevel))")
        }
        return progress.withLock { engine in
            if let engine { return engine }
            let created = ProgressEngine(backend: backend)
            engine = created
            return created
        }
    }

    package static var current: Phase { phase.withLock { $0 } }

    /// Makes `backend` the process's backend. Fails unless the process was never initialized.
    package static func activate(_ backend: any Backend) throws(MPIError) {
        try phase.withLock { (phase: inout Phase) throws(MPIError) in
            switch phase {
            case .uninitialized:
                immortal.withLock { $0.append(backend) }
                let world = Communicator(
                    backend: backend, handle: backend.worldHandle,
                    rank: backend.worldRank, size: backend.worldSize, predefined: true, name: "MPI_COMM_WORLD")
                let solo = Communicator(
                    backend: backend, handle: backend.soloHandle, rank: 0, size: 1, predefined: true, name: "MPI_COMM_SELF")
                phase = .active(backend, world: world, solo: solo)
            case .active:
                throw MPIError(.other, "MPI is already initialized")
            case .finalized:
                throw MPIError(.finalized, "MPI cannot be initialized again after finalize")
            }
        }
    }

    /// Ends the live backend; a no-op when already finalized or never initialized.
    package static func finalize() throws(MPIError) {
        let backend: (any Backend)? = phase.withLock { phase in
            guard case .active(let backend, _, _) = phase else { return nil }
            phase = .finalized(backend.kind)
            return backend
        }
        progress.withLock { engine in
            engine?.stop()
            engine = nil
        }
        try backend?.finalize()
    }

    package static func activeBackend() throws(MPIError) -> any Backend {
        switch current {
        case .active(let backend, _, _): return backend
        case .uninitialized: throw MPIError.notInitialized()
        case .finalized: throw MPIError.finalized()
        }
    }
}

/// A backend reached through a class with a `let`: a request holds it unmanaged (trivially
/// copyable, no reference count) and calls through `_withUnsafeGuaranteedRef`, so a call on a
/// pending request's backend takes no retain and release — a strong copy of an unowned
/// existential would (two atomic instructions per call, each waiting for the store buffer to
/// drain after the message path's writes). One per backend, kept for the process's lifetime.
@usableFromInline
package final class BackendReference: @unchecked Sendable {
    @usableFromInline package let backend: any Backend

    private init(_ backend: any Backend) { self.backend = backend }

    private static let all = Mutex<[ObjectIdentifier: BackendReference]>([:])

    /// The reference of `backend`, made on first use (when its first communicator is).
    package static func of(_ backend: any Backend) -> Unmanaged<BackendReference> {
        all.withLock { all in
            let key = ObjectIdentifier(backend)
            if let known = all[key] { return .passUnretained(known) }
            let made = BackendReference(backend)
            all[key] = made
            return .passUnretained(made)
        }
    }
}

extension Unmanaged where Instance == BackendReference {
    /// Calls `body` with the backend, taking no reference count.
    @inlinable
    func withBackend<R>(_ body: (any Backend) throws(MPIError) -> R) throws(MPIError) -> R {
        try _withUnsafeGuaranteedRef { reference in Result { () throws(MPIError) in try body(reference.backend) } }.get()
    }

    /// The backend, as a strong reference (for calls off the message path).
    @inlinable
    var backend: any Backend { takeUnretainedValue().backend }
}

extension MPIError {
    @usableFromInline
    package static func notInitialized() -> MPIError {
        MPIError(.notInitialized, "MPI is not initialized: call Environment.initialize() first")
    }

    @usableFromInline
    package static func finalized() -> MPIError {
        MPIError(.finalized, "MPI has been finalized: no MPI call may follow Environment.finalize()")
    }
}
