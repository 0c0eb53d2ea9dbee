import Synchronization

/// Memory that the other ranks of a communicator can read and write without this rank taking
/// part: one-sided communication (`MPI_Win`, MPI-4.1 chapter 12).
///
/// A window of `Element` exposes `count(of: rank)` elements of each rank, and displacements
/// count in elements (the displacement unit is `MemoryLayout<Element>.stride`). Make one with
/// ``allocate(count:initialValue:on:)`` (memory the window owns), ``create(over:on:)`` (a
/// ``MessageBuffer`` of yours) or ``allocateShared(count:initialValue:on:)`` (memory every rank
/// of the node can load and store directly, through ``sharedQuery(rank:)``). Each is collective.
///
/// Operations (``put(_:to:at:)``, ``get(into:from:at:)``, ``accumulate(_:to:at:op:)``,
/// ``getAccumulate(_:into:from:at:op:)``, ``fetchAndOp(_:from:at:op:)``,
/// ``compareAndSwap(_:ifEqualTo:from:at:)`` and the request-based `r…` forms) run inside an
/// epoch: between two ``fence(_:)`` calls, between ``start(_:_:)`` and ``complete()`` (matched by
/// the targets' ``post(_:_:)`` and ``wait()``), or under ``lock(rank:_:_:)`` / ``lockAll(_:)``. The
/// scoped forms (``withFence(_:_:)``, ``withLock(rank:_:_:_:)``, …) always close the epoch they open,
/// also when the body throws. Every access is checked against the target's window size: one past
/// the end throws ``MPIError/ErrorClass/rmaRange`` and nothing is written.
///
/// Buffers follow the rules of nonblocking operations: an operation's origin buffer is lent to
/// it until it completes at the origin (the epoch's closing call, a flush, or its request), so a
/// ``MessageBuffer`` a `get` writes into traps when read before then, and an array a `put` sends
/// is copied first.
///
/// The window is freed when dropped (`MPI_Win_free`), or by ``free()``, which is collective and
/// throws while an epoch is open. Dropping a window inside an epoch is an error that says so on
/// standard error: its locks are released, but it is not freed (that would wait for the other
/// ranks, which may never come if this rank is leaving its scope with an error).
public final class Window<Element: MessageElement>: @unchecked Sendable, CustomStringConvertible {
    @usableFromInline let backend: any Backend
    /// The backend as requests hold it (see `BackendReference`).
    @usableFromInline let backendReference: Unmanaged<BackendReference>
    @usableFromInline let handle: WindowHandle
    /// The communicator the window spans (a duplicate of the one it was created on).
    public let communicator: Communicator
    /// How the window's memory was made.
    public let flavor: WindowFlavor
    /// Elements of the window of each rank, by rank of ``communicator``.
    public let counts: [Int]
    /// This rank's memory.
    @usableFromInline let base: UnsafeMutableRawPointer?
    /// The buffer a `create`d window exposes, kept alive with it.
    private let exposed: AnyObject?
    /// Every rank's memory mapped here, where the backend lets puts and gets be plain copies
    /// (`OneSidedBackend.directMemory(of:)`).
    @usableFromInline let direct: [UnsafeMutableRawPointer]?
    /// Serializes calls on the window from several threads, at `ThreadLevel.multiple` only
    /// (below it MPI allows one thread in the library at a time, and the lock would be waste).
    @usableFromInline let serial = Mutex(())
    @usableFromInline let threadSafe: Bool
    /// The epochs this process has open, guarded by `serial`; kept out of line so that reaching
    /// them costs no dynamic exclusivity check.
    @usableFromInline let epochStorage: UnsafeMutablePointer<WindowEpochs>
    @usableFromInline var epochs: WindowEpochs {
        @inline(__always) unsafeAddress { UnsafePointer(epochStorage) }
        @inline(__always) unsafeMutableAddress { epochStorage }
    }
    private let nameStorage = Mutex("")

    private init(
        backend: any Backend, handle: WindowHandle, communicator: Communicator, flavor: WindowFlavor,
        counts: [Int], base: UnsafeMutableRawPointer?, exposed: AnyObject?
    ) {
        self.backend = backend
        backendReference = BackendReference.of(backend)
        self.handle = handle
        self.communicator = communicator
        self.flavor = flavor
        self.counts = counts
        self.base = base
        self.exposed = exposed
        direct = backend.directMemory(of: handle)
        threadSafe = backend.providedThreadLevel == .multiple
        epochStorage = .allocate(capacity: 1)
        epochStorage.initialize(to: WindowEpochs(ranks: counts.count))
    }

