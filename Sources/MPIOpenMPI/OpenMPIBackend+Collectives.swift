#if OpenMPI
import CMPI
import MPICore

// Collective operations (MPI-4.1 chapter 6) on Open MPI: one `MPI_*` call each, blocking or its
// `MPI_I*` form. The arguments Open MPI needs besides the buffers (wire datatypes, `int` count
// arrays, the operation and a Swift reduction's datatype) live in a `CollectiveArguments`, which a
// nonblocking call hands back as the request's resources so they outlive the operation.
//
// Counts: data-moving operations send more than `Int32.max` elements through WireType's derived
// datatypes. Reductions cannot (MPI's predefined operations work on predefined datatypes only),
// so a blocking reduce, all-reduce or scan of more elements runs in chunks of 2³⁰; the other
// cases with an `int` count or displacement out of range throw `MPIError(.count)`.

extension OpenMPIBackend {
    package func collective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError) {
        if checksCollectives { try verify(operation, comm: comm) }
        try run(operation, comm: comm)
    }

    private func run(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError) {
        if operation.reduction != nil && operation.count > Int(Int32.max) && operation.kind.isElementwise {
            try collectiveInChunks(operation, comm: comm)
            return
        }
        // A value on the stack: a blocking call allocates nothing unless its counts need `int`
        // copies (the v variants) or a Swift reduction needs a datatype.
        let arguments = try CollectiveArguments(operation)
        defer { arguments.release() }
        try check(invoke(operation, arguments, comm: comm.mpi, request: nil), arguments.call(operation, blocking: true),
            arguments.context(operation))
    }

    package func immediateCollective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError)
        -> (request: RequestHandle, resources: AnyObject?)
    {
        if checksCollectives { try verify(operation, comm: comm) }
        let arguments = PendingCollectiveArguments(try CollectiveArguments(operation))
        var request: MPI_Request?
        try check(invoke(operation, arguments.arguments, comm: comm.mpi, request: &request),
            arguments.arguments.call(operation, blocking: false), arguments.arguments.context(operation))
        return (RequestHandle(raw: UInt(bitPattern: request)), arguments)
    }

    package func persistentCollective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError)
        -> (request: RequestHandle, resources: AnyObject?)
    {
        // Checked mode compares the arguments once, here: the making is ordered like any collective.
        if checksCollectives { try verify(operation, comm: comm) }
        let arguments = PendingCollectiveArguments(try CollectiveArguments(operation))
        let record = requestRecords.take(RequestRecord(
            request: nil, isSend: true, isPersistent: true, buffer: nil, count: operation.count, type: operation.type,
            peer: -1, tag: -1, comm: comm, mode: .standard, wire: nil, collective: operation.kind))
        let code = initialize(operation, arguments.arguments, comm: comm.mpi, request: &record.pointee.request)
        guard code == MPI_SUCCESS else {
            requestRecords.recycle(record)
            throw mpiError(code: code, call: CollectiveArguments.initializer(operation.kind), context: arguments.arguments.context(operation))
        }
        return (RequestHandle(record: record), arguments)
    }

    /// What every C collective call takes: the send buffer (`MPI_IN_PLACE` in place), the root,
    /// count, datatype and operation.
    private func operands(
        _ operation: CollectiveFields, _ arguments: CollectiveArguments
    ) -> (send: UnsafeRawPointer?, root: Int32, count: Int32, type: MPI_Datatype, op: MPI_Op?) {
        (operation.inPlace ? UnsafeRawPointer(cmpi_in_place()) : operation.send, Int32(truncatingIfNeeded: operation.root),
            arguments.count, arguments.datatype, arguments.operation)
    }

    /// Makes the persistent request of `operation` with Open MPI 4.1's `MPIX_*_init` (MPI-4's
    /// `MPI_*_init`, which 4.1 offers through its `pcollreq` extension).
    private func initialize(
        _ operation: CollectiveFields, _ arguments: CollectiveArguments, comm: MPI_Comm, request: UnsafeMutablePointer<MPI_Request?>
    ) -> Int32 {
        let (send, root, count, type, op) = operands(operation, arguments)
        let info = cmpi_info_null()
        switch operation.kind {
        case .barrier:
            return MPIX_Barrier_init(comm, info, request)
        case .broadcast:
            return MPIX_Bcast_init(operation.receive, count, type, root, comm, info, request)
        case .reduce:
            return MPIX_Reduce_init(send, operation.receive, count, type, op, root, comm, info, request)
        case .allReduce:
            return MPIX_Allreduce_init(send, operation.receive, count, type, op, comm, info, request)
        case .scan:
            return MPIX_Scan_init(send, operation.receive, count, type, op, comm, info, request)
        case .exclusiveScan:
            return MPIX_Exscan_init(send, operation.receive, count, type, op, comm, info, request)
        case .reduceScatterBlock:
            return MPIX_Reduce_scatter_block_init(send, operation.receive, count, type, op, comm, info, request)
        case .reduceScatter:
            return MPIX_Reduce_scatter_init(send, operation.receive, arguments.receiveCounts, type, op, comm, info, request)
        case .gather:
            return MPIX_Gather_init(send, count, type, operation.receive, count, type, root, comm, info, request)
        case .scatter:
            let receive = operation.inPlace ? cmpi_in_place() : operation.receive
            return MPIX_Scatter_init(operation.send, count, type, receive, count, type, root, comm, info, request)
        case .allGather:
            return MPIX_Allgather_init(send, count, type, operation.receive, count, type, comm, info, request)
        case .allToAll:
            return MPIX_Alltoall_init(send, count, type, operation.receive, count, type, comm, info, request)
        case .gatherv:
            return MPIX_Gatherv_init(send, count, type, operation.receive, arguments.receiveCounts, arguments.receiveDisplacements,
                type, root, comm, info, request)
        case .scatterv:
            let receive = operation.inPlace ? cmpi_in_place() : operation.receive
            return MPIX_Scatterv_init(operation.send, arguments.sendCounts, arguments.sendDisplacements, type, receive, count, type,
                root, comm, info, request)
        case .allGatherv:
            return MPIX_Allgatherv_init(send, count, type, operation.receive, arguments.receiveCounts, arguments.receiveDisplacements,
                type, comm, info, request)
        case .allToAllv:
            return MPIX_Alltoallv_init(send, arguments.sendCounts, arguments.sendDisplacements, type, operation.receive,
                arguments.receiveCounts, arguments.receiveDisplacements, type, comm, info, request)
        }
    }

    /// Compares the arguments across the ranks of `comm` (checked mode, `CollectiveCheck`).
    private func verify(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError) {
        try CollectiveCheck.verify(operation, comm: comm.mpi, rank: rank(of: comm), size: size(of: comm))
    }

    /// A reduction of more than `Int32.max` elements as consecutive reductions of 2³⁰.
    private func collectiveInChunks(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError) {
        let chunk = WireType.chunkElements
        let elementBytes = operation.type.extent
        var done = 0
        while done < operation.count {
            var part = operation
            part.count = min(chunk, operation.count - done)
            part.send = operation.send.map { $0 + done * elementBytes }
            part.receive = operation.receive.map { $0 + done * elementBytes }
            try run(part, comm: comm)
            done += part.count
        }
    }

    /// Calls the operation's `MPI_*` function, or its `MPI_I*` form when `request` is given.
    private func invoke(
        _ operation: CollectiveFields, _ arguments: CollectiveArguments, comm: MPI_Comm, request: UnsafeMutablePointer<MPI_Request?>?
    ) -> Int32 {
        let (send, root, count, type, op) = operands(operation, arguments)
        switch operation.kind {
        case .barrier:
            return request.map { MPI_Ibarrier(comm, $0) } ?? MPI_Barrier(comm)
        case .broadcast:
            return request.map { MPI_Ibcast(operation.receive, count, type, root, comm, $0) }
                ?? MPI_Bcast(operation.receive, count, type, root, comm)
        case .reduce:
            return request.map { MPI_Ireduce(send, operation.receive, count, type, op, root, comm, $0) }
                ?? MPI_Reduce(send, operation.receive, count, type, op, root, comm)
        case .allReduce:
            return request.map { MPI_Iallreduce(send, operation.receive, count, type, op, comm, $0) }
                ?? MPI_Allreduce(send, operation.receive, count, type, op, comm)
        case .scan:
            return request.map { MPI_Iscan(send, operation.receive, count, type, op, comm, $0) }
                ?? MPI_Scan(send, operation.receive, count, type, op, comm)
        case .exclusiveScan:
            return request.map { MPI_Iexscan(send, operation.receive, count, type, op, comm, $0) }
                ?? MPI_Exscan(send, operation.receive, count, type, op, comm)
        case .reduceScatterBlock:
            return request.map { MPI_Ireduce_scatter_block(send, operation.receive, count, type, op, comm, $0) }
                ?? MPI_Reduce_scatter_block(send, operation.receive, count, type, op, comm)
        case .reduceScatter:
            let counts = arguments.receiveCounts
            return request.map { MPI_Ireduce_scatter(send, operation.receive, counts, type, op, comm, $0) }
                ?? MPI_Reduce_scatter(send, operation.receive, counts, type, op, comm)
        case .gather:
            return request.map { MPI_Igather(send, count, type, operation.receive, count, type, root, comm, $0) }
                ?? MPI_Gather(send, count, type, operation.receive, count, type, root, comm)
        case .scatter:
            // In place, the root's block stays in its send buffer: the receive buffer is the marker.
            let receive = operation.inPlace ? cmpi_in_place() : operation.receive
            return request.map { MPI_Iscatter(operation.send, count, type, receive, count, type, root, comm, $0) }
                ?? MPI_Scatter(operation.send, count, type, receive, count, type, root, comm)
        case .allGather:
            return request.map { MPI_Iallgather(send, count, type, operation.receive, count, type, comm, $0) }
                ?? MPI_Allgather(send, count, type, operation.receive, count, type, comm)
        case .allToAll:
            return request.map { MPI_Ialltoall(send, count, type, operation.receive, count, type, comm, $0) }
                ?? MPI_Alltoall(send, count, type, operation.receive, count, type, comm)
        case .gatherv:
            let (counts, displacements) = (arguments.receiveCounts, arguments.receiveDisplacements)
            return request.map { MPI_Igatherv(send, count, type, operation.receive, counts, displacements, type, root, comm, $0) }
                ?? MPI_Gatherv(send, count, type, operation.receive, counts, displacements, type, root, comm)
        case .scatterv:
            let (counts, displacements) = (arguments.sendCounts, arguments.sendDisplacements)
            let receive = operation.inPlace ? cmpi_in_place() : operation.receive
            return request.map { MPI_Iscatterv(operation.send, counts, displacements, type, receive, count, type, root, comm, $0) }
                ?? MPI_Scatterv(operation.send, counts, displacements, type, receive, count, type, root, comm)
        case .allGatherv:
            let (counts, displacements) = (arguments.receiveCounts, arguments.receiveDisplacements)
            return request.map { MPI_Iallgatherv(send, count, type, operation.receive, counts, displacements, type, comm, $0) }
                ?? MPI_Allgatherv(send, count, type, operation.receive, counts, displacements, type, comm)
        case .allToAllv:
            let (sendCounts, sendDisplacements) = (arguments.sendCounts, arguments.sendDisplacements)
            let (receiveCounts, receiveDisplacements) = (arguments.receiveCounts, arguments.receiveDisplacements)
            return request.map {
                MPI_Ialltoallv(send, sendCounts, sendDisplacements, type, operation.receive, receiveCounts, receiveDisplacements, type, comm, $0)
            } ?? MPI_Alltoallv(send, sendCounts, sendDisplacements, type, operation.receive, receiveCounts, receiveDisplacements, type, comm)
        }
    }
}

