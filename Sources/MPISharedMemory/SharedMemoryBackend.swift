import Glibc
import MPICore
import Synchronization

/// swift-mpi's own transport: ranks on one machine exchanging messages through a shared segment
/// created by `swift-mpiexec`, or a world of one when a program starts alone.
///
/// Environment contract with the launcher: `SWIFTMPI_RANK`, `SWIFTMPI_SIZE`, `SWIFTMPI_SEGMENT`
/// (the segment name), `SWIFTMPI_LAUNCHER_PID` and `SWIFTMPI_SECRET` (what the rank presents to
/// claim its slot). `SWIFTMPI_CMA=0` turns single-copy transfers
/// off (every message then goes through the rings).
package final class SharedMemoryBackend: Backend, @unchecked Sendable {
    package let kind = BackendKind.sharedMemory
    package let providedThreadLevel: ThreadLevel
    package var isActive: Bool { engine.pointee.active }
    package let worldHandle = CommHandle(raw: 0)
    package let soloHandle = CommHandle(raw: 1)
    package let worldRank: Int
    package let worldSize: Int
    package let tagUpperBound = Int(Int32.max)
    package let wallTick: Double
    package let processorName: String
    package let libraryVersion: String

    let segment: JobSegment
    let engine: UnsafeMutablePointer<Engine>
    /// Below `ThreadLevel.multiple` (no engine lock): 1 while a thread is inside the engine, so a
    /// second thread entering at the same time is caught instead of corrupting it.
    let entered = Atomic<Int>(0)
    /// The space attached for buffered sends and the messages in it (guarded by the engine lock).
    var bufferedSpace: BufferedSpace?
    /// A word peers read at start-up to find out whether single-copy transfers work.
    private let probeWord: UnsafeMutablePointer<UInt64>

    private static let probeMagic: UInt64 = 0x5357_4D50_4943_4D41

    /// Starts the backend from the launcher's environment, or as a world of one without it.
    package static func start(threadLevel: ThreadLevel) throws(MPIError) -> SharedMemoryBackend {
        func variable(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        guard let name = variable("SWIFTMPI_SEGMENT") else {
            return try SharedMemoryBackend(segment: JobSegment(privateRingBytes: 1 << 16), rank: 0, threadLevel: threadLevel)
        }
        guard let rank = variable("SWIFTMPI_RANK").flatMap({ Int($0) }),
            let size = variable("SWIFTMPI_SIZE").flatMap({ Int($0) }), size >= 1, rank >= 0, rank < size
        else {
            throw MPIError(.argument, "SWIFTMPI_SEGMENT is set but SWIFTMPI_RANK/SWIFTMPI_SIZE are missing or invalid: start the program with swift-mpiexec")
        }
        let segment = try JobSegment(attaching: name, expectRanks: size)
        do {
            return try SharedMemoryBackend(segment: segment, rank: rank, threadLevel: threadLevel)
        } catch {
            segment.detach()
            throw error
        }
    }

    private init(segment: JobSegment, rank: Int, threadLevel: ThreadLevel) throws(MPIError) {
        self.segment = segment
        worldRank = rank
        worldSize = segment.ranks
        providedThreadLevel = threadLevel
        var resolution = timespec()
        clock_getres(CLOCK_MONOTONIC, &resolution)
        wallTick = Double(resolution.tv_sec) + Double(resolution.tv_nsec) * 1e-9
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        processorName = String(cString: host)
        probeWord = .allocate(capacity: 1)
        probeWord.initialize(to: SharedMemoryBackend.probeMagic)

        let (pids, crossMemory) = try SharedMemoryBackend.rendezvous(segment: segment, rank: rank, probe: probeWord)
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        engine = .allocate(capacity: 1)
        engine.initialize(to: Engine(
            segment: segment, rank: rank, useCrossMemory: crossMemory, peerPids: pids,
            oversubscribed: segment.ranks > cores))
        if threadLevel == .multiple {
            let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
            pthread_mutex_init(lock, nil)
            engine.pointee.lock = lock
        }
        let singleCopy = !crossMemory ? "off" : "above \(engine.pointee.eagerLimit >> 10) KiB"
        libraryVersion = "swift-mpi shared memory (segment v\(JobSegment.version), \(segment.ringBytes >> 10) KiB rings, single copy \(singleCopy))"
    }

    /// Announces this rank in the segment, waits for every other rank, and finds out whether
    /// every rank can read every other's memory directly.
    private static func rendezvous(
        segment: JobSegment, rank: Int, probe: UnsafeMutablePointer<UInt64>
    ) throws(MPIError) -> (pids: [pid_t], crossMemory: Bool) {
        guard segment.name != nil else { return ([getpid()], false) }
        let wantCrossMemory = getenv("SWIFTMPI_CMA").map { String(cString: $0) != "0" } ?? true
        if wantCrossMemory { CrossMemory.allowPeersToRead() }
        try segment.claim(rank: rank, secret: getenv(JobSegment.secretVariable).map { String(cString: $0) })
        segment.slotPid(rank).pointee.store(Int(getpid()), ordering: .relaxed)
        segment.slotCMA(rank).pointee.store(Int(bitPattern: UInt(bitPattern: probe)), ordering: .relaxed)
        segment.slotState(rank).pointee.store(JobSegment.RankState.attached.rawValue, ordering: .releasing)

        let waiter = Backoff(oversubscribed: true, segment: segment)
        func awaitAll(_ what: String, _ ready: (Int) -> Bool) throws(MPIError) {
            var clock = timespec()
            clock_gettime(CLOCK_MONOTONIC, &clock)
            let deadline = clock.tv_sec + 60
            for peer in 0..<segment.ranks {
                var rounds = 0
                while !ready(peer) {
                    rounds += 1
                    if rounds & 255 == 0 {
                        try waiter.checkJob()
                        clock_gettime(CLOCK_MONOTONIC, &clock)
                        if clock.tv_sec > deadline {
                            throw MPIError(.segment, "rank \(peer) did not \(what) within 60 s in job segment \(segment.name!)")
                        }
                    }
                    if rounds < 64 { continue }
                    var pause = timespec(tv_sec: 0, tv_nsec: rounds < 1024 ? 0 : 100_000)
                    if pause.tv_nsec == 0 { sched_yield() } else { nanosleep(&pause, nil) }
                }
            }
        }
        try awaitAll("attach") { segment.slotState($0).pointee.load(ordering: .acquiring) >= JobSegment.RankState.attached.rawValue }
        let pids = (0..<segment.ranks).map { pid_t(truncatingIfNeeded: segment.slotPid($0).pointee.load(ordering: .relaxed)) }
        guard segment.ranks > 1 else { return (pids, false) }

        // Each rank reads the next rank's probe word; all must succeed for single copy to be used.
        var works = false
        if wantCrossMemory {
            let peer = (rank + 1) % segment.ranks
            let address = UInt(bitPattern: segment.slotCMA(peer).pointee.load(ordering: .relaxed))
            var value: UInt64 = 0
            let status = withUnsafeMutableBytes(of: &value) {
                CrossMemory.read(from: pids[peer], remote: address, into: $0.baseAddress!, count: 8)
            }
            works = status == 0 && value == probeMagic
        }
        segment.slotCrossMemoryResult(rank).pointee.store(works ? 1 : 2, ordering: .releasing)
        try awaitAll("report whether it can read its peers") { segment.slotCrossMemoryResult($0).pointee.load(ordering: .acquiring) != 0 }
        let all = (0..<segment.ranks).allSatisfy { segment.slotCrossMemoryResult($0).pointee.load(ordering: .acquiring) == 1 }
        return (pids, all)
    }

    // MARK: Environment

    package func wallTime() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }

    package func finalize() throws(MPIError) {
        lockEngine()
        defer { unlockEngine() }
        guard isActive else { return }
        // Finalizing detaches the buffered-send space: its messages leave first.
        if bufferedSpace != nil { _ = try detachInside() }
        engine.pointee.active = false
        if segment.name != nil {
            segment.slotState(worldRank).pointee.store(JobSegment.RankState.finalized.rawValue, ordering: .releasing)
        }
    }

    package func abort(errorCode: Int) -> Never {
        if segment.name != nil { segment.markAborted(code: errorCode) }
        let message = "swift-mpi: rank \(worldRank) aborted the job with code \(errorCode)\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(Int32(truncatingIfNeeded: errorCode == 0 ? 1 : errorCode))
    }

    // MARK: Communicators

    @inline(__always)
    func info(_ comm: CommHandle) throws(MPIError) -> CommunicatorInfo {
        let index = Int(comm.raw)
        guard index < engine.pointee.communicators.count, let info = engine.pointee.communicators[index] else {
            throw MPIError(.communicator, "communicator \(comm.raw) is not valid (freed?)")
        }
        return info
    }

    package func rank(of comm: CommHandle) -> Int {
        lockEngine()
        defer { unlockEngine() }
        return (try? info(comm).rank) ?? -1
    }
    package func size(of comm: CommHandle) -> Int {
        lockEngine()
        defer { unlockEngine() }
        return (try? info(comm).members.count) ?? 0
    }

    private func register(_ info: CommunicatorInfo) -> CommHandle {
        reclaimRetiredCommunicators()
        if let free = engine.pointee.communicators.indices.dropFirst(2).first(where: { engine.pointee.communicators[$0] == nil }) {
            engine.pointee.communicators[free] = info
            return CommHandle(raw: UInt(free))
        }
        engine.pointee.communicators.append(info)
        return CommHandle(raw: UInt(engine.pointee.communicators.count - 1))
    }

    package func duplicate(_ comm: CommHandle) throws(MPIError) -> CommHandle {
        lockEngine()
        defer { unlockEngine() }
        let parent = try info(comm)
        let id = try agreeOnContexts(parent, count: 1)
        return register(CommunicatorInfo(
            context: UInt32(id * 2), members: parent.memberList, worldSize: worldSize, worldRank: worldRank))
    }

    /// Hints are for implementations that can use them; this one has no use for any.
    package func duplicate(_ comm: CommHandle, hints: [(key: String, value: String)]) throws(MPIError) -> CommHandle {
        try duplicate(comm)
    }

    /// Rank 0 takes the context id now (an atomic add on the job's counter, no waiting) and an
    /// immediate broadcast on `comm`, ordered like any collective there, tells the others.
    package func immediateDuplicate(_ comm: CommHandle) throws(MPIError) -> (request: RequestHandle, resources: AnyObject) {
        let pending = PendingDuplicate()
        do {
            lockEngine()
            defer { unlockEngine() }
            let parent = try info(comm)
            if parent.rank == 0 { pending.context.pointee = Int64(try reserveContexts(count: 1)) }
        }
        let started = try immediateCollective(
            CollectiveFields(.broadcast, type: Int64.datatype, count: 1, root: 0, receive: UnsafeMutableRawPointer(pending.context)),
            comm: comm)
        return (started.request, pending)
    }

    package func finishDuplicate(_ comm: CommHandle, _ resources: AnyObject) throws(MPIError) -> CommHandle {
        lockEngine()
        defer { unlockEngine() }
        let parent = try info(comm)
        let context = (resources as! PendingDuplicate).context.pointee
        return register(CommunicatorInfo(
            context: UInt32(context * 2), members: parent.memberList, worldSize: worldSize, worldRank: worldRank))
    }

    package func split(_ comm: CommHandle, color: Int?, key: Int) throws(MPIError) -> CommHandle? {
        lockEngine()
        defer { unlockEngine() }
        return try splitInside(comm, color: color, key: key)
    }

    private func splitInside(_ comm: CommHandle, color: Int?, key: Int) throws(MPIError) -> CommHandle? {
        let parent = try info(comm)
        let entries = try allGather(parent, (color ?? -1, key))
        let colors = Set(entries.map(\.0).filter { $0 >= 0 }).sorted()
        let base = try agreeOnContexts(parent, count: colors.count)
        guard let color, let colorIndex = colors.firstIndex(of: color) else { return nil }
        let members = entries.indices
            .filter { entries[$0].0 == color }
            .sorted { (entries[$0].1, $0) < (entries[$1].1, $1) }
            .map { parent.members[$0] }
        return register(CommunicatorInfo(
            context: UInt32((base + colorIndex) * 2), members: members, worldSize: worldSize, worldRank: worldRank))
    }

    /// Every rank of a shared-memory job is on this node: a split with one color.
    package func splitShared(_ comm: CommHandle, key: Int, joining: Bool) throws(MPIError) -> CommHandle? {
        lockEngine()
        defer { unlockEngine() }
        // Every rank of the job shares this node: one color for those joining.
        return try splitInside(comm, color: joining ? 0 : nil, key: key)
    }

    package func compare(_ a: CommHandle, _ b: CommHandle) throws(MPIError) -> CommunicatorComparison {
        lockEngine()
        defer { unlockEngine() }
        if a == b { return .identical }
        let (first, second) = (try info(a), try info(b))
        if first.memberList == second.memberList { return .congruent }
        if first.members.sorted() == second.members.sorted() { return .similar }
        return .unequal
    }

    package func worldRanks(of comm: CommHandle) throws(MPIError) -> [Int] {
        lockEngine()
        defer { unlockEngine() }
        return try info(comm).memberList
    }

    package func createGroup(_ comm: CommHandle, worldRanks: [Int], tag: Int) throws(MPIError) -> CommHandle {
        lockEngine()
        defer { unlockEngine() }
        let parent = try info(comm)
        // Only the group's processes take part: the group's first process takes a fresh context
        // id and sends it to the others on the parent's collective context, under a tag of its
        // own (clear of the tags of the parent's other internal collectives).
        let group = CommunicatorInfo(context: parent.context, members: worldRanks, worldSize: worldSize, worldRank: worldRank)
        defer { group.deallocate() }
        let base = try agreeOnContexts(group, count: 1, tag: SharedMemoryBackend.createGroupTag | (tag & 0xF_FFFF))
        return register(CommunicatorInfo(context: UInt32(base * 2), members: worldRanks, worldSize: worldSize, worldRank: worldRank))
    }

    /// Tag bit of `createGroup`'s context agreement (collective schedules use bit 30).
    private static let createGroupTag = 1 << 29

    package func free(_ comm: CommHandle) {
        lockEngine()
        defer { unlockEngine() }
        let index = Int(comm.raw)
        guard index >= 2, index < engine.pointee.communicators.count, engine.pointee.communicators[index] != nil else { return }
        // MPI_Comm_free: operations pending on it complete normally, so its tables stay until
        // no receive refers to them (the slot is not reused before).
        engine.pointee.retiredCommunicators.append(index)
        reclaimRetiredCommunicators()
    }

    /// Releases the freed communicators no pending receive refers to any more.
    private func reclaimRetiredCommunicators() {
        guard !engine.pointee.retiredCommunicators.isEmpty else { return }
        engine.pointee.retiredCommunicators.removeAll { index in
            let inUse = engine.pointee.posted.firstIndex(where: { $0.communicator == index }) != nil
                || engine.pointee.persistents.firstIndex(where: { $0.communicator == index }) != nil
            if inUse { return false }
            engine.pointee.communicators[index]?.deallocate()
            engine.pointee.communicators[index] = nil
            return true
        }
    }

    /// Rank 0 of `comm` takes `count` fresh context ids from the segment's counter and tells
    /// the others; returns the first.
    private func agreeOnContexts(_ comm: CommunicatorInfo, count: Int, tag: Int = 2) throws(MPIError) -> Int {
        var base = 0
        if comm.rank == 0 { base = try reserveContexts(count: count) }
        try broadcastInternal(comm, &base, tag: tag)
        return base
    }

    /// Takes `count` context ids from the job's counter (rank 0 of the communicator does).
    func reserveContexts(count: Int) throws(MPIError) -> Int {
        let base = segment.contextCounter.pointee.wrappingAdd(max(count, 1), ordering: .relaxed).oldValue
        guard base + count < Int(UInt32.max / 2) else {
            throw MPIError(.intern, "out of communicator context ids")
        }
        return base
    }

    // MARK: Internal collectives (on the communicator's collective context)

    private func collectiveSend<T: BitwiseCopyable>(_ value: T, to rank: Int, in comm: CommunicatorInfo, tag: Int) throws(MPIError) {
        try withUnsafeBytes(of: value) { (bytes) throws(MPIError) in
            try engine.pointee.send(bytes.baseAddress, count: bytes.count, to: comm.members[rank],
                context: comm.context + 1, tag: tag, synchronous: false)
        }
    }

    private func collectiveReceive<T: BitwiseCopyable>(_ value: inout T, from rank: Int, in comm: CommunicatorInfo, tag: Int) throws(MPIError) {
        try withUnsafeMutableBytes(of: &value) { (bytes) throws(MPIError) in
            let id = engine.pointee.postReceive(into: bytes.baseAddress, capacity: bytes.count,
                from: comm.members[rank], context: comm.context + 1, tag: tag)
            _ = try engine.pointee.completeReceive(id)
        }
    }

    func broadcastInternal<T: BitwiseCopyable>(_ comm: CommunicatorInfo, _ value: inout T, tag: Int) throws(MPIError) {
        if comm.rank == 0 {
            for peer in 1..<max(comm.members.count, 1) { try collectiveSend(value, to: peer, in: comm, tag: tag) }
        } else {
            try collectiveReceive(&value, from: 0, in: comm, tag: tag)
        }
    }

    func allGather(_ comm: CommunicatorInfo, _ mine: (Int, Int)) throws(MPIError) -> [(Int, Int)] {
        var all = [(Int, Int)](repeating: (0, 0), count: comm.members.count)
        if comm.rank == 0 {
            all[0] = mine
            for peer in 1..<max(comm.members.count, 1) { try collectiveReceive(&all[peer], from: peer, in: comm, tag: 1) }
        } else {
            try collectiveSend(mine, to: 0, in: comm, tag: 1)
        }
        for index in all.indices { try broadcastInternal(comm, &all[index], tag: 3) }
        return all
    }

    /// A dissemination barrier: ⌈log2 n⌉ rounds of signature messages, so a barrier that meets
    /// another collective fails on every rank instead of hanging (see `CollectiveSchedule+Plan`).
    package func barrier(_ comm: CommHandle) throws(MPIError) {
        try collective(CollectiveFields(.barrier, type: .byte), comm: comm)
    }

    // MARK: Point to point

    /// Bytes a message of `count` elements of `type` carries (packed: `size` per element).
    @inline(__always)
    func byteCount(_ count: Int, _ type: Datatype) throws(MPIError) -> Int {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: type.size)
        guard !overflow else { throw MPIError(.count, "count \(count) of \(type) overflows the address space") }
        return bytes
    }

    /// Posts a receive of `count` elements of `type` from communicator rank `source` (or any)
    /// on communicator `info` (`communicator`: its handle, for nonblocking statuses); returns
    /// the engine's id for it.
    @inline(__always)
    func postReceive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype, from source: Int, tag: Int,
        in info: CommunicatorInfo, communicator: Int = 0
    ) throws(MPIError) -> Int {
        engine.pointee.postReceive(
            into: buffer, capacity: try byteCount(count, type), from: source < 0 ? -1 : info.members[source],
            context: info.context, tag: tag, communicator: communicator, layout: type.layout)
    }

    package func send(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) {
        lockEngine()
        defer { unlockEngine() }
        let bytes = try byteCount(count, type)
        let info = try info(comm)
        if mode == .buffered {
            try bufferedSend(buffer, count: count, type: type, to: info.members[dest], context: info.context, tag: tag)
            return
        }
        try engine.pointee.send(buffer, count: bytes, to: info.members[dest], context: info.context, tag: tag,
            synchronous: mode == .synchronous, layout: type.layout)
    }

    package func receive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> Status {
        lockEngine()
        defer { unlockEngine() }
        let info = try info(comm)
        let id = try postReceive(into: buffer, count: count, type: type, from: source, tag: tag, in: info)
        return try status(of: engine.pointee.completeReceive(id), rankOfWorld: info.rankOfWorld, type: type)
    }

    package func sendReceive(
        _ sendBuffer: UnsafeRawPointer?, sendCount: Int, sendType: Datatype, to dest: Int, sendTag: Int,
        into receiveBuffer: UnsafeMutableRawPointer?, receiveCount: Int, receiveType: Datatype,
        from source: Int, receiveTag: Int, comm: CommHandle
    ) throws(MPIError) -> Status {
        lockEngine()
        defer { unlockEngine() }
        let info = try info(comm)
        let sendBytes = try byteCount(sendCount, sendType)
        let id = try postReceive(
            into: receiveBuffer, count: receiveCount, type: receiveType, from: source, tag: receiveTag, in: info)
        try engine.pointee.send(sendBuffer, count: sendBytes, to: info.members[dest], context: info.context,
            tag: sendTag, synchronous: false, layout: sendType.layout)
        return try status(of: engine.pointee.completeReceive(id), rankOfWorld: info.rankOfWorld, type: receiveType)
    }

    package func probe(from source: Int, tag: Int, comm: CommHandle, blocking: Bool) throws(MPIError) -> Status? {
        lockEngine()
        defer { unlockEngine() }
        let info = try info(comm)
        guard let message = try engine.pointee.probe(
            source: source < 0 ? -1 : info.members[source], context: info.context, tag: tag, blocking: blocking)
        else { return nil }
        return Status(source: info.rankOfWorld[message.source], tag: message.tag, byteCount: message.total)
    }

    package func matchedProbe(from source: Int, tag: Int, comm: CommHandle, blocking: Bool) throws(MPIError) -> (MessageHandle, Status)? {
        lockEngine()
        defer { unlockEngine() }
        guard engine.pointee.active else { throw MPIError.finalized() }
        let info = try info(comm)
        guard let message = try engine.pointee.probe(
            source: source < 0 ? -1 : info.members[source], context: info.context, tag: tag, blocking: blocking,
            claimFor: Int(comm.raw))
        else { return nil }
        return (MessageHandle(raw: UInt(message.id)),
            Status(source: info.rankOfWorld[message.source], tag: message.tag, byteCount: message.total))
    }

    package func matchedReceive(
        _ message: MessageHandle, into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype
    ) throws(MPIError) -> Status {
        lockEngine()
        defer { unlockEngine() }
        let id = try postMatched(message, into: buffer, count: count, type: type)
        let receive = try engine.pointee.completeReceive(id)
        let rankOfWorld = try? info(CommHandle(raw: UInt(receive.communicator))).rankOfWorld
        return try status(of: receive, rankOfWorld: rankOfWorld, type: type)
    }

    package func immediateMatchedReceive(
        _ message: MessageHandle, into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype
    ) throws(MPIError) -> RequestHandle {
        lockEngine()
        defer { unlockEngine() }
        return receiveRequest(try postMatched(message, into: buffer, count: count, type: type))
    }

    /// Posts the receive of a message a matched probe claimed.
    private func postMatched(
        _ message: MessageHandle, into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype
    ) throws(MPIError) -> Int {
        guard engine.pointee.active else { throw MPIError.finalized() }
        guard let id = engine.pointee.postMatchedReceive(
            message: Int(message.raw), into: buffer, capacity: try byteCount(count, type), layout: type.layout)
        else { throw MPIError(.request, "matched message \(message.raw) is not pending (received already?)") }
        return id
    }

    /// The status of a completed receive, with its source as a rank of its communicator.
    func status(of receive: PostedReceive) throws(MPIError) -> Status {
        if receive.cancelled {
            var status = Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0)
            status.isCancelled = true
            return status
        }
        let rankOfWorld = receive.communicator == 0 ? nil : try? info(CommHandle(raw: UInt(receive.communicator))).rankOfWorld
        return try status(of: receive, rankOfWorld: rankOfWorld, type: .byte)
    }

    @inline(__always)
    func status(of receive: PostedReceive, rankOfWorld: UnsafeBufferPointer<Int>?, type: Datatype) throws(MPIError) -> Status {
        let source = rankOfWorld.map { $0[receive.matchedSource] } ?? receive.matchedSource
        switch receive.failure {
        case nil:
            return Status(source: source, tag: receive.matchedTag, byteCount: receive.total)
        case .truncated(let message, let buffer):
            let elements = type == .byte ? "" : " (\(buffer / max(type.size, 1)) × \(type))"
            throw MPIError(.truncate, "message truncated: rank \(source) sent \(message) bytes with tag \(receive.matchedTag), but the receive buffer holds \(buffer) bytes\(elements)")
        case .copyFailed(let error, let bytes):
            throw MPIError(.other, "single-copy read of \(bytes) bytes from rank \(source) failed: \(String(cString: strerror(error)))")
        case .peersFinalized:
            throw engine.pointee.finalizedError(for: receive)
        }
    }
}

