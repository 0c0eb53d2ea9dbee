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