extension Collective.Kind {
    /// Reductions that combine element by element, so a long vector can go in pieces.
    var isElementwise: Bool {
        switch self {
        case .reduce, .allReduce, .scan, .exclusiveScan: true
        default: false
        }
    }
}

/// The arguments of a nonblocking collective, kept alive (as the request's resources) until the
/// operation completes.
final class PendingCollectiveArguments {
    let arguments: CollectiveArguments

    init(_ arguments: CollectiveArguments) { self.arguments = arguments }

    deinit {
        var finalized: Int32 = 0
        _ = MPI_Finalized(&finalized)
        arguments.release(finalized: finalized != 0)
    }
}

/// What an Open MPI collective call needs besides its buffers, converted from the public API's
/// values; `release()` frees what it owns once the operation is over.
struct CollectiveArguments {
    /// The count and datatype of the data: a `WireType` for the data-moving operations; the
    /// element datatype (with counts in elements) for reductions and the v variants.
    let count: Int32
    let datatype: MPI_Datatype
    private let wire: WireType?
    /// The reduction's operation and, for a Swift reduction, its registered datatype.
    let operation: MPI_Op?
    private let userReduction: UserReduction?
    /// `int` copies of the counts and displacements (`nil` when not used).
    let sendCounts: UnsafePointer<Int32>?
    let sendDisplacements: UnsafePointer<Int32>?
    let receiveCounts: UnsafePointer<Int32>?
    let receiveDisplacements: UnsafePointer<Int32>?

