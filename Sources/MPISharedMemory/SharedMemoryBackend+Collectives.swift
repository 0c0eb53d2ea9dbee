import MPICore

// Collective operations on the shared-memory backend: each one is a schedule of point-to-point
// steps on the communicator's collective context (see `CollectiveSchedule+Plan.swift` for the
// algorithms). A blocking call runs its schedule to completion; a nonblocking one hands it to the
// engine, whose every progress moves it on, and `test`/`wait` complete it.

extension SharedMemoryBackend {
    package func collective(_ operation: Collective, comm: CommHandle) throws(MPIError) {
        lockEngine()
        defer { unlockEngine() }
        let schedule = try makeSchedule(operation, comm: comm)
        try engine.pointee.run(schedule)
    }

    package func immediateCollective(_ operation: Collective, comm: CommHandle) throws(MPIError)
        -> (request: RequestHandle, resources: AnyObject?)
    {
        lockEngine()
        defer { unlockEngine() }
        let schedule = try makeSchedule(operation, comm: comm)
        engine.pointee.start(schedule)
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
