import MPISharedMemory
#if OpenMPI
import MPIOpenMPI
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starting, inspecting and ending MPI in this process (MPI-4.1 chapter 11).
///
/// The backend is chosen once, at ``initialize(threadLevel:backend:)``:
/// 1. an explicit `backend` argument, else the `SWIFTMPI_BACKEND` variable (`openmpi` or `shm`);
/// 2. started by `swift-mpiexec` → the shared-memory backend;
/// 3. started by Open MPI's `mpirun` → Open MPI (needs the `OpenMPI` package trait);
/// 4. started alone → a world of one process on the shared-memory backend.
///
/// A request (1.) that contradicts the launcher of a job of several processes — the
/// shared-memory backend under `mpirun`, Open MPI under `swift-mpiexec` — fails with
/// `MPIError(.argument)` naming both, since every process would otherwise be a world of one.
public enum Environment {
    /// Initializes MPI, asking for thread support `threadLevel`, and returns the level the backend
    /// provides, which may be lower (`MPI_Init_thread`).
    ///
    /// A program that never calls ``finalize()`` is finalized at exit. On Open MPI that finalize
    /// waits for the other ranks; if they have not all finalized within `SWIFTMPI_EXIT_TIMEOUT`
    /// seconds (default 60; 0 waits for ever) — typically because one waits for a message from a
    /// rank that has left its program — it says so and ends the job (exit status 1) rather than
    /// leave it hanging. On shared memory such a wait fails with `MPIError(.processFailed)`.
    @discardableResult
    public static func initialize(
        threadLevel: ThreadLevel = .single, backend: BackendKind? = nil
    ) throws(MPIError) -> ThreadLevel {
        // Checked before a backend starts: starting one twice would initialize its library twice.
        switch Runtime.current {
        case .uninitialized: break
        case .active: throw MPIError(.other, "MPI is already initialized")
        case .finalized: throw MPIError(.finalized, "MPI cannot be initialized again after finalize")
        }
        let kind = try chooseBackend(explicit: backend)
        let live: any Backend
        switch kind {
        case .sharedMemory:
            live = try SharedMemoryBackend.start(threadLevel: threadLevel)
        case .openMPI:
            #if OpenMPI
            live = try OpenMPIBackend.start(threadLevel: threadLevel)
            #else
            throw MPIError(.unsupported, "the Open MPI backend was not built: build with `--traits OpenMPI`")
            #endif
        }
        do {
            try Runtime.activate(live)
        } catch {
            try? live.finalize()
            throw error
        }
        atexit { Environment.finalizeAtExit() }
        return live.providedThreadLevel
    }

    /// The finalize of a program that did not call ``finalize()``, run at exit.
    static func finalizeAtExit() {
        guard case .active(let backend, _, _) = Runtime.current else { return }
        if backend.kind == .openMPI { ExitWatchdog.start(rank: (try? Communicator.world.rank) ?? -1, backend: backend) }
        try? Runtime.finalize()
    }

    /// Ends MPI in this process (`MPI_Finalize`). Idempotent; no MPI call may follow it.
    public static func finalize() throws(MPIError) {
        try Runtime.finalize()
    }

    /// Whether ``initialize(threadLevel:backend:)`` has succeeded (`MPI_Initialized`); stays true
    /// after finalize, as in MPI.
    public static var isInitialized: Bool {
        if case .uninitialized = Runtime.current { return false }
        return true
    }

    /// Whether ``finalize()`` has run (`MPI_Finalized`).
    public static var isFinalized: Bool {
        if case .finalized = Runtime.current { return true }
        return false
    }

    /// The backend carrying this process's messages, `nil` before initialization.
    public static var backend: BackendKind? {
        switch Runtime.current {
        case .uninitialized: nil
        case .active(let backend, _, _): backend.kind
        case .finalized(let kind): kind
        }
    }

    /// The thread support the live backend provides (`MPI_Query_thread`).
    public static func threadLevel() throws(MPIError) -> ThreadLevel {
        try Runtime.activeBackend().providedThreadLevel
    }

    /// Seconds since an arbitrary point in the past, for timing (`MPI_Wtime`).
    public static func wallTime() throws(MPIError) -> Double {
        try Runtime.activeBackend().wallTime()
    }

    /// Resolution of ``wallTime()`` in seconds (`MPI_Wtick`).
    public static func wallTick() throws(MPIError) -> Double {
        try Runtime.activeBackend().wallTick
    }

    /// Name of the processor (host) this process runs on (`MPI_Get_processor_name`).
    public static func processorName() throws(MPIError) -> String {
        try Runtime.activeBackend().processorName
    }

    /// Version string of the library behind the live backend (`MPI_Get_library_version`).
    public static func libraryVersion() throws(MPIError) -> String {
        try Runtime.activeBackend().libraryVersion
    }

    /// Ends every process of the job with `errorCode` (`MPI_Abort` on the world). Before
    /// initialization or after finalization it exits this process alone.
    public static func abort(errorCode: Int = 1) -> Never {
        if case .active(let backend, _, _) = Runtime.current { backend.abort(errorCode: errorCode) }
        exit(Int32(truncatingIfNeeded: errorCode))
    }

