import MPICore

// Persistent collectives (MPI-4.1 §6.13) on the shared-memory backend. Making one is local: it
// takes the communicator's next collective number (every rank makes its persistent collectives in
// the same order as its other collectives), which gives the request a tag range of its own, so its
// messages match only its own whatever order the ranks start their requests in. An operation on
// built-in or dense element types is planned once, when it is made — steps, scratch memory and
// peers' roles — and each start runs that plan again (`CollectiveSchedule.restart`): a start costs
// no planning. An operation on a datatype with gaps moves through staging buffers, which are
// filled from the caller's memory at each start, so it is planned at each start, on the same tags.

/// A persistent collective: its operation (with its own copy of the counts), its tags and plan,
/// and the activation in progress.
final class PersistentCollective {
    /// The communicator's table index.
    let communicator: Int
    let tagBase: Int
    let operation: CollectiveFields
    /// The copies of the counts and displacements `operation` points to.
    private let counts: UnsafeMutableBufferPointer<Int>
    /// The plan every start runs (`nil`: planned at each start, through staging).
    var planned: CollectiveSchedule?
    /// The schedule id of the running activation.
    var current: Int?

    init(_ operation: CollectiveFields, communicator: Int, tagBase: Int) {
        self.communicator = communicator
        self.tagBase = tagBase
        let arrays = [operation.sendCounts, operation.sendDisplacements, operation.receiveCounts, operation.receiveDisplacements]
        counts = .allocate(capacity: arrays.reduce(0) { $0 + $1.count })
        var copies: [UnsafeBufferPointer<Int>] = []
        var offset = 0
        for array in arrays {
            let copy = UnsafeMutableBufferPointer(rebasing: counts[offset..<offset + array.count])
            _ = copy.initialize(from: array)
            copies.append(UnsafeBufferPointer(copy))
            offset += array.count
        }
        var owned = operation
        owned.sendCounts = copies[0]
        owned.sendDisplacements = copies[1]
        owned.receiveCounts = copies[2]
        owned.receiveDisplacements = copies[3]
        self.operation = owned
    }

    deinit { counts.deallocate() }
}

extension SharedMemoryBackend {
    package func persistentCollective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError)
        -> (request: RequestHandle, resources: AnyObject?)
    {
        // A dense datatype travels as bytes: the plan can be made once, on the caller's memory.
        var planned = operation
        let staged = operation.type.isComposite && !operation.type.isDense
        if operation.type.isComposite && !staged { planned = try stage(operation, comm: comm).0 }
        lockEngine()
        defer { unlockEngine() }
        guard engine.pointee.active else { throw MPIError.finalized() }
        let index = Int(comm.raw)
        _ = try info(comm)
        let request = PersistentCollective(planned, communicator: index, tagBase: engine.pointee.persistentTagBase(communicator: index))
        if !staged {
            request.planned = engine.pointee.makeSchedule(request.operation, communicator: index, tagBase: request.tagBase, persistent: true)
        }
        let id = engine.pointee.takeID()
        engine.pointee.persistentCollectives[id] = request
        return (persistentCollectiveRequest(id), nil)
    }

    /// Starts persistent collective `id` (the caller holds the engine).
    func startPersistentCollective(_ id: Int) throws(MPIError) {
        let request = try persistentCollective(id)
        guard request.current == nil else { throw MPIError(.request, "persistent collective started while still active") }
        if let plan = request.planned {
            guard !plan.abandoned else {
                throw MPIError(.request, "this persistent \(request.operation.kind) failed in the middle of a round and cannot be started again")
            }
            let run = engine.pointee.takeID()
            plan.restart(id: run)
            engine.pointee.start(plan)
            request.current = run
            return
        }
        // Staged: the caller's data is packed anew at each start. Staging takes the engine
        // itself, so it is let go meanwhile (a request is started by one thread at a time).
        unlockEngine()
        let staging: (CollectiveFields, CollectiveStaging?)
        do {
            staging = try stage(request.operation, comm: CommHandle(raw: UInt(request.communicator)))
        } catch {
            lockEngine()
            throw error
        }
        lockEngine()
        let index = request.communicator
        guard index < engine.pointee.communicators.count, engine.pointee.communicators[index] != nil else {
            staging.1?.free()
            throw MPIError(.communicator, "the communicator of this persistent \(request.operation.kind) was freed")
        }
        let schedule = engine.pointee.makeSchedule(staging.0, communicator: index, tagBase: request.tagBase)
        engine.pointee.start(schedule)
        if let staged = staging.1 { engine.pointee.stagedCollectives[schedule.id] = staged }
        request.current = schedule.id
    }

    func persistentCollective(_ id: Int) throws(MPIError) -> PersistentCollective {
        guard let request = engine.pointee.persistentCollectives[id] else {
            throw MPIError(.request, "persistent collective request \(id) does not exist (already released?)")
        }
        return request
    }
}
