import MPICore
import Testing

/// A backend that records what reaches it, so the checks the public API makes before calling a
/// backend can be tested in one process.
final class RecordingBackend: Backend, @unchecked Sendable {
    let kind = BackendKind.sharedMemory
    let providedThreadLevel = ThreadLevel.single
    var isActive = true
    let worldHandle = CommHandle(raw: 0)
    let soloHandle = CommHandle(raw: 1)
    let worldRank = 1
    let worldSize = 3
    let tagUpperBound = 32767
    let processorName = "test"
    let libraryVersion = "recording backend"
    let wallTick = 1e-9
    /// One line per call that reached the backend.
    var calls: [String] = []
    /// Size of the message a probe reports.
    var probedBytes = 0
    /// Requests whose operation fails (truncated) when it completes.
    var failing: Set<UInt> = []
    private(set) var nextHandle: UInt = 2

    func wallTime() -> Double { 0 }
    func finalize() throws(MPIError) { isActive = false }
    func abort(errorCode: Int) -> Never { fatalError("abort \(errorCode)") }
    func rank(of comm: CommHandle) -> Int { worldRank }
    func size(of comm: CommHandle) -> Int { worldSize }

    func duplicate(_ comm: CommHandle) throws(MPIError) -> CommHandle {
        nextHandle += 1
        calls.append("duplicate \(comm.raw) -> \(nextHandle)")
        return CommHandle(raw: nextHandle)
    }

    func duplicate(_ comm: CommHandle, hints: [(key: String, value: String)]) throws(MPIError) -> CommHandle {
        calls.append("duplicate with \(hints.count) hints")
        return try duplicate(comm)
    }

    func allToAllw(
        _ send: UnsafeRawPointer?, _ sendBlocks: [TypedBlock],
        into receive: UnsafeMutableRawPointer?, _ receiveBlocks: [TypedBlock], comm: CommHandle
    ) throws(MPIError) {
        calls.append("allToAllw \(sendBlocks.map(\.count)) \(receiveBlocks.map(\.count))")
    }

    func immediateDuplicate(_ comm: CommHandle) throws(MPIError) -> (request: RequestHandle, resources: AnyObject) {
        throw MPIError(.unsupported, "the recording backend starts no duplication")
    }

    func finishDuplicate(_ comm: CommHandle, _ resources: AnyObject) throws(MPIError) -> CommHandle {
        throw MPIError(.unsupported, "the recording backend starts no duplication")
    }

    func split(_ comm: CommHandle, color: Int?, key: Int) throws(MPIError) -> CommHandle? {
        calls.append("split \(color.map(String.init) ?? "nil") \(key)")
        return nil
    }

    func compare(_ a: CommHandle, _ b: CommHandle) throws(MPIError) -> CommunicatorComparison { .identical }
    func splitShared(_ comm: CommHandle, key: Int, joining: Bool) throws(MPIError) -> CommHandle? {
        calls.append("splitShared \(comm.raw) key \(key)")
        return joining ? CommHandle(raw: 9) : nil
    }
    func free(_ comm: CommHandle) { calls.append("free \(comm.raw)") }
    func barrier(_ comm: CommHandle) throws(MPIError) { calls.append("barrier") }

    func send(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) {
        calls.append("send \(count) \(type) to \(dest) tag \(tag)")
    }

    func receive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> Status {
        calls.append("receive \(count) \(type) from \(source) tag \(tag)")
        return Status(source: max(source, 0), tag: max(tag, 0), byteCount: probedBytes)
    }

    func sendReceive(
        _ sendBuffer: UnsafeRawPointer?, sendCount: Int, sendType: Datatype, to dest: Int, sendTag: Int,
        into receiveBuffer: UnsafeMutableRawPointer?, receiveCount: Int, receiveType: Datatype,
        from source: Int, receiveTag: Int, comm: CommHandle
    ) throws(MPIError) -> Status {
        calls.append("sendReceive to \(dest) from \(source)")
        return Status(source: source, tag: receiveTag, byteCount: receiveCount * receiveType.size)
    }

    func probe(from source: Int, tag: Int, comm: CommHandle, blocking: Bool) throws(MPIError) -> Status? {
        calls.append("probe \(source) \(tag) \(blocking ? "blocking" : "nonblocking")")
        return Status(source: max(source, 0), tag: max(tag, 0), byteCount: probedBytes)
    }

    func worldRanks(of comm: CommHandle) throws(MPIError) -> [Int] { [0, 1, 2] }