    init(_ collective: CollectiveFields) throws(MPIError) {
        let type = collective.type
        // Run elements travel as their scalars in the v variants: counts scale by the run.
        let scale = type.isPrimitive ? type.run : 1
        func ints(_ values: UnsafeBufferPointer<Int>, _ what: String) throws(MPIError) -> UnsafePointer<Int32>? {
            guard !values.isEmpty else { return nil }
            let result = UnsafeMutableBufferPointer<Int32>.allocate(capacity: values.count)
            for (index, value) in values.enumerated() {
                let (scaled, overflow) = value.multipliedReportingOverflow(by: scale)
                guard !overflow, let int = Int32(exactly: scaled) else {
                    result.deallocate()
                    throw MPIError(.count, "\(collective.kind): \(what)[\(index)] = \(value) elements of \(type) exceeds Open MPI's int range")
                }
                result[index] = int
            }
            return UnsafePointer(result.baseAddress)
        }
        var userReduction: UserReduction?
        var operation: MPI_Op?
        var wire: WireType?
        let count: Int32
        let datatype: MPI_Datatype
        switch collective.kind {
        case .reduce, .allReduce, .scan, .exclusiveScan, .reduceScatterBlock, .reduceScatter:
            let reduction = collective.reduction!
            guard let elements = Int32(exactly: collective.count) else {
                throw MPIError(.count, "\(collective.kind) of \(collective.count) elements exceeds Open MPI's int range (blocking reduce, all-reduce and scans split longer vectors; this operation cannot)")
            }
            count = elements
            if let native = reduction.nativeOperation(on: type) {
                operation = native
                datatype = type.builtin.mpi
            } else {
                let user = type.isPrimitive
                    ? try UserReduction(elementSize: type.size, kernel: reduction.kernel)
                    : try UserReduction(duplicating: DerivedDatatype.mpi(for: type), kernel: reduction.kernel)
                userReduction = user
                operation = try UserReduction.operation(commutative: reduction.isCommutative)
                datatype = user.datatype
            }
        case .gatherv, .scatterv, .allGatherv, .allToAllv:
            let (scaled, overflow) = collective.count.multipliedReportingOverflow(by: scale)
            guard !overflow, let elements = Int32(exactly: scaled) else {
                throw MPIError(.count, "\(collective.kind) of \(collective.count) elements of \(type) exceeds Open MPI's int range")
            }
            count = elements
            datatype = type.isPrimitive ? type.builtin.mpi : try DerivedDatatype.mpi(for: type)
        default:
            let data = try WireType(count: collective.count, element: type)
            wire = data
            count = data.count
            datatype = data.datatype
        }
        self.count = count
        self.datatype = datatype
        self.wire = wire
        self.operation = operation
        self.userReduction = userReduction
        // Every path below must leave the arrays owned, for `release()` to free them.
        var sendCounts: UnsafePointer<Int32>?
        var sendDisplacements: UnsafePointer<Int32>?
        var receiveCounts: UnsafePointer<Int32>?
        var receiveDisplacements: UnsafePointer<Int32>?
        // Only the v variants and reduce-scatter carry counts.
        if !(collective.sendCounts.isEmpty && collective.sendDisplacements.isEmpty && collective.receiveCounts.isEmpty
            && collective.receiveDisplacements.isEmpty) {
            do {
                sendCounts = try ints(collective.sendCounts, "send count")
                sendDisplacements = try ints(collective.sendDisplacements, "send displacement")
                receiveCounts = try ints(collective.receiveCounts, collective.kind == .reduceScatter ? "count" : "receive count")
                receiveDisplacements = try ints(collective.receiveDisplacements, "receive displacement")
            } catch {
                sendCounts?.deallocate()
                sendDisplacements?.deallocate()
                receiveCounts?.deallocate()
                wire?.release()
                throw error
            }
        }
        self.sendCounts = sendCounts
        self.sendDisplacements = sendDisplacements
        self.receiveCounts = receiveCounts
        self.receiveDisplacements = receiveDisplacements
    }

