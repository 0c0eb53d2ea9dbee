import MPICore

// The rest of `Backend` for the recording backend: nonblocking operations complete at once and
// collectives record what reached them.
extension RecordingBackend {
    func immediateSend(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) -> RequestHandle {
        calls.append("immediateSend \(count) \(type) to \(dest) tag \(tag)")
        return RequestHandle(raw: 1)
    }

    func immediateReceive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> RequestHandle {
        calls.append("immediateReceive \(count) \(type) from \(source) tag \(tag)")
        return RequestHandle(raw: 1)
    }

    func persistentSend(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) -> RequestHandle { RequestHandle(raw: 1) }

    func persistentReceive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> RequestHandle { RequestHandle(raw: 1) }

    func start(_ request: RequestHandle) throws(MPIError) {}

    func test(_ request: RequestHandle) throws(MPIError) -> Status? { try wait(request) }

    func wait(_ request: RequestHandle) throws(MPIError) -> Status {
        Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0)
    }

    func waitAny(_ requests: UnsafeBufferPointer<RequestHandle>) throws(MPIError) -> (index: Int, status: Status) {
        (0, try wait(requests[0]))
    }

    func cancel(_ request: RequestHandle) throws(MPIError) {}
    func release(_ request: RequestHandle) {}

    func collective(_ operation: Collective, comm: CommHandle) throws(MPIError) {
        calls.append(describe(operation))
    }

    func immediateCollective(_ operation: Collective, comm: CommHandle) throws(MPIError)
        -> (request: RequestHandle, resources: AnyObject?)
    {
        calls.append("immediate " + describe(operation))
        return (RequestHandle(raw: 1), nil)
    }

    private func describe(_ operation: Collective) -> String {
        var text = "\(operation.kind) \(operation.count) \(operation.type)"
        if operation.kind.isRooted { text += " root \(operation.root)" }
        if operation.inPlace { text += " in place" }
        if !operation.receiveCounts.isEmpty { text += " counts \(Array(operation.receiveCounts))" }
        if !operation.receiveDisplacements.isEmpty { text += " displacements \(Array(operation.receiveDisplacements))" }
        if !operation.sendCounts.isEmpty { text += " send counts \(Array(operation.sendCounts))" }
        return text
    }
}