    func createGroup(_ comm: CommHandle, worldRanks: [Int], tag: Int) throws(MPIError) -> CommHandle {
        nextHandle += 1
        calls.append("createGroup \(worldRanks) tag \(tag) -> \(nextHandle)")
        return CommHandle(raw: nextHandle)
    }

    func matchedProbe(from source: Int, tag: Int, comm: CommHandle, blocking: Bool) throws(MPIError) -> (MessageHandle, Status)? {
        nextHandle += 1
        calls.append("matchedProbe \(source) \(tag) \(blocking ? "blocking" : "nonblocking") -> \(nextHandle)")
        return (MessageHandle(raw: nextHandle), Status(source: max(source, 0), tag: max(tag, 0), byteCount: probedBytes))
    }

    func matchedReceive(
        _ message: MessageHandle, into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype
    ) throws(MPIError) -> Status {
        calls.append("matchedReceive \(message.raw) \(count) \(type)")
        return Status(source: 0, tag: 0, byteCount: probedBytes)
    }

    func immediateMatchedReceive(
        _ message: MessageHandle, into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype
    ) throws(MPIError) -> RequestHandle {
        request("immediateMatchedReceive \(message.raw) \(count) \(type)")
    }

    // Nonblocking operations complete at once: every request is done when first tested.

    private func request(_ call: String) -> RequestHandle {
        nextHandle += 1
        calls.append("\(call) -> \(nextHandle)")
        return RequestHandle(raw: nextHandle)
    }

    func immediateSend(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) -> RequestHandle {
        request("immediateSend \(count) \(type) to \(dest) tag \(tag)")
    }

    func immediateReceive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> RequestHandle {
        request("immediateReceive \(count) \(type) from \(source) tag \(tag)")
    }

    func persistentSend(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) -> RequestHandle {
        request("persistentSend \(count) \(type) to \(dest) tag \(tag)")
    }

    func persistentReceive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> RequestHandle {
        request("persistentReceive \(count) \(type) from \(source) tag \(tag)")
    }

    func start(_ request: RequestHandle) throws(MPIError) { calls.append("start \(request.raw)") }

    func test(_ request: RequestHandle) throws(MPIError) -> Status? { try wait(request) }
    func isComplete(_ request: RequestHandle) throws(MPIError) -> Bool { true }
    func attachBuffer(capacity: Int) throws(MPIError) {}
    func detachBuffer() throws(MPIError) -> Int { 0 }
    var bufferedSendOverhead: Int { 0 }

    func wait(_ request: RequestHandle) throws(MPIError) -> Status {
        calls.append("wait \(request.raw)")
        if failing.contains(request.raw) { throw MPIError(.truncate, "request \(request.raw) was truncated") }
        return Status(source: 0, tag: 0, byteCount: probedBytes)
    }

    func waitAny(
        _ requests: UnsafeBufferPointer<RequestHandle?>, statuses: UnsafeBufferPointer<Status?>
    ) throws(MPIError) -> (index: Int, outcome: Result<Status, MPIError>) {
        guard let first = statuses.firstIndex(where: { $0 == nil }) else { throw MPIError(.request, "none pending") }
        do throws(MPIError) {
            return (first, .success(try wait(requests[first]!)))
        } catch {
            return (first, .failure(error))
        }
    }

    func cancel(_ request: RequestHandle) throws(MPIError) { calls.append("cancel \(request.raw)") }

    func release(_ request: RequestHandle) { calls.append("release \(request.raw)") }

