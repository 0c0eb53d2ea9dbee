import MPICore

// Collective operations on the shared-memory backend: each one is a schedule of point-to-point
// steps on the communicator's collective context (see `CollectiveSchedule+Plan.swift` for the
// algorithms). A blocking call runs its schedule to completion; a nonblocking one hands it to the
// engine, whose every progress moves it on, and `test`/`wait` complete it.

extension SharedMemoryBackend {
    package func collective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError) {
        try run(operation, comm: comm)
    }

    private func run(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError) {
        if operation.type.isComposite {
            let (staged, staging) = try stage(operation, comm: comm)
            do {
                try run(staged, comm: comm)
            } catch {
                staging?.free()
                throw error
            }
            staging?.finish()
            return
        }
        lockEngine()
        defer { unlockEngine() }
        let schedule = try makeSchedule(operation, comm: comm)
        try engine.pointee.run(schedule)
    }

    package func immediateCollective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError)
        -> (request: RequestHandle, resources: AnyObject?)
    {
        var operation = operation
        var staging: CollectiveStaging?
        if operation.type.isComposite { (operation, staging) = try stage(operation, comm: comm) }
        lockEngine()
        defer { unlockEngine() }
        let schedule: CollectiveSchedule
        do {
            schedule = try makeSchedule(operation, comm: comm)
        } catch {
            staging?.free()
            throw error
        }
        engine.pointee.start(schedule)
        if let staging { engine.pointee.stagedCollectives[schedule.id] = staging }
        return (collectiveRequest(schedule.id), nil)
    }

    /// The schedule of `operation`, numbered as the communicator's next collective.
    private func makeSchedule(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError) -> CollectiveSchedule {
        let index = Int(comm.raw)
        guard index < engine.pointee.communicators.count, engine.pointee.communicators[index] != nil else {
            _ = try info(comm)
            throw MPIError(.communicator, "communicator \(comm.raw) is not valid")
        }
        return engine.pointee.makeSchedule(operation, communicator: index)
    }
}

extension SharedMemoryBackend {
    /// The tag of all-to-all-w traffic on a communicator's collective context (the internal
    /// collectives' small tags, below every schedule's range).
    static let allToAllwTag = 3

    /// `MPI_Alltoallw` over the engine's point-to-point on the communicator's collective context:
    /// every receive posted first, then the sends in rotated order (rank + 1, rank + 2, …), then
    /// the receives completed; each block moves with its own datatype. Ranks call collectives in
    /// the same order, and messages between two ranks do not overtake, so consecutive calls
    /// cannot mix.
    package func allToAllw(
        _ send: UnsafeRawPointer?, _ sendBlocks: [TypedBlock],
        into receive: UnsafeMutableRawPointer?, _ receiveBlocks: [TypedBlock], comm: CommHandle
    ) throws(MPIError) {
        lockEngine()
        defer { unlockEngine() }
        let info = try info(comm)
        let context = info.context + 1
        let size = info.members.count
        var posted: [Int] = []
        posted.reserveCapacity(size)
        for peer in 0..<size {
            let block = receiveBlocks[peer]
            posted.append(engine.pointee.postReceive(
                into: receive.map { $0 + block.byteOffset }, capacity: try byteCount(block.count, block.type), from: info.members[peer],
                context: context, tag: Self.allToAllwTag, communicator: 0, layout: block.type.layout))
        }
        for step in 1...size {
            let peer = (info.rank + step) % size
            let block = sendBlocks[peer]
            try engine.pointee.send(send.map { $0 + block.byteOffset }, count: try byteCount(block.count, block.type),
                to: info.members[peer], context: context, tag: Self.allToAllwTag, synchronous: false, layout: block.type.layout)
        }
        var failure: MPIError?
        for peer in 0..<size {
            do throws(MPIError) {
                let status = try status(of: engine.pointee.completeReceive(posted[peer]), rankOfWorld: info.rankOfWorld, type: receiveBlocks[peer].type)
                let expected = receiveBlocks[peer].count * receiveBlocks[peer].type.size
                if status.byteCount != expected && failure == nil {
                    failure = MPIError(.count, "allToAllw: rank \(peer) sent \(status.byteCount) bytes where this rank's block for it holds \(expected)")
                }
            } catch {
                if failure == nil { failure = error }
            }
        }
        if let failure { throw failure }
    }
}

