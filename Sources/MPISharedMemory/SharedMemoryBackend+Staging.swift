import MPICore

#if canImport(Glibc)
import Glibc
#endif

// Derived datatypes on the shared-memory backend. The transport moves bytes; a datatype whose
// data fills its extent (predefined ones, dense structs) is moved straight from and into the
// caller's memory. Any other (a struct datatype with padding or fields left out, a strided
// layout) travels packed, `size` bytes per element: the sender gathers its blocks into a staging
// buffer, the receiver receives into one and scatters the data into the blocks of the caller's
// memory when the receive completes, so nothing outside the datatype's data is written.
// Nonblocking and persistent requests keep their staging buffer in the engine's `staged` table
// under their request handle until they complete (or, persistent, are released).

/// A staging buffer and where its data goes.
struct StagedTransfer {
    let packed: UnsafeMutableRawPointer
    /// The caller's memory (elements laid out `type.extent` apart).
    let user: UnsafeMutableRawPointer?
    let count: Int
    let type: Datatype
    let isReceive: Bool

    /// Whether `packed` is borrowed from the backend's scratch rather than owned.
    let borrowed: Bool

    /// Allocates the packed buffer for `count` elements of `type` (or borrows `scratch`, when
    /// given and large enough); for a send, packs `user`.
    init(_ type: Datatype, count: Int, user: UnsafeRawPointer?, isReceive: Bool, scratch: ScratchBuffer? = nil) throws(MPIError) {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: type.size)
        guard !overflow else { throw MPIError(.count, "count \(count) of \(type) overflows the address space") }
        if let scratch {
            packed = scratch.reserve(bytes)
            borrowed = true
        } else {
            packed = .allocate(byteCount: max(bytes, 1), alignment: 16)
            borrowed = false
        }
        self.user = UnsafeMutableRawPointer(mutating: user)
        self.count = count
        self.type = type
        self.isReceive = isReceive
        if !isReceive { pack() }
    }

    /// Gathers the caller's data into the packed buffer (again, for a restarted persistent send).
    func pack() {
        if let user, count > 0 { type.pack(user, count: count, into: packed) }
    }

    /// Scatters `bytes` received bytes into the caller's memory.
    func unpack(_ bytes: Int) {
        if let user, bytes > 0 { type.unpack(packed, bytes: min(bytes, count * type.size), into: user) }
    }

    func free() { if !borrowed { packed.deallocate() } }
}

/// A staging buffer a blocking operation borrows instead of allocating one per message: kept by
/// the backend, grown when a larger message comes. Only used below `ThreadLevel.multiple`,
/// where one thread at a time is inside the library.
final class ScratchBuffer {
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0

    func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > capacity || base == nil {
            base?.deallocate()
            capacity = max(bytes, 2 * capacity, 4096)
            base = .allocate(byteCount: capacity, alignment: 64)
        }
        return base!
    }

    deinit { base?.deallocate() }
}

extension SharedMemoryBackend {
    /// Scratch buffer `index` (0 for sends, 1 for receives) for a blocking operation, `nil` at
    /// `ThreadLevel.multiple`.
    private func scratch(_ index: Int) -> ScratchBuffer? {
        engine.pointee.lock == nil ? engine.pointee.scratch[index] : nil
    }

    /// A blocking send of a datatype that does not fill its extent.
    func sendStaged(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype, to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) {
        let staged = try StagedTransfer(type, count: count, user: buffer, isReceive: false, scratch: scratch(0))
        defer { staged.free() }
        try send(staged.packed, count: count * type.size, type: .byte, to: dest, tag: tag, comm: comm, mode: mode)
    }