    // One-sided communication: the recording backend has no windows, so these checks (made by
    // the front end before any backend call) are the only part of it tested here.
    private func noWindows() -> MPIError { MPIError(.unsupported, "the recording backend has no windows") }
    func createWindow(flavor: WindowFlavor, base: UnsafeMutableRawPointer?, bytes: Int, unit: Int, comm: CommHandle) throws(MPIError) -> (window: WindowHandle, base: UnsafeMutableRawPointer?) { throw noWindows() }
    func freeWindow(_ window: WindowHandle, dropped: Bool) throws(MPIError) { throw noWindows() }
    func sharedMemory(of rank: Int, in window: WindowHandle) throws(MPIError) -> (base: UnsafeMutableRawPointer?, bytes: Int) { throw noWindows() }
    func put(_ origin: UnsafeRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int, window: WindowHandle, request: Bool) throws(MPIError) -> RequestHandle? { throw noWindows() }
    func get(into origin: UnsafeMutableRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int, window: WindowHandle, request: Bool) throws(MPIError) -> RequestHandle? { throw noWindows() }
    func accumulate(_ origin: UnsafeRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int, op: Reduction, window: WindowHandle, request: Bool) throws(MPIError) -> RequestHandle? { throw noWindows() }
    func getAccumulate(_ origin: UnsafeRawPointer?, into result: UnsafeMutableRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int, op: Reduction, window: WindowHandle, request: Bool) throws(MPIError) -> RequestHandle? { throw noWindows() }
    func compareAndSwap(_ value: UnsafeRawPointer, compare: UnsafeRawPointer, into result: UnsafeMutableRawPointer, type: Datatype, target: Int, displacement: Int, window: WindowHandle) throws(MPIError) { throw noWindows() }
    func fence(_ window: WindowHandle, assertions: Int) throws(MPIError) { throw noWindows() }
    func post(_ window: WindowHandle, origins: [Int], assertions: Int) throws(MPIError) { throw noWindows() }
    func start(_ window: WindowHandle, targets: [Int], assertions: Int) throws(MPIError) { throw noWindows() }
    func complete(_ window: WindowHandle) throws(MPIError) { throw noWindows() }
    func waitExposure(_ window: WindowHandle, blocking: Bool) throws(MPIError) -> Bool { throw noWindows() }
    func lock(_ window: WindowHandle, target: Int, type: LockType, assertions: Int) throws(MPIError) { throw noWindows() }
    func unlock(_ window: WindowHandle, target: Int) throws(MPIError) { throw noWindows() }
    func lockAll(_ window: WindowHandle, assertions: Int) throws(MPIError) { throw noWindows() }
    func unlockAll(_ window: WindowHandle) throws(MPIError) { throw noWindows() }
    func flush(_ window: WindowHandle, target: Int?, local: Bool) throws(MPIError) { throw noWindows() }
    func sync(_ window: WindowHandle) throws(MPIError) { throw noWindows() }

    // Parallel I/O: no files either (FileViewMapTests covers the view arithmetic).
    private func noFiles() -> MPIError { MPIError(.unsupported, "the recording backend has no files") }
    func openFile(_ path: String, mode: Int, comm: CommHandle) throws(MPIError) -> FileHandle { throw noFiles() }
    func closeFile(_ file: FileHandle) throws(MPIError) { throw noFiles() }
    func deleteFile(_ path: String) throws(MPIError) { throw noFiles() }
    func fileSize(_ file: FileHandle) throws(MPIError) -> Int { throw noFiles() }
    func setFileSize(_ file: FileHandle, bytes: Int) throws(MPIError) { throw noFiles() }
    func preallocateFile(_ file: FileHandle, bytes: Int) throws(MPIError) { throw noFiles() }
    func syncFile(_ file: FileHandle) throws(MPIError) { throw noFiles() }
    func setFileView(_ file: FileHandle, displacement: Int, elementType: Datatype, fileType: Datatype) throws(MPIError) { throw noFiles() }
    func fileAccess(
        _ file: FileHandle, write: Bool, buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        position: FilePositioning, collective: Bool, request: Bool
    ) throws(MPIError) -> (status: Status?, request: RequestHandle?) { throw noFiles() }
    func seekFile(_ file: FileHandle, offset: Int, from origin: FileSeekOrigin, shared: Bool) throws(MPIError) { throw noFiles() }
    func filePosition(_ file: FileHandle, shared: Bool) throws(MPIError) -> Int { throw noFiles() }
    func fileByteOffset(_ file: FileHandle, offset: Int) throws(MPIError) -> Int { throw noFiles() }
}

@Suite("Argument checks before the backend")
struct CommunicatorValidationTests: RecordingFixture {
    let backend = RecordingBackend()

    @Test func sendToRankSizeNamesTheRank() {
        expectError(.rank, mentioning: "rank 3") { () throws(MPIError) in try world.send(1, to: 3) }
        expectError(.rank, mentioning: "rank -5") { () throws(MPIError) in try world.send(1, to: -5) }
        expectError(.rank, mentioning: "rank 4") { () throws(MPIError) in _ = try world.receive(Int.self, from: 4) }
        expectError(.rank, mentioning: "rank 3") { () throws(MPIError) in _ = try world.probe(from: 3) }
        #expect(backend.calls.isEmpty)
    }