    /// Frees the count arrays and the wire datatype (which `MPI_Finalize` already freed, when
    /// `finalized`).
    func release(finalized: Bool = false) {
        sendCounts?.deallocate()
        sendDisplacements?.deallocate()
        receiveCounts?.deallocate()
        receiveDisplacements?.deallocate()
        if !finalized { wire?.release() }
    }

    /// The C function's name, for error messages.
    func call(_ collective: CollectiveFields, blocking: Bool) -> StaticString {
        switch (collective.kind, blocking) {
        case (.barrier, true): "MPI_Barrier"
        case (.barrier, false): "MPI_Ibarrier"
        case (.broadcast, true): "MPI_Bcast"
        case (.broadcast, false): "MPI_Ibcast"
        case (.reduce, true): "MPI_Reduce"
        case (.reduce, false): "MPI_Ireduce"
        case (.allReduce, true): "MPI_Allreduce"
        case (.allReduce, false): "MPI_Iallreduce"
        case (.scan, true): "MPI_Scan"
        case (.scan, false): "MPI_Iscan"
        case (.exclusiveScan, true): "MPI_Exscan"
        case (.exclusiveScan, false): "MPI_Iexscan"
        case (.reduceScatterBlock, true): "MPI_Reduce_scatter_block"
        case (.reduceScatterBlock, false): "MPI_Ireduce_scatter_block"
        case (.reduceScatter, true): "MPI_Reduce_scatter"
        case (.reduceScatter, false): "MPI_Ireduce_scatter"
        case (.gather, true): "MPI_Gather"
        case (.gather, false): "MPI_Igather"
        case (.gatherv, true): "MPI_Gatherv"
        case (.gatherv, false): "MPI_Igatherv"
        case (.scatter, true): "MPI_Scatter"
        case (.scatter, false): "MPI_Iscatter"
        case (.scatterv, true): "MPI_Scatterv"
        case (.scatterv, false): "MPI_Iscatterv"
        case (.allGather, true): "MPI_Allgather"
        case (.allGather, false): "MPI_Iallgather"
        case (.allGatherv, true): "MPI_Allgatherv"
        case (.allGatherv, false): "MPI_Iallgatherv"
        case (.allToAll, true): "MPI_Alltoall"
        case (.allToAll, false): "MPI_Ialltoall"
        case (.allToAllv, true): "MPI_Alltoallv"
        case (.allToAllv, false): "MPI_Ialltoallv"
        }
    }

