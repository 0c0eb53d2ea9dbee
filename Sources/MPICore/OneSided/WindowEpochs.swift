/// Which epochs this process has open on one window, and the buffers lent to operations that
/// have not completed yet. Kept by the front end, so both backends accept and refuse exactly the
/// same calls (MPI-4.1 §12.5): an operation needs an access epoch to its target, an epoch is
/// opened and closed by matching calls, and request-based operations need a passive-target one.
@usableFromInline
struct WindowEpochs {
    /// A fence opened an epoch (the last fence did not assert `.noSucceed`).
    var fence = false
    /// An operation was issued since that fence: the fence epoch has begun.
    var fenceOperations = false
    /// The targets of an access epoch opened by `start`.
    var access: [Int]?
    /// The origins of an exposure epoch opened by `post`.
    var exposure: [Int]?
    /// Passive-target locks held, by target.
    var locks: LockTable
    /// `lockAll` holds shared locks on every rank.
    var lockAll = false
    /// Buffers lent to operations that have not completed at the origin, with their target.
    var loans: [(target: Int, loan: Loan)] = []
    var freed = false

    init(ranks: Int) { locks = LockTable(ranks: ranks) }

    /// Whether an operation on `target` may be issued now.
    @inline(__always)
    func allows(_ target: Int) -> Bool {
        fence || lockAll || locks[target] != nil || (access?.contains(target) ?? false)
    }

    /// Whether a passive-target epoch (lock or lockAll) covers `target`.
    @inline(__always)
    func passive(_ target: Int) -> Bool { lockAll || locks[target] != nil }

    /// Whether any epoch is open that a new epoch of another kind would conflict with.
    var busy: Bool { access != nil || lockAll || !locks.isEmpty || (fence && fenceOperations) }

    /// The open epochs, for messages.
    var openEpochs: String {
        var parts: [String] = []
        if fence && fenceOperations { parts.append("a fence epoch with operations (close it with fence(.noSucceed))") }
        if let access { parts.append("an access epoch to ranks \(access) (close it with complete())") }
        if let exposure { parts.append("an exposure epoch to ranks \(exposure) (close it with wait())") }
        if lockAll { parts.append("a lockAll epoch (close it with unlockAll())") }
        for target in locks.targets { parts.append("a \(locks[target]!) lock on rank \(target) (close it with unlock(rank: \(target)))") }
        return parts.joined(separator: ", ")
    }

    /// Checks that an operation (`what`) on `target` is allowed now; one that `needsPassive`
    /// (a request-based operation, or one that returns its result at once) needs a
    /// passive-target epoch, for the reason given.
    @inline(__always)
    mutating func checkOperation(_ what: StaticString, target: Int, needsPassive: StaticString? = nil) throws(MPIError) {
        guard !freed else { throw MPIError(.window, "\(what) on a freed window") }
        if let needsPassive {
            guard passive(target) else {
                throw MPIError(.rmaSync, "\(what) to rank \(target) needs a passive-target epoch: call lock(rank: \(target)) or lockAll() first (\(needsPassive))")
            }
            return
        }
        guard allows(target) else {
            throw MPIError(.rmaSync, "\(what) to rank \(target) outside an access epoch: open one with fence(), start(_:), lock(rank:) or lockAll()")
        }
        if fence { fenceOperations = true }
    }

    /// Checks that a new epoch of kind `what` may open: no other epoch it conflicts with. A fence
    /// epoch nobody has issued an operation in yet gives way (the fence that opened it may be the
    /// one that ended the previous epoch).
    mutating func checkOpening(_ what: String) throws(MPIError) {
        guard !freed else { throw MPIError(.window, "\(what) on a freed window") }
        if busy { throw MPIError(.rmaSync, "\(what) while \(openEpochs) is open") }
        fence = false
    }

    /// Keeps `loan` until the operations on `target` complete.
    @inline(__always)
    mutating func lend(_ loan: Loan, target: Int) {
        if case .none = loan { return }
        loans.append((target, loan))
    }

    /// Ends the loans of operations on `target` (every target when `nil`): they have completed.
    mutating func endLoans(target: Int?) {
        guard !loans.isEmpty else { return }
        loans.removeAll { entry in
            guard target == nil || entry.target == target else { return false }
            entry.loan.end()
            return true
        }
    }
}

/// The lock this process holds on each target of a window, if any: a flat table (a lookup per
/// operation must cost no hashing).
@usableFromInline
struct LockTable {
    private var types: [UInt8]
    private var held = 0

    init(ranks: Int) { types = Array(repeating: 0, count: ranks) }

    subscript(target: Int) -> LockType? {
        @inline(__always)
        get {
            switch types[target] {
            case 0: nil
            case 1: .exclusive
            default: .shared
            }
        }
        set {
            let old = types[target]
            types[target] = newValue == nil ? 0 : (newValue == .exclusive ? 1 : 2)
            held += (newValue == nil ? 0 : 1) - (old == 0 ? 0 : 1)
        }
    }

    var isEmpty: Bool { held == 0 }

    /// The targets locked, in rank order.
    var targets: [Int] { types.indices.filter { types[$0] != 0 } }
}