    /// This process's rank in the window's group.
    @inlinable public var rank: Int { communicator.rank }
    /// Number of processes in the window's group.
    @inlinable public var size: Int { communicator.size }
    /// The window's processes (`MPI_Win_get_group`).
    public var group: Group { get throws(MPIError) { try communicator.group } }
    /// Elements of this rank's window.
    public var count: Int { counts[communicator.rank] }
    /// Elements of `rank`'s window.
    public func count(of rank: Int) -> Int { counts[rank] }
    /// Bytes one displacement stands for (`MPI_WIN_DISP_UNIT`): the stride of `Element`.
    public var displacementUnit: Int { MemoryLayout<Element>.stride }
    /// The window's name (`MPI_Win_get_name`/`MPI_Win_set_name`), empty until set.
    public var name: String {
        get { nameStorage.withLock { $0 } }
        set {
            nameStorage.withLock { $0 = newValue }
            if backend.isActive { backend.setName(newValue, of: handle) }
        }
    }

    public var description: String {
        "Window<\(Element.self)>(\(flavor), rank \(rank) of \(size), \(count) elements\(name.isEmpty ? "" : ", \"\(name)\""))"
    }

    // MARK: Creation

    /// A window of `count` elements per rank in memory the window allocates and owns
    /// (`MPI_Win_allocate`), every element set to `initialValue` before any other rank can reach
    /// it. Collective over `communicator`; ranks may ask for different counts (0 included).
    public static func allocate(count: Int, initialValue: Element, on communicator: Communicator) throws(MPIError) -> Window {
        try make(.allocated, count: count, initialValue: initialValue, base: nil, exposed: nil, on: communicator)
    }

    /// A window over the elements of `buffer` (`MPI_Win_create`). Collective over `communicator`.
    /// The window keeps the buffer alive; its elements are the window's memory, so reading and
    /// writing them locally follows MPI's rules for window memory (inside a `lock(rank: rank)`, or
    /// between fences). On shared memory, other ranks reach it by cross-memory attach
    /// (`process_vm_writev`): where that is not available the call throws `.unsupported`, and
    /// ``allocate(count:initialValue:on:)`` works everywhere.
    public static func create(over buffer: MessageBuffer<Element>, on communicator: Communicator) throws(MPIError) -> Window {
        try make(.created, count: buffer.count, initialValue: nil, base: UnsafeMutableRawPointer(buffer.storage.baseAddress),
            exposed: buffer, on: communicator)
    }

    /// A window of `count` elements per rank in memory every rank of `communicator` can load and
    /// store directly (`MPI_Win_allocate_shared`): ``sharedQuery(rank:)`` gives any rank's part.
    /// The ranks' parts are contiguous, in rank order. Collective; every rank of `communicator`
    /// must share this node (`splitByNode()` makes such a communicator).
    public static func allocateShared(count: Int, initialValue: Element, on communicator: Communicator) throws(MPIError) -> Window {
        try make(.shared, count: count, initialValue: initialValue, base: nil, exposed: nil, on: communicator)
    }

    private static func make(
        _ flavor: WindowFlavor, count: Int, initialValue: Element?, base: UnsafeMutableRawPointer?, exposed: AnyObject?,
        on parent: Communicator
    ) throws(MPIError) -> Window {
        try parent.checkActive()
        let communicator = try parent.duplicate()
        // Every rank shows its arguments before any is judged, so a mismatch throws the same
        // error on every rank and the job goes on.
        let type = Element.datatype
        let signature = Int64(type.builtin.rawValue) | Int64(type.run) << 8 | Int64(type.size) << 24 | Int64(type.extent) << 44
        let table = try communicator.allGather([Int64(count), Int64(flavor.rawValue), signature])
        let counts = stride(from: 0, to: table.count, by: 3).map { Int(table[$0]) }
        for peer in 0..<communicator.size {
            let other = WindowFlavor(rawValue: UInt8(truncatingIfNeeded: table[3 * peer + 1]))!
            if other != flavor {
                throw MPIError(.window, "mismatched window creation: rank \(communicator.rank) called \(flavor), rank \(peer) called \(other)")
            }
            if table[3 * peer + 2] != signature {
                throw MPIError(.window, "mismatched window creation: rank \(peer) made a window of another element type than rank \(communicator.rank)'s \(Element.self)")
            }
            if counts[peer] < 0 {
                throw MPIError(.count, "rank \(peer) asked for a window of \(counts[peer]) elements")
            }
            if counts[peer].multipliedReportingOverflow(by: MemoryLayout<Element>.stride).overflow {
                throw MPIError(.count, "rank \(peer)'s window of \(counts[peer]) \(Element.self) elements overflows Int")
            }
        }
        let stride = MemoryLayout<Element>.stride
        let made = try parent.backend.createWindow(
            flavor: flavor, base: base, bytes: count * stride, unit: stride, comm: communicator.handle)
        let window = Window(
            backend: parent.backend, handle: made.window, communicator: communicator, flavor: flavor,
            counts: counts, base: made.base, exposed: exposed)
        if let initialValue, count > 0, let memory = made.base {
            memory.bindMemory(to: Element.self, capacity: count).initialize(repeating: initialValue, count: count)
        }
        if flavor != .created {
            // Nobody reaches a rank's memory before it is initialized (a passive-target lock
            // needs no call from the target).
            try communicator.barrier()
        }
        return window
    }

    // MARK: Memory

    /// This rank's part of the window, for local loads and stores (which follow MPI's rules for
    /// window memory: separate them from other ranks' accesses by synchronization).
    public var localMemory: WindowMemory<Element> {
        WindowMemory(owner: self, base: base?.assumingMemoryBound(to: Element.self), count: count)
    }

    /// `rank`'s part of a shared window, mapped in this process for plain loads and stores
    /// (`MPI_Win_shared_query`); it stays mapped while the value or the window lives. Throws
    /// `.rmaShared` for a window not made by ``allocateShared(count:initialValue:on:)``.
    public func sharedQuery(rank: Int) throws(MPIError) -> WindowMemory<Element> {
        try checkUsable("sharedQuery")
        guard flavor == .shared else {
            throw MPIError(.rmaShared, "sharedQuery needs a window made by allocateShared; this one was made by \(flavor)")
        }
        guard rank >= 0 && rank < size else { throw MPIError(.rank, "sharedQuery of rank \(rank): the window's ranks are 0..<\(size)") }
        let memory = try backend.sharedMemory(of: rank, in: handle)
        return WindowMemory(owner: self, base: memory.base?.assumingMemoryBound(to: Element.self), count: counts[rank])
    }

    // MARK: Freeing

    /// Frees the window (`MPI_Win_free`). Collective. Throws `.rmaSync`, and frees nothing, while
    /// this rank has an epoch open on it; further calls on the window throw `.window`.
    public func free() throws(MPIError) {
        try serially { () throws(MPIError) in
            guard !epochs.freed else { throw MPIError(.window, "the window was freed already") }
            guard !epochs.busy && epochs.exposure == nil else {
                throw MPIError(.rmaSync, "cannot free a window while \(epochs.openEpochs) is open")
            }
            try communicator.checkActive()
            epochs.freed = true
            try backend.freeWindow(handle, dropped: false)
        }
    }

    deinit {
        defer {
            epochStorage.deinitialize(count: 1)
            epochStorage.deallocate()
        }
        guard !epochs.freed, backend.isActive else { return }
        if epochs.busy || epochs.exposure != nil {
            // Freeing is collective, and a rank that leaves an epoch open has usually left its
            // scope with an error the other ranks know nothing of: waiting for them could hang.
            // The locks it holds are released (others may need them); the window is not freed.
            writeToStandardError("swift-mpi: error: a \(description) was dropped while \(epochs.openEpochs) was open; its locks are released, but the window is not freed (MPI_Win_free is collective): close every epoch before the window goes out of scope\n")
            for target in epochs.locks.targets { try? backend.unlock(handle, target: target) }
            if epochs.lockAll { try? backend.unlockAll(handle) }
            epochs.endLoans(target: nil)
            return
        }
        epochs.endLoans(target: nil)
        try? backend.freeWindow(handle, dropped: true)
    }

    // MARK: Direct access

    /// Copies `bytes` between `origin` and element `displacement` of `target`'s memory when the
    /// backend maps it here and no `start` epoch is open (whose targets the backend must see
    /// post first); returns whether it did. `put` copies into the target, otherwise out of it.
    @usableFromInline @inline(__always)
    func copyDirectly(_ origin: UnsafeMutableRawPointer?, bytes: Int, target: Int, displacement: Int, put: Bool) -> Bool {
        guard let direct, epochs.access == nil else { return false }
        guard bytes > 0, let origin else { return true }
        let remote = direct[target] + displacement * MemoryLayout<Element>.stride
        if put { remote.copyMemory(from: origin, byteCount: bytes) } else { origin.copyMemory(from: remote, byteCount: bytes) }
        return true
    }

    // MARK: Checks

    /// Runs `body` with the window to itself (see `serial`).
    @usableFromInline @inline(__always)
    func serially<R>(_ body: () throws(MPIError) -> R) throws(MPIError) -> R {
        guard threadSafe else { return try body() }
        return try serial.withLock { _ throws(MPIError) -> R in try body() }
    }

    @usableFromInline @inline(__always)
    func checkUsable(_ what: StaticString) throws(MPIError) {
        try communicator.checkActive()
        if epochs.freed { throw MPIError(.window, "\(what) on a freed window") }
    }

    /// Checks `target` and the access of `count` elements at `displacement` there; returns
    /// `false` for the null process (the operation then does nothing).
    @usableFromInline @inline(__always)
    func checkTarget(_ what: StaticString, target: Int, displacement: Int, count: Int) throws(MPIError) -> Bool {
        try communicator.checkActive()
        if target == Communicator.nullProcess { return false }
        guard target >= 0 && target < counts.count else {
            throw MPIError(.rank, "\(what) to rank \(target): the window's ranks are 0..<\(size)")
        }
        guard displacement >= 0 else {
            throw MPIError(.displacement, "\(what) at displacement \(displacement) of rank \(target)'s window: displacements are not negative")
        }
        guard count >= 0 else { throw MPIError(.count, "\(what) of \(count) elements") }
        let (end, overflow) = displacement.addingReportingOverflow(count)
        guard !overflow && end <= counts[target] else {
            throw MPIError(.rmaRange, "\(what) of \(count) element\(count == 1 ? "" : "s") at displacement \(displacement) runs past the end of rank \(target)'s window of \(counts[target]) elements; nothing was written")
        }
        return true
    }
}