    static func chooseBackend(explicit: BackendKind?) throws(MPIError) -> BackendKind {
        let requested: (kind: BackendKind, by: String)?
        if let explicit {
            requested = (explicit, "Environment.initialize(backend: .\(explicit == .openMPI ? "openMPI" : "sharedMemory"))")
        } else if let name = variable("SWIFTMPI_BACKEND"), !name.isEmpty {
            guard let kind = BackendKind(rawValue: name.lowercased()) else {
                throw MPIError(.argument, "SWIFTMPI_BACKEND=\(name) is not a backend: use openmpi or shm")
            }
            requested = (kind, "SWIFTMPI_BACKEND=\(name)")
        } else {
            requested = nil
        }
        let started = launcher()
        guard let requested else {
            switch started {
            case .swiftMPIExec, nil: return .sharedMemory
            case .openMPI: return .openMPI
            }
        }
        // A backend the launcher did not set up would make every process of a job of several a
        // world of one, each computing the whole job alone: refuse rather than run it wrong.
        switch (requested.kind, started) {
        case (.sharedMemory, .openMPI(let size, let variable)) where size != 1:
            throw MPIError(.argument, "this process was started by mpirun (Open MPI: \(variable)) as one of \(size.map { "\($0)" } ?? "several") processes, but \(requested.by) asks for the shared-memory backend, which only swift-mpiexec sets up: every process would be a world of one. Run it with swift-mpiexec, or ask for the openmpi backend (or none)")
        case (.openMPI, .swiftMPIExec(let size)) where size != 1:
            throw MPIError(.argument, "this process was started by swift-mpiexec as one of \(size) ranks (SWIFTMPI_SEGMENT is set), but \(requested.by) asks for the Open MPI backend, which only mpirun sets up: every process would be a world of one. Run it with mpirun, or ask for the shm backend (or none)")
        default:
            return requested.kind
        }
    }

    /// Which launcher started this process, as its environment says.
    private enum Launcher {
        /// swift-mpiexec, with the job's rank count.
        case swiftMPIExec(size: Int)
        /// Open MPI's mpirun (or another PMIx launcher), with the job's size when known (PMIx
        /// alone does not say it; a rank other than 0 means several) and the variable that
        /// gave it away.
        case openMPI(size: Int?, variable: String)
    }

    /// The launcher that started this process, or `nil` when it runs alone.
    private static func launcher() -> Launcher? {
        // swift-mpiexec first: its ranks may inherit Open MPI's variables from an outer job.
        if variable("SWIFTMPI_SEGMENT") != nil {
            return .swiftMPIExec(size: variable("SWIFTMPI_SIZE").flatMap { Int($0) } ?? 0)
        }
        if let text = variable("OMPI_COMM_WORLD_SIZE") {
            return .openMPI(size: Int(text), variable: "OMPI_COMM_WORLD_SIZE=\(text)")
        }
        if let rank = variable("PMIX_RANK") {
            return .openMPI(size: rank == "0" ? 1 : nil, variable: "PMIX_RANK=\(rank)")
        }
        return nil
    }

    private static func variable(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// Ends a job whose finalize at exit waits too long on Open MPI, where `MPI_Finalize` waits for
/// every rank: a rank that left its program while another waits for its message would otherwise
/// leave the job hanging until `mpirun`'s own timeout, if any.
private enum ExitWatchdog {
    /// Seconds the finalize at exit may take before the job is ended, 0 for ever.
    static let variable = "SWIFTMPI_EXIT_TIMEOUT"
    nonisolated(unsafe) static var rank = -1
    nonisolated(unsafe) static var timeout = 60
    /// The backend being finalized (Runtime no longer calls it active by then).
    nonisolated(unsafe) static var backend: (any Backend)?

    static func start(rank: Int, backend: any Backend) {
        var timeout = 60
        if let text = getenv(variable).map({ String(cString: $0) }), !text.isEmpty {
            if let seconds = Int(text), seconds >= 0 {
                timeout = seconds
            } else {
                say("swift-mpi: \(variable)=\(text) is not a number of seconds; using 60")
            }
        }
        guard timeout > 0 else { return }
        ExitWatchdog.backend = backend
        ExitWatchdog.rank = rank
        ExitWatchdog.timeout = timeout
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { _ in
            let notice = min(10, ExitWatchdog.timeout)
            sleep(UInt32(notice))
            let rank = ExitWatchdog.rank
            if notice < ExitWatchdog.timeout {
                ExitWatchdog.say("swift-mpi: rank \(rank) left its program without Environment.finalize() \(notice) s ago and is still finalizing at exit, waiting for the other ranks; if one of them waits for a message from this rank, the job will be ended in \(ExitWatchdog.timeout - notice) s (\(ExitWatchdog.variable))")
                sleep(UInt32(ExitWatchdog.timeout - notice))
            }
            ExitWatchdog.say("swift-mpi: rank \(rank) left its program without Environment.finalize() and its finalize at exit has waited \(ExitWatchdog.timeout) s for the other ranks, one of which is probably waiting for a message from it; ending the job (call Environment.finalize() where the program is done, or set \(ExitWatchdog.variable))")
            ExitWatchdog.backend!.abort(errorCode: 1)
        }, nil)
        if started == 0 { pthread_detach(thread) }
    }

    static func say(_ line: String) {
        let text = line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}
