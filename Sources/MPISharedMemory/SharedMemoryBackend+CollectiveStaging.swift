import MPICore

// Derived datatypes in the shared-memory backend's collectives. Point-to-point operations hand
// a datatype whose data does not fill its extent to the engine, which gathers each ring fragment
// from the caller's elements as it writes it and scatters each arriving fragment into the
// receive's data positions (`Engine.copyPayload`, `Engine.deliver`). The collective schedules
// move byte runs instead: the operation is rewritten here onto staging buffers, packed for data
// movement and whole extents for reductions, and the results are copied home when it completes.

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
    func stage(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError) -> (CollectiveFields, CollectiveStaging?) {
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
