#if OpenMPI
import CMPI
import MPICore
import Synchronization

// Nonblocking point-to-point operations (MPI-4.1 §3.7, §3.9) on Open MPI.
//
// An immediate send's handle is its `MPI_Request`'s bits. Receives and persistent requests are
// named by a `RequestRecord` instead (bit 0 of the handle set): the receive's count and type,
// which its status and a truncation message need once it completes, and a persistent request's
// arguments. Records come from a free list, so after warm-up no request allocates. (A table keyed
// by `MPI_Request` would not do: Open MPI reuses a request object as soon as it frees it, so under
// `MPI_THREAD_MULTIPLE` another thread's new request could take the key before the completed
// one's entry is read.)
//
// Big counts travel as `WireType`'s derived datatype. An immediate operation frees it right after
// posting: MPI keeps its own reference, and "any communication that is currently using this
// datatype will complete normally" (MPI-4.1 §5.1.10, `MPI_Type_free`). A persistent request keeps
// its derived type until it is released: every start posts with it again.
//
// A persistent point-to-point request is not started as Open MPI's (`MPI_Send_init`, kept only
// to hold the communicator): each start posts an immediate operation from the record (see
// `persistent`), so when it completes its request is null and the record inactive. Open MPI 4.1 frees a request whose completion reports an error
// inside the `MPI_Test`/`MPI_Wait…` that reports it (its error-handler path calls
// `ompi_request_free`); for an immediate or persistent point-to-point request that is the end of
// the activation anyway, so a persistent one stays usable, as the protocol promises.

/// A receive or persistent request: Open MPI's request and what the operation was asked to do.
struct RequestRecord {
    var request: MPI_Request?
    let isSend: Bool
    let isPersistent: Bool
    let buffer: UnsafeMutableRawPointer?
    let count: Int
    let type: Datatype
    /// Destination or source rank (or `Communicator.anySource`).
    let peer: Int
    let tag: Int
    let comm: CommHandle
    let mode: SendMode
    /// A persistent request's wire form, kept until it is released.
    let wire: WireType?
    /// Set when Open MPI freed this request while reporting another request's error from
    /// `MPI_Waitany`: the operation is over and its own error is lost. (A persistent request is
    /// inactive again when this is reported.)
    var freedWithAnother = false
    /// The operation of a persistent collective (which cannot be made again on one rank alone).
    var collective: Collective.Kind? = nil
    /// An immediate file access (`MPI_File_iread_at`…), whose status counts the bytes moved.
    var isFile = false
    /// Whether `cancel` was asked for: only then does completion ask `MPI_Test_cancelled`.
    var cancelRequested = false
    /// A persistent point-to-point request's own Open MPI persistent request, never started: it
    /// checks the arguments once and holds the communicator, as MPI says a persistent request
    /// does (a communicator freed meanwhile stays usable for it), until `release`.
    var anchor: MPI_Request? = nil
}

/// Records not in use, reused before new ones are allocated. A record lives until the process
/// ends: a request may still name it after `finalize`. (The list holds addresses, which are
/// `Sendable`, so records can cross the lock.)
struct RequestRecords: ~Copyable {
    /// Taken only at `ThreadLevel.multiple`: below it MPI is called by one thread at a time, and
    /// a lock per request (two atomic instructions each way) is a cost the message path feels.
    private let lock = Mutex<Void>(())
    let locked: Bool
    private let free: UnsafeMutablePointer<[UInt]>

    init(locked: Bool) {
        self.locked = locked
        var addresses: [UInt] = []
        addresses.reserveCapacity(64)
        free = .allocate(capacity: 1)
        free.initialize(to: addresses)
    }

    deinit {
        free.deinitialize(count: 1)
        free.deallocate()
    }

    @inline(__always)
    func take(_ record: RequestRecord) -> UnsafeMutablePointer<RequestRecord> {
        let address = locked ? lock.withLock { _ in free.pointee.popLast() } : free.pointee.popLast()
        if let address {
            let reused = UnsafeMutablePointer<RequestRecord>(bitPattern: address).unsafelyUnwrapped
            reused.pointee = record
            return reused
        }
        let fresh = UnsafeMutablePointer<RequestRecord>.allocate(capacity: 1)
        fresh.initialize(to: record)
        return fresh
    }

    @inline(__always)
    func recycle(_ record: UnsafeMutablePointer<RequestRecord>) {
        let address = UInt(bitPattern: record)
        if locked {
            lock.withLock { _ in free.pointee.append(address) }
        } else {
            free.pointee.append(address)
        }
    }
}

