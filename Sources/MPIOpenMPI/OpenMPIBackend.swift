#if OpenMPI
import CMPI
import MPICore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The backend that carries messages through Open MPI's C API.
///
/// Started once per process by ``start(threadLevel:)``, which calls `MPI_Init_thread` and sets
/// `MPI_ERRORS_RETURN` on the world and self communicators, so a failed call returns to Swift
/// (and throws) instead of aborting the job; communicators made later inherit the handler.
/// The facts that never change (world rank and size, tag bound, names) are read at start.
package final class OpenMPIBackend: Backend, @unchecked Sendable {
    package let kind = BackendKind.openMPI
    package let providedThreadLevel: ThreadLevel
    package let worldHandle: CommHandle
    package let soloHandle: CommHandle
    package let worldRank: Int
    package let worldSize: Int
    package let tagUpperBound: Int
    package let processorName: String
    package let libraryVersion: String
    package let wallTick: Double
    /// Whether every collective first compares its arguments across ranks
    /// (`SWIFTMPI_CHECK=collectives`, read once at start; see `CollectiveCheck`).
    let checksCollectives: Bool
    private let active = Atomic<Bool>(true)
    /// Records of pending receives and persistent requests (see `OpenMPIBackend+Nonblocking`).
    let requestRecords: RequestRecords
    /// Room for batch completions (see `BatchScratch`).
    let batchScratch = BatchScratch()

    package var isActive: Bool { active.load(ordering: .relaxed) }

    private init(threadLevel: ThreadLevel) throws(MPIError) {
        let world = cmpi_comm_world()
        let solo = cmpi_comm_self()
        worldHandle = CommHandle(world)
        soloHandle = CommHandle(solo)
        providedThreadLevel = threadLevel
        requestRecords = RequestRecords(locked: threadLevel == .multiple)
        try check(MPI_Comm_set_errhandler(world, cmpi_errors_return()), "MPI_Comm_set_errhandler", "MPI_COMM_WORLD")
        try check(MPI_Comm_set_errhandler(solo, cmpi_errors_return()), "MPI_Comm_set_errhandler", "MPI_COMM_SELF")
        var value: Int32 = 0
        try check(MPI_Comm_rank(world, &value), "MPI_Comm_rank", "MPI_COMM_WORLD")
        worldRank = Int(value)
        try check(MPI_Comm_size(world, &value), "MPI_Comm_size", "MPI_COMM_WORLD")
        worldSize = Int(value)
        tagUpperBound = try OpenMPIBackend.readTagUpperBound(world)
        processorName = try OpenMPIBackend.readString(capacity: cmpi_max_processor_name(), "MPI_Get_processor_name") {
            MPI_Get_processor_name($0, $1)
        }
        libraryVersion = try OpenMPIBackend.readString(
            capacity: cmpi_max_library_version_string(), "MPI_Get_library_version"
        ) { MPI_Get_library_version($0, $1) }
        wallTick = MPI_Wtick()
        checksCollectives = CollectiveCheck.isRequested()
    }

    /// Initializes Open MPI with thread support `threadLevel` (`MPI_Init_thread`); the backend
    /// reports the level Open MPI provides.
    package static func start(threadLevel: ThreadLevel) throws(MPIError) -> OpenMPIBackend {
        var flag: Int32 = 0
        try check(MPI_Finalized(&flag), "MPI_Finalized")
        if flag != 0 { throw MPIError(.finalized, "Open MPI was already finalized in this process and cannot start again") }
        try check(MPI_Initialized(&flag), "MPI_Initialized")
        if flag != 0 { throw MPIError(.other, "Open MPI was already initialized in this process by someone else") }
        SingleCopyGuard.applyBeforeInit()
        var provided: Int32 = 0
        try check(MPI_Init_thread(nil, nil, threadLevel.mpi, &provided), "MPI_Init_thread", "requested \(threadLevel)")
        do {
            return try OpenMPIBackend(threadLevel: ThreadLevel(mpi: provided))
        } catch {
            try? check(MPI_Finalize(), "MPI_Finalize")
            throw error
        }
    }

    private static func readTagUpperBound(_ world: MPI_Comm) throws(MPIError) -> Int {
        var attribute: UnsafeMutableRawPointer?
        var found: Int32 = 0
        try check(MPI_Comm_get_attr(world, Int32(MPI_TAG_UB), &attribute, &found), "MPI_Comm_get_attr", "MPI_TAG_UB")
        guard found != 0, let attribute else {
            throw MPIError(.intern, "Open MPI did not set the MPI_TAG_UB attribute of MPI_COMM_WORLD")
        }
        return Int(attribute.load(as: Int32.self))
    }

    /// Reads a string that an MPI call writes into a caller's buffer of `capacity` characters.
    private static func readString(
        capacity: Int32, _ call: StaticString, _ body: (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
    ) throws(MPIError) -> String {
        var characters = [CChar](repeating: 0, count: Int(capacity) + 1)
        var length: Int32 = 0
        try check(body(&characters, &length), call)
        let bytes = characters.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self).trimmingTrailingNewlines()
    }

    // MARK: Environment

    package func wallTime() -> Double { MPI_Wtime() }

    package func finalize() throws(MPIError) {
        guard active.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged
        else { return }
        try check(MPI_Finalize(), "MPI_Finalize")
    }

    package func abort(errorCode: Int) -> Never {
        let code = Int32(clamping: errorCode)
        MPI_Abort(cmpi_comm_world(), code)
        exit(code)
    }

    // MARK: Communicators

    package func rank(of comm: CommHandle) -> Int {
        var rank: Int32 = 0
        do { try check(MPI_Comm_rank(comm.mpi, &rank), "MPI_Comm_rank") } catch { preconditionFailure("\(error)") }
        return Int(rank)
    }

    package func size(of comm: CommHandle) -> Int {
        var size: Int32 = 0
        do { try check(MPI_Comm_size(comm.mpi, &size), "MPI_Comm_size") } catch { preconditionFailure("\(error)") }
        return Int(size)
    }

    package func duplicate(_ comm: CommHandle) throws(MPIError) -> CommHandle {
        var result: MPI_Comm?
        try check(MPI_Comm_dup(comm.mpi, &result), "MPI_Comm_dup")
        return CommHandle(result.unsafelyUnwrapped)
    }

    package func duplicate(_ comm: CommHandle, hints: [(key: String, value: String)]) throws(MPIError) -> CommHandle {
        var info: MPI_Info?
        try check(MPI_Info_create(&info), "MPI_Info_create")
        defer { MPI_Info_free(&info) }
        for hint in hints {
            try check(MPI_Info_set(info, hint.key, hint.value), "MPI_Info_set", "hint \(hint.key)=\(hint.value)")
        }
        var result: MPI_Comm?
        try check(MPI_Comm_dup_with_info(comm.mpi, info, &result), "MPI_Comm_dup_with_info")
        return CommHandle(result.unsafelyUnwrapped)
    }

    package func immediateDuplicate(_ comm: CommHandle) throws(MPIError) -> (request: RequestHandle, resources: AnyObject) {
        let pending = PendingDuplicate()
        var request: MPI_Request?
        try check(MPI_Comm_idup(comm.mpi, pending.communicator, &request), "MPI_Comm_idup")
        return (RequestHandle(raw: UInt(bitPattern: request)), pending)
    }

    package func finishDuplicate(_ comm: CommHandle, _ resources: AnyObject) throws(MPIError) -> CommHandle {
        CommHandle((resources as! PendingDuplicate).communicator.pointee.unsafelyUnwrapped)
    }

    package func split(_ comm: CommHandle, color: Int?, key: Int) throws(MPIError) -> CommHandle? {
        guard let mpiKey = Int32(exactly: key) else {
            throw MPIError(.argument, "split key \(key) does not fit Open MPI's int (\(Int32.min)...\(Int32.max))")
        }
        let mpiColor: Int32
        if let color {
            guard let value = Int32(exactly: color) else {
                throw MPIError(.argument, "split color \(color) does not fit Open MPI's int (0...\(Int32.max))")
            }
            mpiColor = value
        } else {
            mpiColor = MPI_UNDEFINED
        }
        var result: MPI_Comm?
        try check(MPI_Comm_split(comm.mpi, mpiColor, mpiKey, &result), "MPI_Comm_split", "color \(color.map(String.init) ?? "undefined"), key \(key)")
        guard let result, result != cmpi_comm_null() else { return nil }
        return CommHandle(result)
    }

    package func worldRanks(of comm: CommHandle) throws(MPIError) -> [Int] {
        var group: MPI_Group?
        var world: MPI_Group?
        try check(MPI_Comm_group(comm.mpi, &group), "MPI_Comm_group", "the group of a communicator")
        defer { MPI_Group_free(&group) }
        try check(MPI_Comm_group(cmpi_comm_world(), &world), "MPI_Comm_group", "the world's group")
        defer { MPI_Group_free(&world) }
        var size: Int32 = 0
        try check(MPI_Group_size(group, &size), "MPI_Group_size", "the group of a communicator")
        var ranks = (0..<size).map { $0 }
        var translated = [Int32](repeating: 0, count: Int(size))
        try check(MPI_Group_translate_ranks(group, size, &ranks, world, &translated), "MPI_Group_translate_ranks", "to world ranks")
        return translated.map(Int.init)
    }

    package func createGroup(_ comm: CommHandle, worldRanks: [Int], tag: Int) throws(MPIError) -> CommHandle {
        guard let mpiTag = Int32(exactly: tag) else {
            throw MPIError(.tag, "createGroup tag \(tag) does not fit Open MPI's int")
        }
        var world: MPI_Group?
        try check(MPI_Comm_group(cmpi_comm_world(), &world), "MPI_Comm_group", "the world's group")
        defer { MPI_Group_free(&world) }
        var ranks = worldRanks.map { Int32(truncatingIfNeeded: $0) }
        var group: MPI_Group?
        try check(MPI_Group_incl(world, Int32(ranks.count), &ranks, &group), "MPI_Group_incl", "world ranks \(worldRanks)")
        defer { MPI_Group_free(&group) }
        var result: MPI_Comm?
        try check(MPI_Comm_create_group(comm.mpi, group, mpiTag, &result), "MPI_Comm_create_group", "world ranks \(worldRanks), tag \(tag)")
        guard let result, result != cmpi_comm_null() else {
            throw MPIError(.intern, "MPI_Comm_create_group gave no communicator to a member of the group")
        }
        return CommHandle(result)
    }

    package func splitShared(_ comm: CommHandle, key: Int, joining: Bool) throws(MPIError) -> CommHandle? {
        guard let mpiKey = Int32(exactly: key) else {
            throw MPIError(.argument, "split key \(key) does not fit Open MPI's int (\(Int32.min)...\(Int32.max))")
        }
        var result: MPI_Comm?
        let type = joining ? Int32(MPI_COMM_TYPE_SHARED) : Int32(MPI_UNDEFINED)
        try check(
            MPI_Comm_split_type(comm.mpi, type, mpiKey, cmpi_info_null(), &result),
            "MPI_Comm_split_type", "\(joining ? "MPI_COMM_TYPE_SHARED" : "MPI_UNDEFINED"), key \(key)")
        guard let result, result != cmpi_comm_null() else {
            if !joining { return nil }
            throw MPIError(.intern, "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) returned no communicator")
        }
        return CommHandle(result)
    }

    package func setName(_ name: String, of comm: CommHandle) {
        guard isActive else { return }
        withObjectName(name) { _ = MPI_Comm_set_name(comm.mpi, $0) }
    }

    /// Calls `body` with `name` as a C string of at most `MPI_MAX_OBJECT_NAME` bytes with its
    /// terminating zero, cut on a character boundary.
    func withObjectName(_ name: String, _ body: (UnsafePointer<CChar>) -> Void) {
        var bytes = Array(name.utf8)
        if bytes.count >= Int(MPI_MAX_OBJECT_NAME) {
            bytes = Array(bytes.prefix(Int(MPI_MAX_OBJECT_NAME) - 1))
            while !bytes.isEmpty && String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
        }
        bytes.append(0)
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    package func compare(_ a: CommHandle, _ b: CommHandle) throws(MPIError) -> CommunicatorComparison {
        var result: Int32 = 0
        try check(MPI_Comm_compare(a.mpi, b.mpi, &result), "MPI_Comm_compare")
        switch Int(result) {
        case MPI_IDENT: return .identical
        case MPI_CONGRUENT: return .congruent
        case MPI_SIMILAR: return .similar
        case MPI_UNEQUAL: return .unequal
        default: throw MPIError(.intern, "MPI_Comm_compare returned the unknown result \(result)")
        }
    }

    package func free(_ comm: CommHandle) {
        guard comm != worldHandle && comm != soloHandle else { return }
        var handle: MPI_Comm? = comm.mpi
        // Called from a deinit, which cannot throw; a failed free leaks one communicator handle.
        try? check(MPI_Comm_free(&handle), "MPI_Comm_free")
    }

    package func barrier(_ comm: CommHandle) throws(MPIError) {
        if checksCollectives {
            try CollectiveCheck.verify(Collective.barrier.fields(), comm: comm.mpi, rank: rank(of: comm), size: size(of: comm))
        }
        try check(MPI_Barrier(comm.mpi), "MPI_Barrier")
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var result = Substring(self)
        while let last = result.last, last.isNewline || last == " " { result.removeLast() }
        return String(result)
    }
}

/// Where `MPI_Comm_idup` writes the new communicator when it completes.
final class PendingDuplicate {
    let communicator = UnsafeMutablePointer<MPI_Comm?>.allocate(capacity: 1)
    init() { communicator.initialize(to: nil) }
    deinit { communicator.deallocate() }
}
#endif