extension Datatype {
    /// The registered layout the engine must gather and scatter by, 0 when the data fills its
    /// extent and moves as plain bytes.
    @inline(__always)
    var layout: UInt32 { isDense ? 0 : layoutID }
}

extension SharedMemoryBackend {
    /// Enters the engine: takes its lock at `ThreadLevel.multiple`; below it, marks the engine
    /// entered and stops the process with a clear message when another thread is inside — two
    /// threads calling MPI at once at `.single`, `.funneled` or `.serialized` is a program error
    /// that would otherwise corrupt the engine silently. The mark is a plain load and store, not
    /// an atomic exchange: a locked instruction per call waits for the store buffer to drain
    /// (the ring writes of the call before), which the message path feels; the check still
    /// catches the usual case, a second thread entering while the first is inside a call.
    @inline(__always)
    func lockEngine() {
        if let lock = engine.pointee.lock {
            pthread_mutex_lock(lock)
        } else {
            if entered.load(ordering: .relaxed) != 0 { concurrentEntry() }
            entered.store(1, ordering: .relaxed)
        }
    }

    @inline(__always)
    func unlockEngine() {
        if let lock = engine.pointee.lock {
            pthread_mutex_unlock(lock)
        } else {
            entered.store(0, ordering: .relaxed)
        }
    }

    @inline(never)
    private func concurrentEntry() -> Never {
        fatalError(
            "swift-mpi: two threads called MPI at the same time at ThreadLevel.\(providedThreadLevel), which allows one at a time; "
                + "initialize with Environment.initialize(threadLevel: .multiple) to call from several threads at once "
                + "(await on MPI operations needs no particular level)")
    }
}

/// The context id an immediate duplication agrees on: rank 0's, broadcast into every rank's.
final class PendingDuplicate {
    let context = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    init() { context.initialize(to: 0) }
    deinit { context.deallocate() }
}