    /// A blocking receive of a datatype that does not fill its extent.
    func receiveStaged(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype, from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> Status {
        let staged = try StagedTransfer(type, count: count, user: buffer, isReceive: true, scratch: scratch(1))
        defer { staged.free() }
        let status = try receive(into: staged.packed, count: count * type.size, type: .byte, from: source, tag: tag, comm: comm)
        staged.unpack(status.byteCount)
        return status
    }

    /// A send-receive where either side's datatype does not fill its extent.
    func sendReceiveStaged(
        _ sendBuffer: UnsafeRawPointer?, sendCount: Int, sendType: Datatype, to dest: Int, sendTag: Int,
        into receiveBuffer: UnsafeMutableRawPointer?, receiveCount: Int, receiveType: Datatype,
        from source: Int, receiveTag: Int, comm: CommHandle
    ) throws(MPIError) -> Status {
        let outgoing = sendType.isDense ? nil : try StagedTransfer(sendType, count: sendCount, user: sendBuffer, isReceive: false, scratch: scratch(0))
        defer { outgoing?.free() }
        let incoming = receiveType.isDense ? nil : try StagedTransfer(receiveType, count: receiveCount, user: receiveBuffer, isReceive: true, scratch: scratch(1))
        defer { incoming?.free() }
        let status = try sendReceive(
            outgoing.map { UnsafeRawPointer($0.packed) } ?? sendBuffer, sendCount: outgoing == nil ? sendCount : sendCount * sendType.size,
            sendType: outgoing == nil ? sendType : .byte, to: dest, sendTag: sendTag,
            into: incoming?.packed ?? receiveBuffer, receiveCount: incoming == nil ? receiveCount : receiveCount * receiveType.size,
            receiveType: incoming == nil ? receiveType : .byte, from: source, receiveTag: receiveTag, comm: comm)
        incoming?.unpack(status.byteCount)
        return status
    }

    /// Starts an immediate or persistent operation on a staging buffer and files it under the
    /// request handle `start` returns.
    func startStaged(
        _ type: Datatype, count: Int, user: UnsafeRawPointer?, isReceive: Bool,
        _ start: (UnsafeMutableRawPointer, Int) throws(MPIError) -> RequestHandle
    ) throws(MPIError) -> RequestHandle {
        let staged = try StagedTransfer(type, count: count, user: user, isReceive: isReceive)
        let request: RequestHandle
        do {
            request = try start(staged.packed, count * type.size)
        } catch {
            staged.free()
            throw error
        }
        lockEngine()
        defer { unlockEngine() }
        if isCompletedAtOnce(request) {
            staged.free()
        } else {
            engine.pointee.staged[request.raw] = staged
        }
        return request
    }

    /// Finishes the staged part of `request`, which just completed with `status` (`nil` when it
    /// failed): a receive's data goes to the caller's memory; the staging buffer is freed unless
    /// the request is persistent (it is reused by the next start).
    func finishStaged(_ request: RequestHandle, status: Status?, persistent: Bool) {
        guard let staged = engine.pointee.staged[request.raw] else { return }
        if staged.isReceive, let status, !status.isCancelled { staged.unpack(status.byteCount) }
        if !persistent {
            engine.pointee.staged.removeValue(forKey: request.raw)
            staged.free()
        }
    }

    /// Frees the staging buffer of a released persistent request.
    func releaseStaged(_ request: RequestHandle) {
        if let staged = engine.pointee.staged.removeValue(forKey: request.raw) { staged.free() }
    }

    /// Packs a staged persistent send's data again before it starts.
    func restartStaged(_ request: RequestHandle) {
        if let staged = engine.pointee.staged[request.raw], !staged.isReceive { staged.pack() }
    }
}

// MARK: Collectives

/// What a collective on a packed-travelling datatype does after the transport is done: scatter
/// results from staging buffers into the caller's memory, then free the staging buffers.
struct CollectiveStaging {
    struct Output {
        let staged: UnsafeRawPointer
        let user: UnsafeMutableRawPointer
        /// Element ranges (start, count) to deliver.
        let ranges: [(start: Int, count: Int)]
        /// Packed (`size` bytes per element) or laid out like the caller's memory (`extent`).
        let packed: Bool
    }

    let type: Datatype
    var buffers: [UnsafeMutableRawPointer] = []
    var outputs: [Output] = []

    init(type: Datatype) { self.type = type }

    mutating func allocate(elements: Int, packed: Bool) -> UnsafeMutableRawPointer {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(elements * (packed ? type.size : type.extent), 1), alignment: 16)
        buffers.append(buffer)
        return buffer
    }

    /// A packed copy of the given element ranges of `user` (placed at the same element indices).
    mutating func packed(_ user: UnsafeRawPointer?, ranges: [(start: Int, count: Int)]) -> UnsafeMutableRawPointer {
        let end = ranges.map { $0.start + $0.count }.max() ?? 0
        let buffer = allocate(elements: end, packed: true)
        if let user {
            for range in ranges where range.count > 0 {
                type.pack(user + range.start * type.extent, count: range.count, into: buffer + range.start * type.size)
            }
        }
        return buffer
    }

    /// A staging buffer whose given element ranges go to `user` when the collective completes.
    mutating func output(to user: UnsafeMutableRawPointer?, ranges: [(start: Int, count: Int)], packed: Bool) -> UnsafeMutableRawPointer? {
        guard let user else { return nil }
        let end = ranges.map { $0.start + $0.count }.max() ?? 0
        let buffer = allocate(elements: end, packed: packed)
        outputs.append(Output(staged: UnsafeRawPointer(buffer), user: user, ranges: ranges, packed: packed))
        return buffer
    }

    func finish() {
        for output in outputs {
            for range in output.ranges where range.count > 0 {
                if output.packed {
                    type.unpack(output.staged + range.start * type.size, bytes: range.count * type.size,
                        into: output.user + range.start * type.extent)
                } else {
                    let offset = range.start * type.extent
                    type.copyData(from: output.staged + offset, count: range.count, to: output.user + offset)
                }
            }
        }
        free()
    }

    func free() {
        for buffer in buffers { buffer.deallocate() }
    }
}

extension Datatype {
    /// Whether the collective engine cannot take this datatype as it is: a composed datatype
    /// (a run of scalars, a registered layout), which it moves as bytes instead.
    var isComposite: Bool { !(layoutID == 0 && (run == 1 || builtin == .byte)) }
}

