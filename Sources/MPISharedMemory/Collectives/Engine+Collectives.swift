import MPICore

// Running collective schedules on the engine. A schedule never waits inside the engine: its
// sends are written at once or queued, its receives are posted, and it is moved on by whoever
// waits (a blocking collective waiting for itself, or any wait, through `progress()`, for the
// nonblocking ones).

extension Engine {
    /// A schedule for `operation` on communicator `index` (valid), numbered as the communicator's
    /// next collective (every rank numbers them alike, so their tags match).
    mutating func makeSchedule(_ operation: CollectiveFields, communicator index: Int) -> CollectiveSchedule {
        // Bit 30 keeps these tags clear of the small ones the communicator helpers use (and of
        // `createGroup`'s, bit 29 alone); bit 29 clear keeps them clear of persistent ones.
        makeSchedule(operation, communicator: index, tagBase: 1 << 30 | (nextCollectiveSequence(index) & 0x1_FFFF) << 12)
    }

    /// The tag base of a persistent collective made now on communicator `index`: numbered in
    /// the communicator's collective order (every rank makes them in that order), with bits 30
    /// and 29 set, so its messages match only its own, in whatever order the ranks start it.
    mutating func persistentTagBase(communicator index: Int) -> Int {
        1 << 30 | 1 << 29 | (nextCollectiveSequence(index) & 0x1_FFFF) << 12
    }

    private mutating func nextCollectiveSequence(_ index: Int) -> Int {
        let sequence = communicators[index]!.collectiveSequence
        communicators[index]!.collectiveSequence = sequence &+ 1
        return sequence
    }

    /// A schedule for `operation` on communicator `index` (valid) whose messages carry tags from
    /// `tagBase`. A `persistent` schedule is the plan of a persistent collective: made afresh,
    /// run again at each start (`CollectiveSchedule.restart`), never recycled.
    mutating func makeSchedule(
        _ operation: CollectiveFields, communicator index: Int, tagBase: Int, persistent: Bool = false
    ) -> CollectiveSchedule {
        let schedule = persistent ? CollectiveSchedule() : spareSchedules.popLast() ?? CollectiveSchedule()
        let id = takeID()
        schedule.isPersistent = persistent
        schedule.reset(
            id: id, context: communicators[index]!.context + 1, tagBase: tagBase, members: communicators[index]!.members,
            rank: communicators[index]!.rank, crossMemory: useCrossMemory, operation: operation)
        schedule.plan(operation)
        return schedule
    }

    /// Runs `schedule` to completion (a blocking collective).
    mutating func run(_ schedule: CollectiveSchedule) throws(MPIError) {
        advance(schedule)
        // A schedule can only move after the engine did something, so it is advanced only then.
        var backoff = backoffTemplate
        while !schedule.done {
            if try progress() {
                backoff.reset()
                advance(schedule)
            } else {
                try idle(&backoff, in: .collective(Unmanaged.passUnretained(schedule)))
                // Receives that finalized ranks left hopeless fail without any progress.
                if finalizedCount > 0 { advance(schedule) }
            }
        }
        let failure = schedule.failure
        recycle(schedule)
        if let failure { throw failure }
    }

    /// Starts `schedule` as a nonblocking collective; `finishCollective` completes it.
    mutating func start(_ schedule: CollectiveSchedule) {
        collectives.append(schedule)
        advance(schedule)
    }

    /// Completes nonblocking collective `id` if it is done: `true`, or throws its error; `false`
    /// while it is still running.
    /// Whether nonblocking collective `id` is done, leaving it pending.
    func isCollectiveDone(_ id: Int) throws(MPIError) -> Bool {
        guard let schedule = collectives.first(where: { $0.id == id }) else {
            throw MPIError(.request, "collective request \(id) is not pending (completed already?)")
        }
        return schedule.done
    }

    mutating func finishCollective(_ id: Int) throws(MPIError) -> Bool {
        guard let index = collectives.firstIndex(where: { $0.id == id }) else {
            throw MPIError(.request, "collective request \(id) is not pending (completed already?)")
        }
        let schedule = collectives[index]
        guard schedule.done else { return false }
        collectives.remove(at: index)
        let failure = schedule.failure
        recycle(schedule)
        if let failure { throw failure }
        return true
    }

    private mutating func recycle(_ schedule: CollectiveSchedule) {
        // A schedule that failed mid-round may still have receives posted into its scratch
        // memory: it is never reused.
        if !schedule.abandoned && !schedule.isPersistent && spareSchedules.count < 4 { spareSchedules.append(schedule) }
    }

    /// Advances every nonblocking collective; returns whether any moved.
    mutating func advanceCollectives() -> Bool {
        var moved = false
        for schedule in collectives where !schedule.done {
            if advance(schedule) { moved = true }
        }
        return moved
    }

