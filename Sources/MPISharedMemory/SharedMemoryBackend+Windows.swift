import Glibc
import MPICore
import Synchronization

// One-sided communication on shared memory (MPI-4.1 chapter 12).
//
// Every window has one shared mapping, created collectively: a control block per rank (its
// passive-target lock word and its accumulate lock), the post and complete counters of general
// active-target synchronization, and — for `allocate` and `allocateShared` windows — every rank's
// memory, contiguous in rank order. A put or get is then a copy into or out of the mapping, done
// when the call returns: every operation is complete at origin and target at once, so flushes
// are memory fences and the request forms complete immediately. A `create`d window exposes the
// caller's private memory, reached with cross-memory attach (`process_vm_readv`/`writev`).
//
// Locks live in the target's control block and are taken by the origin alone (an atomic word:
// 0 free, -1 exclusive, n > 0 shared holders), so passive-target progress never needs the target.
//
// Accumulates are atomic per element as MPI requires (same predefined type; operations the same
// or `noOp`, the default `accumulate_ops` promise): 8-byte elements of mapped windows with a
// hardware atomic per element (an add, exchange or load, or a compare-exchange loop around the
// operation's kernel), everything else under the target's accumulate lock. Which of the two a
// call takes depends only on the window's flavor and the element type, so two calls that must be
// atomic with respect to each other always take the same one.

/// One window's state on this rank. Reached through `WindowHandle.raw` (an unmanaged pointer).
final class SharedWindow {
    let flavor: WindowFlavor
    let comm: CommHandle
    let rank: Int
    let size: Int
    let unit: Int
    /// The mapping every rank of the window shares.
    let mapping: UnsafeMutableRawPointer
    let mappingBytes: Int
    /// Bytes of each rank's window memory.
    let bytes: [Int]
    /// Where each rank's memory starts in the mapping (not `created` windows).
    let dataOffsets: [Int]
    /// For a `created` window: each rank's memory address in its own process, and the process.
    let remoteAddresses: [UInt]
    let pids: [pid_t]
    let localBase: UnsafeMutableRawPointer?
    /// Whether accumulates take hardware atomics (see the file comment).
    let atomicWords: Bool

    /// The targets of the open access epoch (`start`), and whether each has posted yet.
    var accessTargets: [Int] = []
    var exposed: [Bool]
    /// Per target, the posts this rank has used up by completing access epochs to it.
    var postsUsed: [UInt64]
    /// The origins of the open exposure epoch (`post`).
    var exposureOrigins: [Int] = []
    /// Per origin, the completions this rank has consumed by ending exposure epochs.
    var completionsUsed: [UInt64]
    /// Passive-target locks this rank holds, by target: whether it took the lock word (an
    /// assertion of `noCheck` takes none).
    var held: [Int: (type: LockType, taken: Bool)] = [:]
    var lockAllTaken = false

    static let controlBytes = 128

    init(
        flavor: WindowFlavor, comm: CommHandle, rank: Int, unit: Int, mapping: UnsafeMutableRawPointer, mappingBytes: Int,
        bytes: [Int], dataOffsets: [Int], remoteAddresses: [UInt], pids: [pid_t], localBase: UnsafeMutableRawPointer?,
        atomicWords: Bool
    ) {
        self.flavor = flavor
        self.comm = comm
        self.rank = rank
        self.size = bytes.count
        self.unit = unit
        self.mapping = mapping
        self.mappingBytes = mappingBytes
        self.bytes = bytes
        self.dataOffsets = dataOffsets
        self.remoteAddresses = remoteAddresses
        self.pids = pids
        self.localBase = localBase
        self.atomicWords = atomicWords
        exposed = Array(repeating: false, count: bytes.count)
        postsUsed = Array(repeating: 0, count: bytes.count)
        completionsUsed = Array(repeating: 0, count: bytes.count)
    }

    /// Bytes of the control blocks and counters before the data.
    static func headerBytes(ranks: Int) -> Int {
        let bytes = ranks * controlBytes + 2 * ranks * ranks * 8
        return (bytes + 63) & ~63
    }