/// A rank's part of a window as typed memory in this process: this rank's (``Window/localMemory``)
/// or, for a shared window, any rank's (``Window/sharedQuery(rank:)``). Every index is checked;
/// the value keeps the window, and so the mapping, alive.
public struct WindowMemory<Element: MessageElement>: @unchecked Sendable {
    private let owner: AnyObject
    @usableFromInline let base: UnsafeMutablePointer<Element>?
    /// Number of elements.
    public let count: Int

    init(owner: AnyObject, base: UnsafeMutablePointer<Element>?, count: Int) {
        self.owner = owner
        self.base = base
        self.count = count
    }

    /// The element at `index` (a plain load or store: synchronize with the other ranks' accesses
    /// as MPI's shared-memory rules say, e.g. ``Window/sync()`` and a barrier).
    @inlinable
    public subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < count, "window memory index \(index) out of range 0..<\(count)")
            return base![index]
        }
        nonmutating set {
            precondition(index >= 0 && index < count, "window memory index \(index) out of range 0..<\(count)")
            base![index] = newValue
        }
    }

    /// The elements as a new array.
    public var array: [Element] { withUnsafeMutableBufferPointer { Array($0) } }

    /// Calls `body` with the elements for reading and writing; the pointer is valid only during `body`.
    public func withUnsafeMutableBufferPointer<R, E>(_ body: (UnsafeMutableBufferPointer<Element>) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(owner) { () throws(E) -> R in try body(UnsafeMutableBufferPointer(start: base, count: count)) }
    }

    /// Calls `body` with the elements as a `MutableSpan`: bounds-checked loads and stores, valid
    /// only during `body`.
    public func withMutableSpan<R, E>(_ body: (inout MutableSpan<Element>) throws(E) -> R) throws(E) -> R {
        try withUnsafeMutableBufferPointer { (buffer) throws(E) -> R in
            var span = buffer.mutableSpan
            return try body(&span)
        }
    }

    /// Sets every element to `value`.
    public func fill(with value: Element) {
        withUnsafeMutableBufferPointer { elements in for index in elements.indices { elements[index] = value } }
    }
}
