import Synchronization

// Synchronization of one-sided communication (MPI-4.1 §12.5): fences, post/start/complete/wait
// (general active target), locks (passive target), flushes and sync, and the scoped forms that
// always close the epoch they open. The epoch bookkeeping is the front end's (`WindowEpochs`),
// so both backends accept and refuse the same calls.

extension Window {
    // MARK: Fence

    /// Ends the fence epoch before it (every operation of this rank in it is complete, at origin
    /// and target, on every rank) and opens the next one unless `assertions` holds `.noSucceed`
    /// (`MPI_Win_fence`). Collective over the window's group.
    public func fence(_ assertions: WindowAssertions = []) throws(MPIError) {
        try serially { () throws(MPIError) in
            try checkUsable("fence")
            if epochs.access != nil || epochs.exposure != nil || epochs.lockAll || !epochs.locks.isEmpty {
                throw MPIError(.rmaSync, "fence while \(epochs.openEpochs) is open")
            }
            try backend.fence(handle, assertions: assertions.rawValue)
            epochs.endLoans(target: nil)
            epochs.fence = !assertions.contains(.noSucceed)
            epochs.fenceOperations = false
        }
    }

    // MARK: General active target (post, start, complete, wait)

    /// Opens an exposure epoch for the `origins` (`MPI_Win_post`): each of them may access this
    /// rank's window between its ``start(_:_:)`` and ``complete()``; ``wait()`` ends the epoch.
    /// `origins` is a group of the job's processes, all in the window's group.
    public func post(_ origins: Group, _ assertions: WindowAssertions = []) throws(MPIError) {
        try post(ranks: try windowRanks(of: origins, "post"), assertions)
    }

    /// ``post(_:_:)`` with the origins given as ranks of the window's group.
    public func post(ranks origins: [Int], _ assertions: WindowAssertions = []) throws(MPIError) {
        try checkRanks(origins, "post")
        try serially { () throws(MPIError) in
            try checkUsable("post")
            if epochs.exposure != nil || (epochs.fence && epochs.fenceOperations) {
                throw MPIError(.rmaSync, "post while \(epochs.openEpochs) is open")
            }
            try backend.post(handle, origins: origins, assertions: assertions.rawValue)
            epochs.fence = false
            epochs.exposure = origins
        }
    }

    /// Opens an access epoch to the `targets` (`MPI_Win_start`), each of which posts an exposure
    /// epoch for this rank; operations to them may be issued until ``complete()``.
    public func start(_ targets: Group, _ assertions: WindowAssertions = []) throws(MPIError) {
        try start(ranks: try windowRanks(of: targets, "start"), assertions)
    }

    /// ``start(_:_:)`` with the targets given as ranks of the window's group.
    public func start(ranks targets: [Int], _ assertions: WindowAssertions = []) throws(MPIError) {
        try checkRanks(targets, "start")
        try serially { () throws(MPIError) in
            try epochs.checkOpening("start")
            try communicator.checkActive()
            try backend.start(handle, targets: targets, assertions: assertions.rawValue)
            epochs.access = targets
        }
    }

    /// Ends the access epoch of ``start(_:_:)`` (`MPI_Win_complete`): its operations are complete
    /// at the origin, and at the targets once their ``wait()`` returns.
    public func complete() throws(MPIError) {
        try serially { () throws(MPIError) in
            try checkUsable("complete")
            guard epochs.access != nil else { throw MPIError(.rmaSync, "complete without an access epoch opened by start") }
            try backend.complete(handle)
            epochs.endLoans(target: nil)
            epochs.access = nil
        }
    }

    /// Waits until every origin of the exposure epoch of ``post(_:_:)`` has called ``complete()``,
    /// and ends the epoch (`MPI_Win_wait`): their operations on this window are then complete.
    public func wait() throws(MPIError) {
        _ = try endExposure(blocking: true)
    }

    /// Whether every origin of the exposure epoch has completed; if so the epoch ends, as with
    /// ``wait()`` (`MPI_Win_test`).
    public func test() throws(MPIError) -> Bool {
        try endExposure(blocking: false)
    }