    func lockWord(_ target: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        JobSegment.atomic(mapping + target * SharedWindow.controlBytes)
    }
    func accumulateLock(_ target: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        JobSegment.atomic(mapping + target * SharedWindow.controlBytes + 64)
    }
    /// Exposure epochs `target` has posted to `origin`.
    func posts(_ target: Int, _ origin: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        JobSegment.atomic(mapping + size * SharedWindow.controlBytes + (target * size + origin) * 8)
    }
    /// Access epochs `origin` has completed to `target`.
    func completions(_ target: Int, _ origin: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        JobSegment.atomic(mapping + size * SharedWindow.controlBytes + (size * size + target * size + origin) * 8)
    }

    /// Where `displacement` of `target`'s memory is in this process, for mapped windows and for
    /// this rank's own memory of a `created` one; `nil` for another rank's `created` memory.
    func address(_ target: Int, _ displacement: Int) -> UnsafeMutableRawPointer? {
        if flavor == .created {
            guard target == rank else { return nil }
            return localBase.map { $0 + displacement * unit }
        }
        return mapping + dataOffsets[target] + displacement * unit
    }

    /// The address of `displacement` in `target`'s process (another rank's `created` memory).
    func remoteAddress(_ target: Int, _ displacement: Int) -> UInt {
        remoteAddresses[target] &+ UInt(displacement * unit)
    }
}

extension SharedMemoryBackend {
    @inline(__always)
    func window(_ handle: WindowHandle) -> SharedWindow {
        Unmanaged<SharedWindow>.fromOpaque(UnsafeRawPointer(bitPattern: handle.raw)!).takeUnretainedValue()
    }

