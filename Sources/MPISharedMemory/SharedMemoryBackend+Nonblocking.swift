import MPICore

/// Request handles: the engine's operation id shifted left three bits, with the kind below.
private enum RequestKind: UInt {
    case receive = 0, send = 1, persistent = 2, completedAtOnce = 3, collective = 4, persistentCollective = 5
}

extension SharedMemoryBackend {
    @inline(__always)
    private func handle(_ id: Int, _ kind: RequestKind) -> RequestHandle {
        RequestHandle(raw: UInt(id) << 3 | kind.rawValue)
    }

    @inline(__always)
    private func decode(_ request: RequestHandle) -> (id: Int, kind: RequestKind) {
        (Int(request.raw >> 3), RequestKind(rawValue: request.raw & 7)!)
    }

    /// The request handle of nonblocking collective `id`.
    func collectiveRequest(_ id: Int) -> RequestHandle { handle(id, .collective) }

    /// The request handle of persistent collective `id`.
    func persistentCollectiveRequest(_ id: Int) -> RequestHandle { handle(id, .persistentCollective) }

    /// The request handle of posted receive `id`.
    func receiveRequest(_ id: Int) -> RequestHandle { handle(id, .receive) }

    /// The status MPI gives a completed send: empty, source and tag undefined.
    private static let sendStatus = Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0)

    package func immediateSend(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) -> RequestHandle {
        lockEngine()
        defer { unlockEngine() }
        let bytes = try byteCount(count, type)
        let info = try info(comm)
        if mode == .buffered {
            try bufferedSend(buffer, count: count, type: type, to: info.members[dest], context: info.context, tag: tag)
            return handle(0, .completedAtOnce)
        }
        if (mode == .standard || mode == .ready) && engine.pointee.sendEagerIfRoom(
            buffer, count: bytes, to: info.members[dest], context: info.context, tag: tag, layout: type.layout)
        {
            return handle(0, .completedAtOnce)
        }
        let id = try engine.pointee.startSend(
            buffer, count: bytes, to: info.members[dest], context: info.context, tag: tag,
            synchronous: mode == .synchronous, layout: type.layout)
        if let index = engine.pointee.sendIndex(id), engine.pointee.sendDone(index) {
            _ = engine.pointee.pendingSends.remove(at: index)
            return handle(0, .completedAtOnce)
        }
        return handle(id, .send)
    }

    package func immediateReceive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> RequestHandle {
        lockEngine()
        defer { unlockEngine() }
        let id = try postReceive(
            into: buffer, count: count, type: type, from: source, tag: tag, in: try info(comm), communicator: Int(comm.raw))
        return handle(id, .receive)
    }

    package func persistentSend(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) -> RequestHandle {
        lockEngine()
        defer { unlockEngine() }
        let info = try info(comm)
        var request = try PersistentRequest(
            id: 0, isSend: true, buffer: UnsafeMutableRawPointer(mutating: buffer), count: byteCount(count, type),
            peer: info.members[dest], context: info.context, tag: tag, synchronous: mode == .synchronous)
        request.layout = type.layout
        if mode == .buffered { request.buffered = (count, type) }
        return persistent(request)
    }

    package func persistentReceive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> RequestHandle {
        lockEngine()
        defer { unlockEngine() }
        let info = try info(comm)
        var request = try PersistentRequest(
            id: 0, isSend: false, buffer: buffer, count: byteCount(count, type),
            peer: source < 0 ? -1 : info.members[source], context: info.context, tag: tag, synchronous: false)
        request.communicator = Int(comm.raw)
        request.layout = type.layout
        return persistent(request)
    }

    private func persistent(_ request: PersistentRequest) -> RequestHandle {
        let id = engine.pointee.persistents.count == 0 ? 1 : engine.pointee.persistents[engine.pointee.persistents.count - 1].id + 1
        var request = request
        request.id = id
        engine.pointee.persistents.append(request)
        return handle(id, .persistent)
    }

    private func persistentIndex(_ id: Int) throws(MPIError) -> Int {
        guard let index = engine.pointee.persistents.firstIndex(where: { $0.id == id }) else {
            throw MPIError(.request, "persistent request \(id) does not exist (already released?)")
        }
        return index
    }

    package func start(_ request: RequestHandle) throws(MPIError) {
        lockEngine()
        defer { unlockEngine() }
        guard engine.pointee.active else { throw MPIError.finalized() }
        let (id, kind) = decode(request)
        if kind == .persistentCollective { return try startPersistentCollective(id) }
        guard kind == .persistent else { throw MPIError(.request, "only persistent requests can be started") }
        let index = try persistentIndex(id)
        let p = engine.pointee.persistents[index]
        guard p.current == nil else { throw MPIError(.request, "persistent request started while still active") }
        let current: RequestHandle
        if let (count, type) = p.buffered {
            // Each start copies the message into the attached space and is complete at once.
            try bufferedSend(p.buffer, count: count, type: type, to: p.peer, context: p.context, tag: p.tag)
            current = handle(0, .completedAtOnce)
        } else if p.isSend {
            let operation = try engine.pointee.startSend(
                p.buffer, count: p.count, to: p.peer, context: p.context, tag: p.tag, synchronous: p.synchronous,
                layout: p.layout)
            current = handle(operation, .send)
        } else {
            let operation = engine.pointee.postReceive(
                into: p.buffer, capacity: p.count, from: p.peer, context: p.context, tag: p.tag,
                communicator: p.communicator, layout: p.layout)
            current = handle(operation, .receive)
        }
        engine.pointee.persistents[index].current = Int(current.raw)
    }

    package func release(_ request: RequestHandle) {
        lockEngine()
        defer { unlockEngine() }
        let (id, kind) = decode(request)
        if kind == .persistentCollective {
            guard let collective = try? persistentCollective(id) else { return }
            if collective.current != nil && isActive { _ = try? waitInside(request) }
            engine.pointee.persistentCollectives.removeValue(forKey: id)
            return
        }
        guard kind == .persistent, let index = try? persistentIndex(id) else { return }
        // After finalize nothing moves any more: an active request is dropped, not waited for.
        if engine.pointee.persistents[index].current != nil && isActive { _ = try? waitInside(request) }
        _ = engine.pointee.persistents.remove(at: index)
    }

    /// Completes `request` if it is done, without progressing.
    private func complete(_ request: RequestHandle) throws(MPIError) -> Status? {
        let (id, kind) = decode(request)
        switch kind {
        case .completedAtOnce:
            return SharedMemoryBackend.sendStatus
        case .send:
            guard let index = engine.pointee.sendIndex(id) else {
                throw MPIError(.request, "request \(id) is not pending (completed already?)")
            }
            guard engine.pointee.sendDone(index) else { return nil }
            try engine.pointee.retireSend(at: index)
            return SharedMemoryBackend.sendStatus
        case .receive:
            guard let index = engine.pointee.receiveIndex(id) else {
                throw MPIError(.request, "request \(id) is not pending (completed already?)")
            }
            guard engine.pointee.posted[index].done else { return nil }
            let receive = engine.pointee.removePosted(at: index)
            return try status(of: receive)
        case .collective:
            if engine.pointee.stagedCollectives.isEmpty {
                return try engine.pointee.finishCollective(id) ? SharedMemoryBackend.sendStatus : nil
            }
            let done: Bool
            do {
                done = try engine.pointee.finishCollective(id)
            } catch {
                engine.pointee.stagedCollectives.removeValue(forKey: id)?.free()
                throw error
            }
            guard done else { return nil }
            engine.pointee.stagedCollectives.removeValue(forKey: id)?.finish()
            return SharedMemoryBackend.sendStatus
        case .persistent:
            let index = try persistentIndex(id)
            guard let current = engine.pointee.persistents[index].current else {
                return Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0)
            }
            return try completeActivation(RequestHandle(raw: UInt(current))) { engine.pointee.persistents[index].current = nil }
        case .persistentCollective:
            let collective = try persistentCollective(id)
            guard let current = collective.current else { return SharedMemoryBackend.sendStatus }
            return try completeActivation(handle(current, .collective)) { collective.current = nil }
        }
    }

    /// Completes `activation`, the running operation of a persistent request, if it is done;
    /// `makeInactive` runs once it is over. A failed activation is over as well: the request
    /// becomes inactive and can start again.
    private func completeActivation(_ activation: RequestHandle, makeInactive: () -> Void) throws(MPIError) -> Status? {
        let status: Status?
        do {
            status = try complete(activation)
        } catch {
            makeInactive()
            throw error
        }
        if status != nil { makeInactive() }
        return status
    }

    /// Whether `request` is done, without completing it or progressing.
    private func isDone(_ request: RequestHandle) throws(MPIError) -> Bool {
        let (id, kind) = decode(request)
        switch kind {
        case .completedAtOnce:
            return true
        case .send:
            guard let index = engine.pointee.sendIndex(id) else {
                throw MPIError(.request, "request \(id) is not pending (completed already?)")
            }
            return engine.pointee.sendDone(index)
        case .receive:
            guard let index = engine.pointee.receiveIndex(id) else {
                throw MPIError(.request, "request \(id) is not pending (completed already?)")
            }
            return engine.pointee.posted[index].done
        case .collective:
            return try engine.pointee.isCollectiveDone(id)
        case .persistent:
            guard let current = engine.pointee.persistents[try persistentIndex(id)].current else { return true }
            return try isDone(RequestHandle(raw: UInt(current)))
        case .persistentCollective:
            guard let current = try persistentCollective(id).current else { return true }
            return try engine.pointee.isCollectiveDone(current)
        }
    }

    package func isComplete(_ request: RequestHandle) throws(MPIError) -> Bool {
        lockEngine()
        defer { unlockEngine() }
        guard engine.pointee.active else { throw MPIError.finalized() }
        if try isDone(request) { return true }
        _ = try engine.pointee.progress()
        return try isDone(request)
    }

    package func test(_ request: RequestHandle) throws(MPIError) -> Status? {
        lockEngine()
        defer { unlockEngine() }
        guard engine.pointee.active else { throw MPIError.finalized() }
        if let status = try complete(request) { return status }
        _ = try engine.pointee.progress()
        return try complete(request)
    }

    package func wait(_ request: RequestHandle) throws(MPIError) -> Status {
        lockEngine()
        defer { unlockEngine() }
        // After finalize no request can complete: say so instead of waiting forever.
        guard engine.pointee.active else { throw MPIError.finalized() }
        return try waitInside(request)
    }

    private func waitInside(_ request: RequestHandle) throws(MPIError) -> Status {
        do {
            var result: Status?
            var failure: MPIError?
            let (id, kind) = decode(request)
            let call: BlockedCall = kind == .receive ? .receive(id) : kind == .send ? .send(id) : .requests(count: 1)
            try engine.pointee.wait(for: call) { engine in
                do throws(MPIError) {
                    result = try self.complete(request)
                } catch {
                    failure = error
                }
                return result != nil || failure != nil
            }
            if let failure { throw failure }
            return result!
        }
    }

    package func waitAll(
        _ requests: UnsafeBufferPointer<RequestHandle?>, statuses: UnsafeMutableBufferPointer<Status?>
    ) throws(MPIError) -> (index: Int, error: MPIError)? {
        lockEngine()
        defer { unlockEngine() }
        guard engine.pointee.active else { throw MPIError.finalized() }
        // Most are done by now (an eager send, a receive that matched while others were waited
        // for): only the rest enter the waiting loop.
        return completeEachPending(requests, statuses) { (request) throws(MPIError) in
            if let status = try complete(request) { return status }
            return try waitInside(request)
        }
    }

    package func testSome(
        _ requests: UnsafeBufferPointer<RequestHandle?>, statuses: UnsafeMutableBufferPointer<Status?>
    ) throws(MPIError) -> (index: Int, error: MPIError)? {
        lockEngine()
        defer { unlockEngine() }
        guard engine.pointee.active else { throw MPIError.finalized() }
        _ = try engine.pointee.progress()
        return completeEachPending(requests, statuses) { (request) throws(MPIError) in try complete(request) }
    }

    package func waitAny(
        _ requests: UnsafeBufferPointer<RequestHandle?>, statuses: UnsafeBufferPointer<Status?>
    ) throws(MPIError) -> (index: Int, outcome: Result<Status, MPIError>) {
        lockEngine()
        defer { unlockEngine() }
        guard engine.pointee.active else { throw MPIError.finalized() }
        let pending = statuses.count { $0 == nil }
        guard pending > 0 else { throw MPIError(.request, "waiting for any of \(requests.count) requests, none of which is pending") }
        var result: (index: Int, outcome: Result<Status, MPIError>)?
        try engine.pointee.wait(for: .requests(count: pending)) { engine in
            for index in requests.indices where statuses[index] == nil {
                do throws(MPIError) {
                    if let status = try self.complete(requests[index].unsafelyUnwrapped) {
                        result = (index, .success(status))
                        return true
                    }
                } catch {
                    result = (index, .failure(error))
                    return true
                }
            }
            return false
        }
        return result!
    }

    package func cancel(_ request: RequestHandle) throws(MPIError) {
        lockEngine()
        defer { unlockEngine() }
        guard engine.pointee.active else { throw MPIError.finalized() }
        var (id, kind) = decode(request)
        if kind == .persistent {
            guard let current = engine.pointee.persistents[try persistentIndex(id)].current else { return }
            (id, kind) = decode(RequestHandle(raw: UInt(current)))
        }
        if kind == .receive { engine.pointee.cancelReceive(id) }
    }
}