    private func endExposure(blocking: Bool) throws(MPIError) -> Bool {
        try serially { () throws(MPIError) -> Bool in
            let what: StaticString = blocking ? "wait" : "test"
            try checkUsable(what)
            guard epochs.exposure != nil else { throw MPIError(.rmaSync, "\(what) without an exposure epoch opened by post") }
            guard try backend.waitExposure(handle, blocking: blocking) else { return false }
            epochs.exposure = nil
            return true
        }
    }

    // MARK: Passive target (lock, unlock, lockAll, unlockAll)

    /// Opens a passive-target access epoch to `rank` (`MPI_Win_lock`): `.exclusive` (the default)
    /// keeps every other lock on that rank out until ``unlock(rank:)``, `.shared` admits other
    /// shared ones. The target takes no part. ``Communicator/nullProcess`` does nothing.
    public func lock(rank: Int, _ type: LockType = .exclusive, _ assertions: WindowAssertions = []) throws(MPIError) {
        if rank == Communicator.nullProcess { try checkUsable("lock"); return }
        try checkRank(rank, "lock")
        try serially { () throws(MPIError) in
            try checkUsable("lock")
            if epochs.access != nil || epochs.lockAll || epochs.locks[rank] != nil || (epochs.fence && epochs.fenceOperations) {
                throw MPIError(.rmaSync, "lock(rank: \(rank)) while \(epochs.openEpochs) is open")
            }
            try backend.lock(handle, target: rank, type: type, assertions: assertions.rawValue)
            epochs.fence = false
            epochs.locks[rank] = type
        }
    }

    /// Ends the passive-target epoch to `rank` (`MPI_Win_unlock`): its operations are complete at
    /// origin and target.
    public func unlock(rank: Int) throws(MPIError) {
        if rank == Communicator.nullProcess { try checkUsable("unlock"); return }
        try checkRank(rank, "unlock")
        try serially { () throws(MPIError) in
            try checkUsable("unlock")
            guard epochs.locks[rank] != nil else { throw MPIError(.rmaSync, "unlock(rank: \(rank)) without lock(rank: \(rank))") }
            try backend.unlock(handle, target: rank)
            epochs.endLoans(target: rank)
            epochs.locks[rank] = nil
        }
    }

    /// Opens a passive-target epoch to every rank with shared locks (`MPI_Win_lock_all`).
    public func lockAll(_ assertions: WindowAssertions = []) throws(MPIError) {
        try serially { () throws(MPIError) in
            try epochs.checkOpening("lockAll")
            try communicator.checkActive()
            try backend.lockAll(handle, assertions: assertions.rawValue)
            epochs.lockAll = true
        }
    }

    /// Ends the epoch of ``lockAll(_:)`` (`MPI_Win_unlock_all`).
    public func unlockAll() throws(MPIError) {
        try serially { () throws(MPIError) in
            try checkUsable("unlockAll")
            guard epochs.lockAll else { throw MPIError(.rmaSync, "unlockAll without lockAll") }
            try backend.unlockAll(handle)
            epochs.endLoans(target: nil)
            epochs.lockAll = false
        }
    }

    // MARK: Flush and sync

    /// Completes this rank's operations to `rank`, at origin and target, inside a passive-target
    /// epoch (`MPI_Win_flush`).
    public func flush(rank: Int) throws(MPIError) { try flush(rank, local: false) }

    /// Completes this rank's operations to every target (`MPI_Win_flush_all`).
    public func flushAll() throws(MPIError) { try flush(nil, local: false) }

    /// Completes this rank's operations to `rank` at the origin: their buffers may be reused, and
    /// gets' data is there (`MPI_Win_flush_local`).
    public func flushLocal(rank: Int) throws(MPIError) { try flush(rank, local: true) }

    /// ``flushLocal(rank:)`` for every target (`MPI_Win_flush_local_all`).
    public func flushLocalAll() throws(MPIError) { try flush(nil, local: true) }