    /// Moves `schedule` on as far as it can without waiting; returns whether a round completed
    /// (or the schedule ended).
    @discardableResult
    mutating func advance(_ schedule: CollectiveSchedule) -> Bool {
        var moved = false
        do throws(MPIError) {
            while !schedule.done {
                if schedule.roundOpen {
                    guard try roundComplete(schedule) else { return moved }
                    schedule.roundOpen = false
                    moved = true
                }
                while schedule.position < schedule.steps.count && !schedule.steps[schedule.position].communicates {
                    runLocal(schedule.steps[schedule.position], in: schedule)
                    schedule.position += 1
                    if schedule.done { return true }
                }
                if schedule.position == schedule.steps.count {
                    schedule.done = true
                    return true
                }
                while schedule.position < schedule.steps.count && schedule.steps[schedule.position].communicates {
                    try start(schedule.steps[schedule.position], in: schedule)
                    schedule.position += 1
                }
                schedule.roundOpen = true
            }
        } catch {
            schedule.failure = error
            schedule.abandoned = true
            schedule.done = true
        }
        return true
    }

    @inline(__always)
    private mutating func start(_ step: CollectiveStep, in schedule: CollectiveSchedule) throws(MPIError) {
        switch step {
        case .send(let buffer, let bytes, let world, let message):
            if let id = try sendWithoutWaiting(
                buffer, count: bytes, to: world, context: schedule.context, tag: schedule.tagBase + message)
            {
                schedule.sends.append(id)
            }
        case .receive(let buffer, let bytes, let peer, let world, let message, let exact):
            let id = postReceive(into: buffer, capacity: bytes, from: world, context: schedule.context, tag: schedule.tagBase + message)
            schedule.receives.append(PendingCollectiveReceive(id: id, bytes: bytes, exact: exact, peer: peer))
        case .copyDuringRound(let source, let destination, let bytes):
            destination.copyMemory(from: source, byteCount: bytes)
        default:
            break
        }
    }

    /// Retires what has completed of the round; returns whether everything has.
    private mutating func roundComplete(_ schedule: CollectiveSchedule) throws(MPIError) -> Bool {
        var index = 0
        while index < schedule.sends.count {
            if let at = sendIndex(schedule.sends[index]) {
                guard sendDone(at) else {
                    index += 1
                    continue
                }
                try retireSend(at: at)
            }
            _ = schedule.sends.remove(at: index)
        }
        index = 0
        while index < schedule.receives.count {
            let pending = schedule.receives[index]
            if let at = receiveIndex(pending.id) {
                guard posted[at].done else {
                    index += 1
                    continue
                }
                let received = removePosted(at: at)
                if case .peersFinalized = received.failure { throw finalizedError(for: received) }
                if case .copyFailed(let error, let bytes) = received.failure {
                    throw MPIError(.other, "single-copy read of \(bytes) bytes from rank \(pending.peer) failed in a collective (errno \(error))")
                }
                if pending.exact && received.total != pending.bytes {
                    schedule.sizeMismatch(from: pending.peer, expected: pending.bytes, received: received.total)
                }
            }
            _ = schedule.receives.remove(at: index)
        }
        return schedule.sends.isEmpty && schedule.receives.isEmpty
    }

    @inline(__always)
    private func runLocal(_ step: CollectiveStep, in schedule: CollectiveSchedule) {
        switch step {
        case .copy(let source, let destination, let bytes):
            destination.copyMemory(from: source, byteCount: bytes)
        case .reduce(let input, let output, let count):
            schedule.kernel!(input, output, count)
        case .compare(let received, let peer):
            schedule.merge(received, from: peer)
        case .checkpoint:
            schedule.stopIfMismatched()
        case .pull(let slot, let offset, let destination, let bytes, let world, let status):
            let address = slot.loadUnaligned(as: UInt.self) + UInt(offset)
            if CrossMemory.read(from: peerPids[world], remote: address, into: destination, count: bytes) != 0 { status.pointee = 1 }
        case .push(let source, let slot, let offset, let bytes, let world, let status):
            let address = slot.loadUnaligned(as: UInt.self) + UInt(offset)
            if CrossMemory.write(to: peerPids[world], remote: address, from: source, count: bytes) != 0 { status.pointee = 1 }
        case .checkStatus(let status, let peer):
            if status.load(as: UInt8.self) != 0 && schedule.failure == nil {
                schedule.failure = MPIError(.other, "a single-copy transfer between this rank and rank \(peer) failed in a collective")
                schedule.done = true
            }
        case .send, .receive, .copyDuringRound, .endRound:
            break
        }
    }
}