/// Room for the `MPI_Request` array `MPI_Waitany` is handed, kept and grown, so completing a
/// request list allocates nothing. Shared by the calls of one thread at a time; at
/// `ThreadLevel.multiple` each call takes temporary room.
final class BatchScratch: @unchecked Sendable {
    private var capacity = 0
    private var requests: UnsafeMutablePointer<MPI_Request?>?

    func with<R>(_ count: Int, shared: Bool, _ body: (UnsafeMutableBufferPointer<MPI_Request?>) -> R) -> R {
        guard shared else {
            return withUnsafeTemporaryAllocation(of: MPI_Request?.self, capacity: count) { body($0) }
        }
        if count > capacity {
            requests?.deallocate()
            capacity = max(count, 2 * capacity, 64)
            requests = .allocate(capacity: capacity)
        }
        return body(UnsafeMutableBufferPointer(start: requests, count: count))
    }
}

extension RequestHandle {
    /// The handle of an immediate send: the request's bits (at least 8-byte aligned, bit 0 clear).
    @inline(__always)
    init(send request: MPI_Request?) { self.init(raw: UInt(bitPattern: request)) }

    @inline(__always)
    init(record: UnsafeMutablePointer<RequestRecord>) { self.init(raw: UInt(bitPattern: record) | 1) }

    /// The record a receive or persistent request is named by; `nil` for an immediate send.
    @inline(__always)
    var record: UnsafeMutablePointer<RequestRecord>? {
        raw & 1 == 0 ? nil : UnsafeMutablePointer(bitPattern: raw & ~1)
    }

    /// An immediate send's request.
    @inline(__always)
    var sendRequest: MPI_Request? { OpaquePointer(bitPattern: raw) }
}

