import MPICore

// Collective operations on the shared-memory backend: each one is a schedule of point-to-point
// steps on the communicator's collective context (see `CollectiveSchedule+Plan.swift` for the
// algorithms). A blocking call runs its schedule to completion; a nonblocking one hands it to the
// engine, whose every progress moves it on, and `test`/`wait` complete it.

extension SharedMemoryBackend {
    package func collective(_ operation: Collective, comm: CommHandle) throws(MPIError) {
        let operation = operation.rootDataInReceive
        if operation.type.isComposite {
            let (staged, staging) = try stage(operation, comm: comm)
            do {
                try collective(staged, comm: comm)
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

    package func immediateCollective(_ operation: Collective, comm: CommHandle) throws(MPIError)
        -> (request: RequestHandle, resources: AnyObject?)
    {
        var operation = operation.rootDataInReceive
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
    private func makeSchedule(_ operation: Collective, comm: CommHandle) throws(MPIError) -> CollectiveSchedule {
        let index = Int(comm.raw)
        guard index < engine.pointee.communicators.count, engine.pointee.communicators[index] != nil else {
            _ = try info(comm)
            throw MPIError(.communicator, "communicator \(comm.raw) is not valid")
        }
        return engine.pointee.makeSchedule(operation, communicator: index)
    }
}

extension Collective {
    /// The operation with a broadcast root's data (which the front end passes read-only, in
    /// `send`) where the schedules look for it, in `receive`: the root's buffer is only ever read.
    var rootDataInReceive: Collective {
        guard kind == .broadcast, receive == nil, let send else { return self }
        var operation = self
        operation.receive = UnsafeMutableRawPointer(mutating: send)
        operation.send = nil
        return operation
    }
}