    /// Calls `body` with the window of `handle`, borrowed: no reference count changes (the
    /// front end keeps the window alive across every call).
    @inline(__always)
    func withWindow<R>(_ handle: WindowHandle, _ body: (SharedWindow) throws(MPIError) -> R) throws(MPIError) -> R {
        let reference = Unmanaged<SharedWindow>.fromOpaque(UnsafeRawPointer(bitPattern: handle.raw)!)
        let result: Result<R, MPIError> = reference._withUnsafeGuaranteedRef { window in
            do throws(MPIError) { return .success(try body(window)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    // MARK: Creation and freeing

    package func createWindow(
        flavor: WindowFlavor, base: UnsafeMutableRawPointer?, bytes: Int, unit: Int, comm: CommHandle
    ) throws(MPIError) -> (window: WindowHandle, base: UnsafeMutableRawPointer?) {
        lockEngine()
        defer { unlockEngine() }
        let info = try info(comm)
        let ranks = info.members.count
        let all = try allGather(info, (bytes, Int(bitPattern: UInt(bitPattern: base))))
        let sizes = all.map(\.0)
        if flavor == .created && ranks > 1 && !engine.pointee.useCrossMemory {
            throw MPIError(.unsupported, "Window.create over private memory needs cross-memory attach (process_vm_writev), which is off in this job (SWIFTMPI_CMA=0, or ptrace is restricted): use Window.allocate, which works everywhere")
        }
        var offsets: [Int] = []
        var total = SharedWindow.headerBytes(ranks: ranks)
        for size in sizes {
            offsets.append(total)
            if flavor != .created { total += size }
        }
        total = max(total, 64)
        let mapping = try mapWindow(bytes: total, info: info)
        let created = SharedWindow(
            flavor: flavor, comm: comm, rank: info.rank, unit: unit, mapping: mapping, mappingBytes: total, bytes: sizes,
            dataOffsets: offsets, remoteAddresses: all.map { UInt(bitPattern: $0.1) },
            pids: info.members.map { engine.pointee.peerPids[$0] }, localBase: base,
            atomicWords: flavor != .created)
        let handle = WindowHandle(raw: UInt(bitPattern: Unmanaged.passRetained(created).toOpaque()))
        return (handle, flavor == .created ? base : mapping + offsets[info.rank])
    }

    /// Maps `bytes` shared by every rank of `info`: anonymous memory for a window of one
    /// process, otherwise a file rank 0 creates in /dev/shm under the job's name, which every
    /// rank maps and rank 0 unlinks as soon as all have (the launcher removes any a dead rank
    /// leaves behind). Collective; fails on every rank if it fails on one.
    private func mapWindow(bytes: Int, info: CommunicatorInfo) throws(MPIError) -> UnsafeMutableRawPointer {
        guard info.members.count > 1, let job = segment.name else {
            guard let mapping = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0), mapping != MAP_FAILED else {
                throw MPIError(.noMemory, "cannot map a window of \(bytes) bytes: \(String(cString: strerror(errno)))")
            }
            return mapping
        }
        // Rank 0 names and creates the file; (id, errno) go to every rank.
        var created = (0, 0)
        if info.rank == 0 {
            created.0 = try reserveContexts(count: 1)
            let path = JobSegment.path(JobSegment.windowName(job: job, id: created.0))
            let fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR, 0o600)
            if fd < 0 {
                created.1 = Int(errno)
            } else {
                if ftruncate(fd, off_t(bytes)) != 0 {
                    created.1 = Int(errno)
                } else {
                    let reserved = posix_fallocate(fd, 0, off_t(bytes))
                    if reserved != 0 { created.1 = Int(reserved) }
                }
                close(fd)
                if created.1 != 0 { shm_unlink(path) }
            }
        }
        try broadcastInternal(info, &created, tag: 40)
        let name = JobSegment.windowName(job: job, id: created.0)
        guard created.1 == 0 else {
            throw MPIError(.noMemory, "cannot create the \(bytes)-byte window file /dev/shm/\(name): \(String(cString: strerror(Int32(created.1))))")
        }
        var mapping: UnsafeMutableRawPointer? = nil
        var failure = 0
        let fd = shm_open(JobSegment.path(name), O_RDWR, 0)
        if fd < 0 {
            failure = Int(errno)
        } else {
            if let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapped != MAP_FAILED {
                mapping = mapped
            } else {
                failure = Int(errno)
            }
            close(fd)
        }
        let outcomes = try allGather(info, (failure, 0))
        if info.rank == 0 { shm_unlink(JobSegment.path(name)) }
        if let failed = outcomes.firstIndex(where: { $0.0 != 0 }) {
            if let mapping { munmap(mapping, bytes) }
            throw MPIError(.noMemory, "rank \(failed) could not map the \(bytes)-byte window file /dev/shm/\(name): \(String(cString: strerror(Int32(outcomes[failed].0))))")
        }
        return mapping!
    }

    /// An explicit free waits for every rank (`MPI_Win_free` is a synchronization). A dropped
    /// window of mapped memory is unmapped at once: the other ranks' mappings of the same memory
    /// stay valid, so their late accesses land harmlessly. A `created` window exposes this
    /// process's private memory, which may be reused once freed, so that always waits.
    package func freeWindow(_ handle: WindowHandle, dropped: Bool) throws(MPIError) {
        let window = window(handle)
        var synchronized: MPIError? = nil
        if !dropped || window.flavor == .created {
            do { try barrier(window.comm) } catch { synchronized = error }
        }
        munmap(window.mapping, window.mappingBytes)
        Unmanaged<SharedWindow>.fromOpaque(UnsafeRawPointer(bitPattern: handle.raw)!).release()
        if let synchronized { throw synchronized }
    }

    /// Mapped windows are copied into and out of directly; `create` windows are in other
    /// processes' private memory.
    package func directMemory(of handle: WindowHandle) -> [UnsafeMutableRawPointer]? {
        let window = window(handle)
        guard window.flavor != .created else { return nil }
        return window.dataOffsets.map { window.mapping + $0 }
    }

    package func sharedMemory(of rank: Int, in handle: WindowHandle) throws(MPIError) -> (base: UnsafeMutableRawPointer?, bytes: Int) {
        let window = window(handle)
        return (window.mapping + window.dataOffsets[rank], window.bytes[rank])
    }

    // MARK: Operations

    package func put(
        _ origin: UnsafeRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int,
        window handle: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle? {
        try transfer(UnsafeMutableRawPointer(mutating: origin), bytes: count * type.extent, target: target, displacement: displacement,
            window: handle, put: true)
        return nil
    }

    package func get(
        into origin: UnsafeMutableRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int,
        window handle: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle? {
        try transfer(origin, bytes: count * type.extent, target: target, displacement: displacement, window: handle, put: false)
        return nil
    }

    /// Copies `bytes` between `origin` and `displacement` of `target`'s memory: into the target
    /// for a put, out of it for a get; another rank's `created` memory by cross-memory attach.
    private func transfer(
        _ origin: UnsafeMutableRawPointer?, bytes: Int, target: Int, displacement: Int, window handle: WindowHandle, put: Bool
    ) throws(MPIError) {
        try withWindow(handle) { (window) throws(MPIError) in
            try awaitExposure(window, target)
            guard bytes > 0, let origin else { return }
            if let address = window.address(target, displacement) {
                if put { memmove(address, origin, bytes) } else { memmove(origin, address, bytes) }
                return
            }
            let (pid, remote) = (window.pids[target], window.remoteAddress(target, displacement))
            try crossMemory(
                put ? CrossMemory.write(to: pid, remote: remote, from: origin, count: bytes)
                    : CrossMemory.read(from: pid, remote: remote, into: origin, count: bytes),
                put ? "put" : "get", target)
        }
    }

    package func accumulate(
        _ origin: UnsafeRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int,
        op: Reduction, window handle: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle? {
        try getAccumulate(origin, into: nil, count: count, type: type, target: target, displacement: displacement,
            op: op, window: handle, request: request)
    }

    package func getAccumulate(
        _ origin: UnsafeRawPointer?, into result: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        target: Int, displacement: Int, op: Reduction, window handle: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle? {
        let done = try withWindow(handle) { (window) throws(MPIError) -> Bool in
            try awaitExposure(window, target)
            guard count > 0 else { return true }
            guard window.atomicWords && type.extent == 8 && type.isPrimitive && !type.isBytes else { return false }
            let words = JobSegment.atomic(window.address(target, displacement)!)
            let operation = op.builtin ?? .replace
            for index in 0..<count {
                let operand = origin.map { $0.loadUnaligned(fromByteOffset: index * 8, as: Int.self) } ?? 0
                let old = SharedMemoryBackend.atomicAccumulate(words + index, operand, operation, type, op.kernel)
                result?.storeBytes(of: old, toByteOffset: index * 8, as: Int.self)
            }
            return true
        }
        if done { return nil }
        let window = window(handle)
        let operation = op.builtin ?? .replace
        let bytes = count * type.extent
        try withAccumulateLock(window, target) { () throws(MPIError) in
            if let address = window.address(target, displacement) {
                if let result { memcpy(result, address, bytes) }
                SharedMemoryBackend.apply(operation, op.kernel, origin, address, count: count, bytes: bytes)
                return
            }
            // Another rank's private memory: read it, combine here, write it back.
            let staging = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
            defer { staging.deallocate() }
            let remote = window.remoteAddress(target, displacement)
            try crossMemory(CrossMemory.read(from: window.pids[target], remote: remote, into: staging, count: bytes), "accumulate", target)
            if let result { memcpy(result, staging, bytes) }
            guard operation != .noOp else { return }
            SharedMemoryBackend.apply(operation, op.kernel, origin, staging, count: count, bytes: bytes)
            try crossMemory(CrossMemory.write(to: window.pids[target], remote: remote, from: staging, count: bytes), "accumulate", target)
        }
        return nil
    }

    package func compareAndSwap(
        _ value: UnsafeRawPointer, compare: UnsafeRawPointer, into result: UnsafeMutableRawPointer,
        type: Datatype, target: Int, displacement: Int, window handle: WindowHandle
    ) throws(MPIError) {
        let window = window(handle)
        try awaitExposure(window, target)
        let bytes = type.extent
        if window.atomicWords && bytes == 8 {
            let word = JobSegment.atomic(window.address(target, displacement)!)
            let outcome = word.pointee.compareExchange(
                expected: compare.load(as: Int.self), desired: value.load(as: Int.self), ordering: .sequentiallyConsistent)
            result.storeBytes(of: outcome.original, as: Int.self)
            return
        }
        try withAccumulateLock(window, target) { () throws(MPIError) in
            if let address = window.address(target, displacement) {
                memcpy(result, address, bytes)
                if memcmp(result, compare, bytes) == 0 { memcpy(address, value, bytes) }
                return
            }
            let remote = window.remoteAddress(target, displacement)
            try crossMemory(CrossMemory.read(from: window.pids[target], remote: remote, into: result, count: bytes), "compareAndSwap", target)
            if memcmp(result, compare, bytes) == 0 {
                try crossMemory(CrossMemory.write(to: window.pids[target], remote: remote, from: value, count: bytes), "compareAndSwap", target)
            }
        }
    }

    /// `target = origin ∘ target` for `count` elements in local memory (`bytes` in all).
    private static func apply(
        _ operation: Reduction.Builtin, _ kernel: Reduction.Kernel, _ origin: UnsafeRawPointer?, _ target: UnsafeMutableRawPointer,
        count: Int, bytes: Int
    ) {
        switch operation {
        case .noOp: return
        case .replace: if let origin { memmove(target, origin, bytes) }
        default: if let origin { kernel(origin, target, count) }
        }
    }

    /// One element's atomic accumulate on an 8-byte word: returns the old value.
    private static func atomicAccumulate(
        _ word: UnsafeMutablePointer<Atomic<Int>>, _ operand: Int, _ operation: Reduction.Builtin, _ type: Datatype,
        _ kernel: Reduction.Kernel
    ) -> Int {
        let integer = type.builtin != .float64
        switch operation {
        case .noOp: return word.pointee.load(ordering: .sequentiallyConsistent)
        case .replace: return word.pointee.exchange(operand, ordering: .sequentiallyConsistent)
        case .sum where integer: return word.pointee.wrappingAdd(operand, ordering: .sequentiallyConsistent).oldValue
        case .bitwiseAnd: return word.pointee.bitwiseAnd(operand, ordering: .sequentiallyConsistent).oldValue
        case .bitwiseOr: return word.pointee.bitwiseOr(operand, ordering: .sequentiallyConsistent).oldValue
        case .bitwiseXor: return word.pointee.bitwiseXor(operand, ordering: .sequentiallyConsistent).oldValue
        default:
            var old = word.pointee.load(ordering: .relaxed)
            var input = operand
            while true {
                var new = old
                withUnsafeMutableBytes(of: &new) { output in
                    withUnsafeBytes(of: &input) { kernel($0.baseAddress!, output.baseAddress!, 1) }
                }
                let outcome = word.pointee.compareExchange(expected: old, desired: new, ordering: .sequentiallyConsistent)
                if outcome.exchanged { return old }
                old = outcome.original
            }
        }
    }

    private func withAccumulateLock(_ window: SharedWindow, _ target: Int, _ body: () throws(MPIError) -> Void) throws(MPIError) {
        let word = window.accumulateLock(target)
        if !word.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            try awaitCondition("wait for the accumulate lock of rank \(target)'s window") {
                word.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged
            }
        }
        defer { word.pointee.store(0, ordering: .releasing) }
        try body()
    }

    private func crossMemory(_ status: Int32, _ what: String, _ target: Int) throws(MPIError) {
        guard status != 0 else { return }
        throw MPIError(.other, "\(what) on rank \(target)'s window failed: cross-memory attach: \(String(cString: strerror(status)))")
    }

    // MARK: Synchronization

    package func fence(_ handle: WindowHandle, assertions: Int) throws(MPIError) {
        let window = window(handle)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        try barrier(window.comm)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    package func post(_ handle: WindowHandle, origins: [Int], assertions: Int) throws(MPIError) {
        let window = window(handle)
        window.exposureOrigins = origins
        for origin in origins { window.posts(window.rank, origin).pointee.wrappingAdd(1, ordering: .releasing) }
    }

    package func start(_ handle: WindowHandle, targets: [Int], assertions: Int) throws(MPIError) {
        let window = window(handle)
        window.accessTargets = targets
        for target in targets { window.exposed[target] = false }
    }

    /// Waits, inside an access epoch of `start`, until `target` has posted its exposure epoch
    /// (lazily: `start` does not wait, the first operation to each target does).
    @inline(__always)
    private func awaitExposure(_ window: SharedWindow, _ target: Int) throws(MPIError) {
        guard !window.accessTargets.isEmpty, !window.exposed[target], window.accessTargets.contains(target) else { return }
        let posted = window.posts(target, window.rank)
        let used = Int(truncatingIfNeeded: window.postsUsed[target])
        try awaitCondition("wait for rank \(target) of a window to post an exposure epoch (its post(_:) matching this start(_:))") {
            posted.pointee.load(ordering: .acquiring) > used
        }
        window.exposed[target] = true
    }

    package func complete(_ handle: WindowHandle) throws(MPIError) {
        let window = window(handle)
        for target in window.accessTargets {
            try awaitExposure(window, target)
            window.postsUsed[target] += 1
            window.completions(target, window.rank).pointee.wrappingAdd(1, ordering: .releasing)
        }
        window.accessTargets = []
    }

    package func waitExposure(_ handle: WindowHandle, blocking: Bool) throws(MPIError) -> Bool {
        let window = window(handle)
        let me = window.rank
        func done(_ origin: Int) -> Bool {
            window.completions(me, origin).pointee.load(ordering: .acquiring) > Int(truncatingIfNeeded: window.completionsUsed[origin])
        }
        if blocking {
            for origin in window.exposureOrigins where !done(origin) {
                try awaitCondition("wait for rank \(origin) of a window to complete its access epoch (its complete() matching this wait())") { done(origin) }
            }
        } else {
            guard window.exposureOrigins.allSatisfy(done) else { return false }
        }
        for origin in window.exposureOrigins { window.completionsUsed[origin] += 1 }
        window.exposureOrigins = []
        return true
    }

    package func lock(_ handle: WindowHandle, target: Int, type: LockType, assertions: Int) throws(MPIError) {
        let window = window(handle)
        let take = assertions & WindowAssertions.noCheck.rawValue == 0
        if take { try takeLock(window, target, type) }
        window.held[target] = (type, take)
    }

    package func unlock(_ handle: WindowHandle, target: Int) throws(MPIError) {
        let window = window(handle)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if let held = window.held.removeValue(forKey: target), held.taken { releaseLock(window, target, held.type) }
    }

    package func lockAll(_ handle: WindowHandle, assertions: Int) throws(MPIError) {
        let window = window(handle)
        let take = assertions & WindowAssertions.noCheck.rawValue == 0
        if take {
            for target in 0..<window.size { try takeLock(window, target, .shared) }
        }
        window.lockAllTaken = take
    }

    package func unlockAll(_ handle: WindowHandle) throws(MPIError) {
        let window = window(handle)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if window.lockAllTaken {
            for target in 0..<window.size { releaseLock(window, target, .shared) }
        }
        window.lockAllTaken = false
    }

    /// Every operation is complete when its call returns; a flush only orders this rank's
    /// accesses before it against its later ones (free on x86, where stores are not reordered).
    package func flush(_ handle: WindowHandle, target: Int?, local: Bool) throws(MPIError) {
        atomicMemoryFence(ordering: .acquiringAndReleasing)
    }

    /// The public and private copies of a window are the same memory here: a fence suffices.
    package func sync(_ handle: WindowHandle) throws(MPIError) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    private func takeLock(_ window: SharedWindow, _ target: Int, _ type: LockType) throws(MPIError) {
        let word = window.lockWord(target)
        func attempt() -> Bool {
            switch type {
            case .exclusive:
                return word.pointee.compareExchange(expected: 0, desired: -1, ordering: .acquiring).exchanged
            case .shared:
                let current = word.pointee.load(ordering: .relaxed)
                guard current >= 0 else { return false }
                return word.pointee.compareExchange(expected: current, desired: current + 1, ordering: .acquiring).exchanged
            }
        }
        if attempt() { return }
        try awaitCondition("wait for a\(type == .exclusive ? "n exclusive" : " shared") lock on rank \(target)'s window (another rank holds a conflicting lock)") { attempt() }
    }

    private func releaseLock(_ window: SharedWindow, _ target: Int, _ type: LockType) {
        let word = window.lockWord(target)
        switch type {
        case .exclusive: word.pointee.store(0, ordering: .releasing)
        case .shared: word.pointee.wrappingSubtract(1, ordering: .releasing)
        }
    }

    /// Waits until `ready` holds, progressing this rank's messages meanwhile (a peer may need
    /// them to reach the call that makes `ready` true) and ending with an error when the job dies.
    private func awaitCondition(_ what: @autoclosure () -> String, _ ready: () -> Bool) throws(MPIError) {
        if ready() { return }
        let call = BlockedCall.window(what())
        lockEngine()
        defer { unlockEngine() }
        var backoff = engine.pointee.backoffTemplate
        while !ready() {
            if try engine.pointee.progress() { backoff.reset() } else { try engine.pointee.idle(&backoff, in: call) }
        }
    }
}