extension SharedMemoryBackend {
    /// `operation` rewritten for the byte-moving collective engine, and the staging that brings
    /// its results home (`nil` when the caller's memory can be used as it is).
    ///
    /// A dense composed datatype moves as `size`-byte runs. One that does not fill its extent
    /// moves packed for the data-moving collectives; reductions (whose user-defined operation
    /// works on the Swift layout) run on whole extents, read from the caller's memory, and only
    /// the datatype's data is copied into the caller's result.
    func stage(_ operation: Collective, comm: CommHandle) throws(MPIError) -> (Collective, CollectiveStaging?) {
        let type = operation.type
        var op = operation
        if type.isDense {
            op.type = .contiguousBytes(type.size)
            return (op, nil)
        }
        let rank = rank(of: comm)
        let size = size(of: comm)
        var staging = CollectiveStaging(type: type)
        let count = operation.count
        func uniform(_ blocks: Int) -> [(start: Int, count: Int)] { (0..<blocks).map { ($0 * count, count) } }
        func varying(_ counts: UnsafeBufferPointer<Int>, _ displacements: UnsafeBufferPointer<Int>) -> [(start: Int, count: Int)] {
            (0..<counts.count).map { (displacements[$0], counts[$0]) }
        }
        switch operation.kind {
        case .reduce, .allReduce, .scan, .exclusiveScan, .reduceScatterBlock, .reduceScatter:
            op.type = .contiguousBytes(type.extent)
            let results: Int = switch operation.kind {
            case .reduceScatter: operation.receiveCounts[rank]
            default: count
            }
            let delivers = !(operation.kind == .reduce && rank != operation.root) && !(operation.kind == .exclusiveScan && rank == 0)
            if operation.inPlace {
                op.inPlace = false
                op.send = UnsafeRawPointer(operation.receive)
            }
            if delivers {
                op.receive = staging.output(to: operation.receive, ranges: [(0, results)], packed: false)
            } else if operation.kind == .exclusiveScan {
                op.receive = staging.allocate(elements: results, packed: false)
            }
        case .barrier:
            return (op, nil)
        case .broadcast:
            op.type = .contiguousBytes(type.size)
            if rank == operation.root {
                op.receive = staging.packed(operation.receive, ranges: [(0, count)])
            } else {
                op.receive = staging.output(to: operation.receive, ranges: [(0, count)], packed: true)
            }
        case .gather, .allGather:
            op.type = .contiguousBytes(type.size)
            let isRoot = operation.kind == .allGather || rank == operation.root
            if isRoot {
                op.receive = staging.output(to: operation.receive, ranges: uniform(size), packed: true)
                if operation.inPlace, let receive = op.receive, let user = operation.receive {
                    type.pack(user + rank * count * type.extent, count: count, into: receive + rank * count * type.size)
                }
            }
            if !operation.inPlace { op.send = UnsafeRawPointer(staging.packed(operation.send, ranges: [(0, count)])) }
        case .scatter:
            op.type = .contiguousBytes(type.size)
            if rank == operation.root { op.send = UnsafeRawPointer(staging.packed(operation.send, ranges: uniform(size))) }
            if !operation.inPlace { op.receive = staging.output(to: operation.receive, ranges: [(0, count)], packed: true) }
        case .allToAll:
            op.type = .contiguousBytes(type.size)
            let source = operation.inPlace ? UnsafeRawPointer(operation.receive) : operation.send
            op.inPlace = false
            op.send = UnsafeRawPointer(staging.packed(source, ranges: uniform(size)))
            op.receive = staging.output(to: operation.receive, ranges: uniform(size), packed: true)
        case .gatherv, .allGatherv:
            op.type = .contiguousBytes(type.size)
            let isRoot = operation.kind == .allGatherv || rank == operation.root
            if isRoot {
                let ranges = varying(operation.receiveCounts, operation.receiveDisplacements)
                op.receive = staging.output(to: operation.receive, ranges: ranges, packed: true)
                if operation.inPlace, let receive = op.receive, let user = operation.receive {
                    let mine = ranges[rank]
                    type.pack(user + mine.start * type.extent, count: mine.count, into: receive + mine.start * type.size)
                }
            }
            if !operation.inPlace { op.send = UnsafeRawPointer(staging.packed(operation.send, ranges: [(0, count)])) }
        case .scatterv:
            op.type = .contiguousBytes(type.size)
            if rank == operation.root {
                op.send = UnsafeRawPointer(staging.packed(operation.send, ranges: varying(operation.sendCounts, operation.sendDisplacements)))
            }
            if !operation.inPlace { op.receive = staging.output(to: operation.receive, ranges: [(0, count)], packed: true) }
        case .allToAllv:
            op.type = .contiguousBytes(type.size)
            let receiveRanges = varying(operation.receiveCounts, operation.receiveDisplacements)
            if operation.inPlace {
                op.inPlace = false
                op.send = UnsafeRawPointer(staging.packed(operation.receive, ranges: receiveRanges))
                op.sendCounts = operation.receiveCounts
                op.sendDisplacements = operation.receiveDisplacements
            } else {
                op.send = UnsafeRawPointer(staging.packed(operation.send, ranges: varying(operation.sendCounts, operation.sendDisplacements)))
            }
            op.receive = staging.output(to: operation.receive, ranges: receiveRanges, packed: true)
        }
        return (op, staging)
    }
}