    /// The persistent form's C function, for error messages.
    static func initializer(_ kind: Collective.Kind) -> StaticString {
        switch kind {
        case .barrier: "MPIX_Barrier_init"
        case .broadcast: "MPIX_Bcast_init"
        case .reduce: "MPIX_Reduce_init"
        case .allReduce: "MPIX_Allreduce_init"
        case .scan: "MPIX_Scan_init"
        case .exclusiveScan: "MPIX_Exscan_init"
        case .reduceScatterBlock: "MPIX_Reduce_scatter_block_init"
        case .reduceScatter: "MPIX_Reduce_scatter_init"
        case .gather: "MPIX_Gather_init"
        case .gatherv: "MPIX_Gatherv_init"
        case .scatter: "MPIX_Scatter_init"
        case .scatterv: "MPIX_Scatterv_init"
        case .allGather: "MPIX_Allgather_init"
        case .allGatherv: "MPIX_Allgatherv_init"
        case .allToAll: "MPIX_Alltoall_init"
        case .allToAllv: "MPIX_Alltoallv_init"
        }
    }

    /// What the failed call was doing.
    func context(_ collective: CollectiveFields) -> String {
        var text = "\(collective.kind) of \(collective.count) \(collective.type) elements"
        if collective.kind.isRooted { text += " with root \(collective.root)" }
        if let reduction = collective.reduction {
            text += reduction.builtin.map { ", operation \($0)" } ?? ", a Swift reduction"
        }
        if collective.inPlace { text += ", in place" }
        return text
    }
}

extension OpenMPIBackend {
    /// `MPI_Alltoallw` with each block's wire datatype (a derived datatype for a layout or a
    /// count past `Int32.max`), displacements in bytes.
    package func allToAllw(
        _ send: UnsafeRawPointer?, _ sendBlocks: [TypedBlock],
        into receive: UnsafeMutableRawPointer?, _ receiveBlocks: [TypedBlock], comm: CommHandle
    ) throws(MPIError) {
        var wires: [WireType] = []
        defer { for wire in wires { wire.release() } }
        func arrays(_ blocks: [TypedBlock]) throws(MPIError) -> (counts: [Int32], displacements: [Int32], types: [MPI_Datatype?]) {
            var counts: [Int32] = [], displacements: [Int32] = [], types: [MPI_Datatype?] = []
            for block in blocks {
                let wire = try WireType(count: block.count, element: block.type)
                wires.append(wire)
                guard let displacement = Int32(exactly: block.byteOffset) else {
                    throw MPIError(.count, "allToAllw: a block \(block.byteOffset) bytes into its buffer is past Open MPI's int displacements")
                }
                counts.append(wire.count)
                displacements.append(displacement)
                types.append(wire.datatype)
            }
            return (counts, displacements, types)
        }
        let outgoing = try arrays(sendBlocks)
        let incoming = try arrays(receiveBlocks)
        try check(MPI_Alltoallw(send, outgoing.counts, outgoing.displacements, outgoing.types,
            receive, incoming.counts, incoming.displacements, incoming.types, comm.mpi), "MPI_Alltoallw")
    }
}
#endif