    private func flush(_ target: Int?, local: Bool) throws(MPIError) {
        func what() -> String { (local ? "flushLocal" : "flush") + (target.map { "(rank: \($0))" } ?? "All") }
        if target == Communicator.nullProcess { try checkUsable("flush"); return }
        if let target { try checkRank(target, "flush") }
        try serially { () throws(MPIError) in
            try checkUsable("flush")
            let covered = target.map { epochs.passive($0) } ?? (epochs.lockAll || !epochs.locks.isEmpty)
            guard covered else {
                throw MPIError(.rmaSync, "\(what()) outside a passive-target epoch: flushes complete operations under lock(rank:) or lockAll()")
            }
            if direct != nil {
                atomicMemoryFence(ordering: .acquiringAndReleasing)
            } else {
                try backend.flush(handle, target: target, local: local)
            }
            epochs.endLoans(target: target)
        }
    }

    /// Makes this rank's public and private window copies agree (`MPI_Win_sync`): with a barrier
    /// or other synchronization, stores to a shared window become visible to the other ranks'
    /// loads, and theirs to this rank's.
    public func sync() throws(MPIError) {
        try serially { () throws(MPIError) in
            try checkUsable("sync")
            try backend.sync(handle)
        }
    }

    // MARK: Scoped epochs

    /// Runs `body` in a fence epoch: a fence with `assertions` opens it and `fence(.noSucceed)`
    /// closes it, also when `body` throws (the closing fence is collective, so every rank's body
    /// must return or throw).
    public func withFence<R>(_ assertions: WindowAssertions = [], _ body: () throws -> R) throws -> R {
        try fence(assertions.subtracting(.noSucceed))
        return try closing(body) { () throws(MPIError) in try fence(.noSucceed) }
    }

    /// Runs `body` under a lock on `rank` (``lock(rank:_:_:)``), unlocked afterwards, also when
    /// `body` throws.
    public func withLock<R>(rank: Int, _ type: LockType = .exclusive, _ assertions: WindowAssertions = [], _ body: () throws -> R) throws -> R {
        try lock(rank: rank, type, assertions)
        return try closing(body) { () throws(MPIError) in try unlock(rank: rank) }
    }

    /// Runs `body` under ``lockAll(_:)``, closed with ``unlockAll()``, also when `body` throws.
    public func withLockAll<R>(_ assertions: WindowAssertions = [], _ body: () throws -> R) throws -> R {
        try lockAll(assertions)
        return try closing(body) { () throws(MPIError) in try unlockAll() }
    }

    /// Runs `body` in an access epoch to `targets` (``start(ranks:_:)`` … ``complete()``).
    public func withAccess<R>(to targets: [Int], _ assertions: WindowAssertions = [], _ body: () throws -> R) throws -> R {
        try start(ranks: targets, assertions)
        return try closing(body) { () throws(MPIError) in try complete() }
    }

    /// Runs `body` in an exposure epoch for `origins` (``post(ranks:_:)`` … ``wait()``).
    public func withExposure<R>(to origins: [Int], _ assertions: WindowAssertions = [], _ body: () throws -> R) throws -> R {
        try post(ranks: origins, assertions)
        return try closing(body) { () throws(MPIError) in try wait() }
    }

    private func closing<R>(_ body: () throws -> R, _ close: () throws(MPIError) -> Void) throws -> R {
        let result: R
        do {
            result = try body()
        } catch {
            try? close()
            throw error
        }
        try close()
        return result
    }

    // MARK: Checks


    @inline(__always)
    private func checkRank(_ rank: Int, _ what: StaticString) throws(MPIError) {
        guard rank >= 0 && rank < counts.count else { throw MPIError(.rank, "\(what) names rank \(rank): the window's ranks are 0..<\(size)") }
    }

    private func checkRanks(_ ranks: [Int], _ what: StaticString) throws(MPIError) {
        for rank in ranks { try checkRank(rank, what) }
        if Set(ranks).count != ranks.count { throw MPIError(.rank, "\(what) names a rank twice: \(ranks)") }
    }

    /// The ranks in the window's group of `group`'s members.
    private func windowRanks(of group: Group, _ what: String) throws(MPIError) -> [Int] {
        let windowGroup = try communicator.group
        var ranks: [Int] = []
        for worldRank in group.worldRanks {
            guard let rank = windowGroup.worldRanks.firstIndex(of: worldRank) else {
                throw MPIError(.group, "\(what) names world rank \(worldRank), which is not in the window's group \(windowGroup.worldRanks)")
            }
            ranks.append(rank)
        }
        return ranks
    }
}