    @Test func countsAndTags() {
        var value = 0
        expectError(.count, mentioning: "-1") { () throws(MPIError) in
            try withUnsafePointer(to: value) { (p) throws(MPIError) in try world.send(p, count: -1, to: 0) }
        }
        expectError(.count, mentioning: "-2") { () throws(MPIError) in
            try withUnsafeMutablePointer(to: &value) { (p) throws(MPIError) in _ = try world.receive(into: p, count: -2, from: 0) }
        }
        expectError(.buffer, mentioning: "nil") { () throws(MPIError) in try world.send(UnsafePointer<Int>?.none, count: 1, to: 0) }
        expectError(.tag, mentioning: "-1") { () throws(MPIError) in try world.send(1, to: 0, tag: Communicator.anyTag) }
        expectError(.tag, mentioning: "32768") { () throws(MPIError) in try world.send(1, to: 0, tag: 32768) }
        expectError(.tag, mentioning: "-7") { () throws(MPIError) in _ = try world.receive(Int.self, from: 0, tag: -7) }
        expectError(.argument, mentioning: "-1") { () throws(MPIError) in _ = try world.split(color: -1) }
        #expect(backend.calls.isEmpty)
        try? world.send(1, to: 0, tag: 32767)
        #expect(backend.calls == ["send 1 int64 to 0 tag 32767"])
    }

    @Test func nullProcessNeverReachesTheBackend() throws {
        let null = Communicator.nullProcess
        try world.send([1, 2, 3], to: null)
        var buffer = [7, 7]
        #expect(try world.receive(into: &buffer, from: null) == .null)
        #expect(buffer == [7, 7])
        #expect(try world.probe(from: null) == .null)
        #expect(try world.immediateProbe(from: null) == .null)
        #expect(try world.matchedProbe(from: null).status == .null)
        #expect(try world.matchedProbe(from: null).receive(into: &buffer) == .null)
        #expect(try world.immediateMatchedProbe(from: null)?.status == .null)
        #expect(try world.sendReceive([1], to: null, into: &buffer, from: null) == .null)
        #expect(backend.calls.isEmpty)
        // Half null: only the live half reaches the backend.
        #expect(try world.sendReceive([1], to: 2, sendTag: 4, into: &buffer, from: null) == .null)
        #expect(backend.calls == ["send 1 int64 to 2 tag 4"])
    }

    @Test func singleValueReceiveChecksTheSize() {
        backend.probedBytes = 4
        expectError(.truncate, mentioning: "4 bytes") { () throws(MPIError) in _ = try world.receive(Int.self, from: 0) }
    }

    @Test func receiveArrayIsSizedByAMatchedProbe() throws {
        backend.probedBytes = 24
        let (values, status) = try world.receiveArray(of: Int32.self, from: 2, tag: 5)
        #expect(values.count == 6 && status.byteCount == 24)
        var h = backend.nextHandle
        #expect(backend.calls == ["matchedProbe 2 5 blocking -> \(h)", "matchedReceive \(h) 6 int32"])
        // A message that is not whole Int32s is still consumed, then reported.
        backend.probedBytes = 5
        backend.calls = []
        expectError(.type, mentioning: "5 bytes") { () throws(MPIError) in _ = try world.receiveArray(of: Int32.self) }
        h = backend.nextHandle
        #expect(backend.calls == ["matchedProbe -1 -1 blocking -> \(h)", "matchedReceive \(h) 5 byte"])
    }

    @Test func aDroppedMatchedMessageIsReceivedAndDiscarded() throws {
        backend.probedBytes = 16
        do {
            let message = try world.matchedProbe(from: 1, tag: 3)
            #expect(message.status.byteCount == 16)
        }
        var h = backend.nextHandle
        #expect(backend.calls == ["matchedProbe 1 3 blocking -> \(h)", "matchedReceive \(h) 16 byte"])
        // A received message is not received again when it goes.
        backend.calls = []
        var buffer = [Int64](repeating: 0, count: 2)
        _ = try world.matchedProbe(from: 1, tag: 3).receive(into: &buffer)
        h = backend.nextHandle
        #expect(backend.calls == ["matchedProbe 1 3 blocking -> \(h)", "matchedReceive \(h) 2 int64"])
    }

    @Test func droppedCommunicatorsAreFreedWhileActive() throws {
        do {
            let dup = try world.duplicate()
            #expect(dup.rank == 1 && dup.size == 3)
        }
        #expect(backend.calls == ["duplicate 0 -> 3", "free 3"])
        let survivor = try world.duplicate()
        try backend.finalize()
        _ = consume survivor
        #expect(backend.calls == ["duplicate 0 -> 3", "free 3", "duplicate 0 -> 4"])
    }

    @Test func callsAfterFinalizeThrow() throws {
        try backend.finalize()
        expectError(.finalized, mentioning: "finalized") { () throws(MPIError) in try world.send(1, to: 0) }
        expectError(.finalized, mentioning: "finalized") { () throws(MPIError) in try world.barrier() }
        #expect(backend.calls.isEmpty)
    }
}
