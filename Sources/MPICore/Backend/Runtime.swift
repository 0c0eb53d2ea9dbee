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