extension OpenMPIBackend {
    /// The status MPI gives a completed send: empty, source and tag undefined.
    static let sendStatus = Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0)

    // MARK: Starting operations

    package func immediateSend(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) -> RequestHandle {
        let wire = try WireType(count: count, element: type)
        defer { wire.release() }
        var request: MPI_Request?
        switch mode {
        case .standard:
            let code = MPI_Isend(buffer, wire.count, wire.datatype, mpiRank(dest), mpiTag(tag), comm.mpi, &request)
            try check(code, "MPI_Isend", sendContext(count: count, type: type, dest: dest, tag: tag))
        case .synchronous:
            let code = MPI_Issend(buffer, wire.count, wire.datatype, mpiRank(dest), mpiTag(tag), comm.mpi, &request)
            try check(code, "MPI_Issend", sendContext(count: count, type: type, dest: dest, tag: tag))
        case .buffered:
            try checkBufferedSpace(count: count, type: type, dest: dest, tag: tag)
            let code = MPI_Ibsend(buffer, wire.count, wire.datatype, mpiRank(dest), mpiTag(tag), comm.mpi, &request)
            try check(code, "MPI_Ibsend", bufferedContext(count: count, type: type, dest: dest, tag: tag))
        case .ready:
            let code = MPI_Irsend(buffer, wire.count, wire.datatype, mpiRank(dest), mpiTag(tag), comm.mpi, &request)
            try check(code, "MPI_Irsend", sendContext(count: count, type: type, dest: dest, tag: tag))
        }
        return RequestHandle(send: request)
    }

    package func immediateReceive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> RequestHandle {
        let wire = try WireType(count: count, element: type)
        defer { wire.release() }
        let record = requestRecords.take(RequestRecord(
            request: nil, isSend: false, isPersistent: false, buffer: buffer, count: count, type: type,
            peer: source, tag: tag, comm: comm, mode: .standard, wire: nil))
        let code = MPI_Irecv(
            buffer, wire.count, wire.datatype, mpiRank(source), mpiTag(tag), comm.mpi, &record.pointee.request)
        guard code == MPI_SUCCESS else {
            requestRecords.recycle(record)
            throw mpiError(code: code, call: "MPI_Irecv", context: postContext(count: count, type: type, source: source, tag: tag))
        }
        return RequestHandle(record: record)
    }

    package func immediateMatchedReceive(
        _ message: MessageHandle, into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype
    ) throws(MPIError) -> RequestHandle {
        let wire = try WireType(count: count, element: type)
        defer { wire.release() }
        let record = requestRecords.take(RequestRecord(
            request: nil, isSend: false, isPersistent: false, buffer: buffer, count: count, type: type,
            peer: Communicator.anySource, tag: Communicator.anyTag, comm: CommHandle(raw: 0), mode: .standard, wire: nil))
        var handle = MPI_Message(bitPattern: message.raw)
        let code = MPI_Imrecv(buffer, wire.count, wire.datatype, &handle, &record.pointee.request)
        guard code == MPI_SUCCESS else {
            requestRecords.recycle(record)
            throw mpiError(code: code, call: "MPI_Imrecv", context: "receiving a matched message of at most \(count) × \(type)")
        }
        return RequestHandle(record: record)
    }

    package func persistentSend(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) -> RequestHandle {
        try persistent(RequestRecord(
            request: nil, isSend: true, isPersistent: true, buffer: UnsafeMutableRawPointer(mutating: buffer),
            count: count, type: type, peer: dest, tag: tag, comm: comm, mode: mode,
            wire: WireType(count: count, element: type)))
    }

    package func persistentReceive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> RequestHandle {
        try persistent(RequestRecord(
            request: nil, isSend: false, isPersistent: true, buffer: buffer, count: count, type: type,
            peer: source, tag: tag, comm: comm, mode: .standard, wire: WireType(count: count, element: type)))
    }

    /// A persistent point-to-point request is its record: each start posts an immediate
    /// operation with the recorded arguments (`MPI_Isend` and its modes, `MPI_Irecv`), which
    /// MPI allows — a persistent request's semantics are those of the immediate operation — and
    /// which costs on Open MPI 4.1 about half what `MPI_Start` on an `MPI_Send_init` request
    /// does (ob1's persistent path re-initializes the whole request at every start). The
    /// record's `anchor` is the Open MPI persistent request, made here and never started.
    private func persistent(_ arguments: RequestRecord) throws(MPIError) -> RequestHandle {
        var arguments = arguments
        arguments.request = cmpi_request_null()
        let record = requestRecords.take(arguments)
        do {
            try makeAnchor(record)
        } catch {
            arguments.wire?.release()
            requestRecords.recycle(record)
            throw error
        }
        return RequestHandle(record: record)
    }

    /// Makes the (never started) Open MPI persistent request of `record` (`MPI_Send_init`,
    /// `MPI_Ssend_init`, `MPI_Bsend_init`, `MPI_Rsend_init`, `MPI_Recv_init`).
    private func makeAnchor(_ record: UnsafeMutablePointer<RequestRecord>) throws(MPIError) {
        let r = record.pointee
        let wire = r.wire!
        if r.isSend {
            // The four send modes' constructors take the same arguments.
            let (name, make): (StaticString, _) = switch r.mode {
            case .standard: ("MPI_Send_init", MPI_Send_init)
            case .synchronous: ("MPI_Ssend_init", MPI_Ssend_init)
            case .buffered: ("MPI_Bsend_init", MPI_Bsend_init)
            case .ready: ("MPI_Rsend_init", MPI_Rsend_init)
            }
            try check(
                make(r.buffer, wire.count, wire.datatype, mpiRank(r.peer), mpiTag(r.tag), r.comm.mpi, &record.pointee.anchor),
                name, sendContext(count: r.count, type: r.type, dest: r.peer, tag: r.tag))
        } else {
            try check(
                MPI_Recv_init(r.buffer, wire.count, wire.datatype, mpiRank(r.peer), mpiTag(r.tag), r.comm.mpi, &record.pointee.anchor),
                "MPI_Recv_init", postContext(count: r.count, type: r.type, source: r.peer, tag: r.tag))
        }
    }

    package func start(_ request: RequestHandle) throws(MPIError) {
        // Calling MPI after MPI_Finalize is erroneous (Open MPI may crash): throw instead.
        guard isActive else { throw MPIError.finalized() }
        guard let record = request.record, record.pointee.isPersistent else {
            throw MPIError(.request, "only persistent requests can be started")
        }
        if record.pointee.collective != nil {
            guard record.pointee.request != cmpi_request_null() else {
                throw MPIError(.request, "this persistent collective was lost: Open MPI freed it when an activation failed")
            }
            try check(MPI_Start(&record.pointee.request), "MPI_Start")
            return
        }
        guard record.pointee.request == cmpi_request_null() else {
            throw MPIError(.request, "a persistent request cannot be started while active")
        }
        let r = record.pointee
        let wire = r.wire!
        if r.isSend {
            // The four send modes take the same arguments.
            let (name, post): (StaticString, _) = switch r.mode {
            case .standard: ("MPI_Isend", MPI_Isend)
            case .synchronous: ("MPI_Issend", MPI_Issend)
            case .buffered: ("MPI_Ibsend", MPI_Ibsend)
            case .ready: ("MPI_Irsend", MPI_Irsend)
            }
            if r.mode == .buffered { try checkBufferedSpace(count: r.count, type: r.type, dest: r.peer, tag: r.tag) }
            try check(
                post(r.buffer, wire.count, wire.datatype, mpiRank(r.peer), mpiTag(r.tag), r.comm.mpi, &record.pointee.request),
                name, sendContext(count: r.count, type: r.type, dest: r.peer, tag: r.tag))
        } else {
            try check(
                MPI_Irecv(r.buffer, wire.count, wire.datatype, mpiRank(r.peer), mpiTag(r.tag), r.comm.mpi, &record.pointee.request),
                "MPI_Irecv", postContext(count: r.count, type: r.type, source: r.peer, tag: r.tag))
        }
    }

    // MARK: Completing operations

    package func test(_ request: RequestHandle) throws(MPIError) -> Status? {
        // Calling MPI after MPI_Finalize is erroneous (Open MPI may crash): throw instead.
        guard isActive else { throw MPIError.finalized() }
        var status = MPI_Status()
        var flag: Int32 = 0
        guard let record = request.record else {
            var send = request.sendRequest
            try check(MPI_Test(&send, &flag, &status), "MPI_Test", "testing a send")
            return flag == 0 ? nil : OpenMPIBackend.sendStatus
        }
        let code = MPI_Test(&record.pointee.request, &flag, &status)
        // Open MPI sets the flag also when the operation completed with an error.
        guard flag != 0 else {
            try check(code, "MPI_Test")
            return nil
        }
        return try completed(record, code: code, status: &status, call: "MPI_Test")
    }

    package func isComplete(_ request: RequestHandle) throws(MPIError) -> Bool {
        guard isActive else { throw MPIError.finalized() }
        var flag: Int32 = 0
        var status = MPI_Status()
        guard let record = request.record else {
            try check(MPI_Request_get_status(request.sendRequest, &flag, &status), "MPI_Request_get_status", "testing a send")
            return flag != 0
        }
        // An operation that failed is complete too: its error is for the test or wait to throw.
        let code = MPI_Request_get_status(record.pointee.request, &flag, &status)
        if flag == 0 { try check(code, "MPI_Request_get_status") }
        return flag != 0
    }

    package func wait(_ request: RequestHandle) throws(MPIError) -> Status {
        // Calling MPI after MPI_Finalize is erroneous (Open MPI may crash): throw instead.
        guard isActive else { throw MPIError.finalized() }
        var status = MPI_Status()
        guard let record = request.record else {
            var send = request.sendRequest
            try check(MPI_Wait(&send, &status), "MPI_Wait", "waiting for a send")
            return OpenMPIBackend.sendStatus
        }
        let code = MPI_Wait(&record.pointee.request, &status)
        return try completed(record, code: code, status: &status, call: "MPI_Wait")
    }

    package func waitAny(
        _ requests: UnsafeBufferPointer<RequestHandle?>, statuses: UnsafeBufferPointer<Status?>
    ) throws(MPIError) -> (index: Int, outcome: Result<Status, MPIError>) {
        guard isActive else { throw MPIError.finalized() }
        guard let count = Int32(exactly: requests.count) else {
            throw MPIError(.count, "cannot wait for any of \(requests.count) requests: Open MPI takes at most \(Int32.max)")
        }
        var position: Int32 = 0
        var status = MPI_Status()
        var lost: Int?
        let code = batchScratch.with(requests.count, shared: !requestRecords.locked) { array in
            for index in requests.indices {
                // Complete already: an inactive entry for MPI.
                guard statuses[index] == nil else {
                    array.initializeElement(at: index, to: cmpi_request_null())
                    continue
                }
                let handle = requests[index].unsafelyUnwrapped
                // One that an earlier call freed along with another is complete already.
                if let record = handle.record, record.pointee.freedWithAnother {
                    lost = index
                    return MPI_SUCCESS
                }
                array.initializeElement(at: index, to: handle.record?.pointee.request ?? handle.sendRequest)
            }
            let code = MPI_Waitany(count, array.baseAddress, &position, &status)
            // Open MPI changed the entry it completed and, on an error, freed every other request
            // of the array that had failed too: carry both back into the records.
            for index in requests.indices where statuses[index] == nil {
                guard let record = requests[index].unsafelyUnwrapped.record, record.pointee.request != array[index] else { continue }
                record.pointee.request = array[index]
                if index != Int(position) { record.pointee.freedWithAnother = true }
            }
            return code
        }
        if let lost { position = Int32(lost) }
        guard position != MPI_UNDEFINED else {
            try check(code, "MPI_Waitany")
            throw MPIError(.request, "waiting for any of \(requests.count) requests, none of which is active")
        }
        let index = Int(position)
        guard let record = requests[index].unsafelyUnwrapped.record else {
            if code == MPI_SUCCESS { return (index, .success(OpenMPIBackend.sendStatus)) }
            return (index, .failure(mpiError(code: code, call: "MPI_Waitany", context: "waiting for a send")))
        }
        do {
            return (index, .success(try completed(record, code: code, status: &status, call: "MPI_Waitany")))
        } catch {
            return (index, .failure(error))
        }
    }

    // Request lists complete with `Backend`'s default `waitAll` and `testSome`, one `MPI_Wait`/
    // `MPI_Test` per request, not one `MPI_Waitall`/`MPI_Testsome` over an array: Open MPI 4.1.4's
    // `MPI_Waitall` can hang once a request of the array fails (a truncated receive) — always at
    // `ThreadLevel.multiple` (the scenario driver's `neighborhood-immediate` at 3 ranks), and a
    // job across hosts hung in CI with it at the default level. (`MPI_Waitany` serves `waitAny`.)

    /// The outcome of the operation of `record`, which `call` has just completed with `code`:
    /// its status, or its error thrown. An immediate receive's record goes back to the free list;
    /// a persistent one is inactive again.
    private func completed(
        _ record: UnsafeMutablePointer<RequestRecord>, code: Int32, status: inout MPI_Status, call: StaticString
    ) throws(MPIError) -> Status {
        defer {
            // A persistent point-to-point request is inactive again (its request is null, as its
            // immediate operation completed); a persistent collective stays Open MPI's.
            if !record.pointee.isPersistent { requestRecords.recycle(record) }
        }
        let r = record.pointee
        if r.freedWithAnother {
            record.pointee.freedWithAnother = false
            throw MPIError(
                .other, "Open MPI freed this request while reporting another request's error from MPI_Waitany; its own outcome is unknown")
        }
        if let kind = r.collective {
            try check(code, call, "a persistent \(kind) of \(r.count) \(r.type) elements")
            return OpenMPIBackend.sendStatus
        }
        if r.isFile {
            try check(code, call, "an immediate file access of \(r.count) \(r.type) elements")
            return Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: try elementCount(&status, cmpi_byte()) ?? 0)
        }
        if r.isSend {
            try check(code, call, sendContext(count: r.count, type: r.type, dest: r.peer, tag: r.tag))
            return OpenMPIBackend.sendStatus
        }
        try check(code, call, receiveContext(code: code, status: &status, count: r.count, type: r.type, source: r.peer, tag: r.tag))
        var cancelled: Int32 = 0
        if r.cancelRequested {
            record.pointee.cancelRequested = false
            try check(MPI_Test_cancelled(&status, &cancelled), "MPI_Test_cancelled")
        }
        if cancelled != 0 {
            var result = Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0)
            result.isCancelled = true
            return result
        }
        return try makeStatus(&status, countingIn: r.type.builtin.mpi, type: r.type)
    }

    // MARK: Cancelling and releasing

    /// Cancels a pending receive (`MPI_Cancel`). Sends are not cancelled: MPI-4.1 deprecates
    /// cancelling them, and the shared-memory backend cannot.
    package func cancel(_ request: RequestHandle) throws(MPIError) {
        // Calling MPI after MPI_Finalize is erroneous (Open MPI may crash): throw instead.
        guard isActive else { throw MPIError.finalized() }
        guard let record = request.record, !record.pointee.isSend else { return }
        record.pointee.cancelRequested = true
        try check(MPI_Cancel(&record.pointee.request), "MPI_Cancel")
    }

    package func release(_ request: RequestHandle) {
        guard let record = request.record, record.pointee.isPersistent else { return }
        // A persistent request kept until after `MPI_Finalize` (a request list that outlives
        // `Environment.finalize()`) was freed by the finalize itself: MPI forbids the call now.
        var finalized: Int32 = 0
        _ = MPI_Finalized(&finalized)
        if finalized == 0 {
            // Called from a deinit, which cannot throw; a failed free leaks one request.
            if record.pointee.request != cmpi_request_null() {
                try? check(MPI_Request_free(&record.pointee.request), "MPI_Request_free")
            }
            if record.pointee.anchor != nil && record.pointee.anchor != cmpi_request_null() {
                try? check(MPI_Request_free(&record.pointee.anchor), "MPI_Request_free")
            }
        }
        record.pointee.wire?.release()
        requestRecords.recycle(record)
    }
}
#endif
