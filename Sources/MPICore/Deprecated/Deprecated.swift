// Spellings of the first API that users may have written, kept for one release as deprecated
// forwards to the one entry point per operation (see CHANGELOG.md and docs/DESIGN.md, "API v2").
// Removed without a forward: the `async` `send`/`receive` on `Communicator` and `async`
// `Request.wait()`, whose sharing a name with the blocking forms was the defect itself — use
// `communicator.async.send(…)` and `request.completion()`.

extension Communicator {
    // MARK: Point-to-point

    @available(*, deprecated, message: "pass an UnsafeBufferPointer: send(UnsafeBufferPointer(start: base, count: count), to:)")
    @inlinable
    public func send<T: MessageElement>(
        _ base: UnsafePointer<T>?, count: Int, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) {
        try checkCount(count)
        if count > 0 && base == nil { throw MPIError(.buffer, "send of \(count) elements from a nil buffer") }
        try send(UnsafeBufferPointer(start: base, count: count), to: dest, tag: tag, mode: mode)
    }

    @available(*, deprecated, message: "pass an UnsafeMutableBufferPointer inout: receive(into: &buffer, from:tag:)")
    @inlinable @discardableResult
    public func receive<T: MessageElement>(
        into base: UnsafeMutablePointer<T>?, count: Int,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try checkCount(count)
        if count > 0 && base == nil { throw MPIError(.buffer, "receive of \(count) elements into a nil buffer") }
        var buffer = UnsafeMutableBufferPointer(start: base, count: count)
        return try receive(into: &buffer, from: source, tag: tag)
    }

    @available(*, deprecated, message: "pass the buffer inout: receive(into: &buffer, from:tag:)")
    @inlinable @discardableResult
    public func receive<T: MessageElement>(
        into buffer: UnsafeMutableBufferPointer<T>, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        var buffer = buffer
        return try receive(into: &buffer, from: source, tag: tag)
    }

    @available(*, deprecated, message: "pass the receive buffer inout: sendReceive(_:to:into: &buffer, from:)")
    @inlinable @discardableResult
    public func sendReceive<S: MessageElement, R: MessageElement>(
        _ sendBuffer: UnsafeBufferPointer<S>, to dest: Int, sendTag: Int = 0,
        into receiveBuffer: UnsafeMutableBufferPointer<R>,
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        var receiveBuffer = receiveBuffer
        return try sendReceive(sendBuffer, to: dest, sendTag: sendTag, into: &receiveBuffer, from: source, receiveTag: receiveTag)
    }

    @available(*, deprecated, message: "pass the buffer inout: sendReceiveReplace(&buffer, to:from:)")
    @inlinable @discardableResult
    public func sendReceiveReplace<T: MessageElement>(
        _ buffer: UnsafeMutableBufferPointer<T>, to dest: Int, sendTag: Int = 0,
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        var buffer = buffer
        return try sendReceiveReplace(&buffer, to: dest, sendTag: sendTag, from: source, receiveTag: receiveTag)
    }

    @available(*, deprecated, renamed: "immediateProbe(from:tag:)")
    @inlinable
    public func iprobe(from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag) throws(MPIError) -> Status? {
        try immediateProbe(from: source, tag: tag)
    }

    @available(*, deprecated, message: "pass an UnsafeBufferPointer: immediateSend(UnsafeBufferPointer(start: base, count: count), to:)")
    @inlinable
    public func unsafeImmediateSend<T: MessageElement>(
        _ base: UnsafePointer<T>?, count: Int, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) throws(MPIError) -> Request {
        try checkCount(count)
        return try immediateSend(UnsafeBufferPointer(start: base, count: count), to: dest, tag: tag, mode: mode)
    }

    @available(*, deprecated, message: "pass an UnsafeMutableBufferPointer: immediateReceive(into: UnsafeMutableBufferPointer(start: base, count: count))")
    @inlinable
    public func unsafeImmediateReceive<T: MessageElement>(
        into base: UnsafeMutablePointer<T>?, count: Int,
        from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> Request {
        try checkCount(count)
        return try immediateReceive(into: UnsafeMutableBufferPointer(start: base, count: count), from: source, tag: tag)
    }

    @available(*, deprecated, renamed: "immediateReceiveArray(of:count:from:tag:)")
    @inlinable
    public func immediateReceive<T: MessageElement>(
        _ type: T.Type, count: Int, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) throws(MPIError) -> ReceiveRequest<T> {
        try immediateReceiveArray(of: type, count: count, from: source, tag: tag)
    }

    // MARK: Collectives in place and on buffer pointers

    @available(*, deprecated, message: "use broadcast(&buffer, root:)")
    @inlinable
    public func broadcast<T: MessageElement>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws(MPIError) {
        var buffer = buffer
        try broadcast(&buffer, root: root)
    }

    @available(*, deprecated, message: "use reduce(.inPlace(), into: &buffer, op:root:) at the root and reduce(buffer, into: &unused, op:root:) elsewhere")
    @inlinable
    public func reduce<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>, root: Int) throws(MPIError) {
        var buffer = buffer
        if rank == root { try reduce(.inPlace(), into: &buffer, op: op, root: root) } else { try reduce(UnsafeBufferPointer(buffer), into: &buffer, op: op, root: root) }
    }

    @available(*, deprecated, message: "use reduce(.inPlace(), into: &buffer, op:root:) at the root")
    @inlinable
    public func reduce<T: MessageElement>(_ buffer: inout [T], op: ReductionOp<T>, root: Int) throws(MPIError) {
        try buffer.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in try reduce(inPlace: buffer, op: op, root: root) }
    }

    @available(*, deprecated, message: "pass the receive buffer inout: reduce(_:into: &receive, op:root:)")
    @inlinable
    public func reduce<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>, root: Int
    ) throws(MPIError) {
        var receive = receive
        try reduce(send, into: &receive, op: op, root: root)
    }

    @available(*, deprecated, message: "use allReduce(.inPlace(), into: &buffer, op:)")
    @inlinable
    public func allReduce<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>) throws(MPIError) {
        var buffer = buffer
        try allReduce(.inPlace(), into: &buffer, op: op)
    }

    @available(*, deprecated, message: "use allReduce(.inPlace(), into: &buffer, op:)")
    @inlinable
    public func allReduce<T: MessageElement>(_ buffer: inout [T], op: ReductionOp<T>) throws(MPIError) {
        try allReduce(.inPlace(), into: &buffer, op: op)
    }

    @available(*, deprecated, message: "pass the receive buffer inout: allReduce(_:into: &receive, op:)")
    @inlinable
    public func allReduce<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>
    ) throws(MPIError) {
        var receive = receive
        try allReduce(send, into: &receive, op: op)
    }

    @available(*, deprecated, message: "use scan(.inPlace(), into: &buffer, op:)")
    @inlinable
    public func scan<T: MessageElement>(_ buffer: inout [T], op: ReductionOp<T>) throws(MPIError) {
        try scan(.inPlace(), into: &buffer, op: op)
    }

    @available(*, deprecated, message: "use scan([value], op:)[0]")
    @inlinable
    public func scan<T: MessageElement>(_ value: T, op: ReductionOp<T>) throws(MPIError) -> T {
        try scan([value], op: op)[0]
    }

    @available(*, deprecated, message: "use exclusiveScan(.inPlace(), into: &buffer, op:)")
    @inlinable
    public func exclusiveScan<T: MessageElement>(_ buffer: inout [T], op: ReductionOp<T>) throws(MPIError) {
        try exclusiveScan(.inPlace(), into: &buffer, op: op)
    }

    @available(*, deprecated, message: "use exclusiveScan([value], op:)?.first")
    @inlinable
    public func exclusiveScan<T: MessageElement>(_ value: T, op: ReductionOp<T>) throws(MPIError) -> T? {
        try exclusiveScan([value], op: op)?.first
    }

    @available(*, deprecated, message: "use allGather(.inPlace(), into: &buffer)")
    @inlinable
    public func allGather<T: MessageElement>(_ buffer: inout [T]) throws(MPIError) {
        try allGather(.inPlace(), into: &buffer)
    }

    @available(*, deprecated, message: "use allToAll(.inPlace(), into: &buffer)")
    @inlinable
    public func allToAll<T: MessageElement>(_ buffer: inout [T]) throws(MPIError) {
        try allToAll(.inPlace(), into: &buffer)
    }

    @available(*, deprecated, message: "use gather(.inPlace(), into: &buffer, root:) at the root and gather(buffer, into: &unused, root:) elsewhere")
    @inlinable
    public func gather<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>, root: Int) throws(MPIError) {
        var buffer = buffer
        if rank == root { try gather(.inPlace(), into: &buffer, root: root) } else { try gather(UnsafeBufferPointer(buffer), into: &buffer, root: root) }
    }

    @available(*, deprecated, message: "use gatherv(_:root:) -> [[T]]?, or gatherv(_:into:counts:root:)")
    @inlinable
    public func gatherv<T: MessageElement>(_ values: [T], counts: [Int], root: Int) throws(MPIError) -> [T]? {
        let atRoot = rank == root
        var result = try makeArray(count: atRoot ? try total(counts, "gatherv counts") : 0) { (_: UnsafeMutableBufferPointer<T>) throws(MPIError) in }
        try gatherv(values, into: &result, counts: counts, root: root)
        return atRoot ? result : nil
    }

    @available(*, deprecated, message: "use allGatherv(_:) -> [[T]], or allGatherv(_:into:counts:)")
    @inlinable
    public func allGatherv<T: MessageElement>(_ values: [T], counts: [Int]) throws(MPIError) -> [T] {
        var result = try makeArray(count: try total(counts, "allGatherv counts")) { (_: UnsafeMutableBufferPointer<T>) throws(MPIError) in }
        try allGatherv(values, into: &result, counts: counts)
        return result
    }

    @available(*, deprecated, message: "use allToAllv(_ blocks: [[T]]), or allToAllv(_:sendCounts:into:receiveCounts:)")
    @inlinable
    public func allToAllv<T: MessageElement>(_ values: [T], sendCounts: [Int], receiveCounts: [Int]) throws(MPIError) -> [T] {
        var result = try makeArray(count: try total(receiveCounts, "allToAllv receive counts")) { (_: UnsafeMutableBufferPointer<T>) throws(MPIError) in }
        try allToAllv(values, sendCounts: sendCounts, into: &result, receiveCounts: receiveCounts)
        return result
    }

    // MARK: Immediate collectives in place

    @available(*, deprecated, message: "use immediateAllReduce(.inPlace(), into: buffer, op:)")
    @inlinable
    public func immediateAllReduce<T: MessageElement>(inPlace buffer: MessageBuffer<T>, op: ReductionOp<T>) throws(MPIError) -> Request {
        try immediateAllReduce(.inPlace(), into: buffer, op: op)
    }

    @available(*, deprecated, message: "use immediateAllGather(.inPlace(), into: buffer)")
    @inlinable
    public func immediateAllGather<T: MessageElement>(inPlace buffer: MessageBuffer<T>) throws(MPIError) -> Request {
        try immediateAllGather(.inPlace(), into: buffer)
    }

    @available(*, deprecated, message: "use immediateAllToAll(.inPlace(), into: buffer)")
    @inlinable
    public func immediateAllToAll<T: MessageElement>(inPlace buffer: MessageBuffer<T>) throws(MPIError) -> Request {
        try immediateAllToAll(.inPlace(), into: buffer)
    }

    @available(*, deprecated, message: "use immediateReduce(.inPlace(), into: buffer, op:root:) at the root")
    @inlinable
    public func immediateReduce<T: MessageElement>(inPlace buffer: MessageBuffer<T>, op: ReductionOp<T>, root: Int) throws(MPIError) -> Request {
        rank == root ? try immediateReduce(.inPlace(), into: buffer, op: op, root: root) : try immediateReduce(buffer, into: buffer, op: op, root: root)
    }
}

extension Communicator {
    @available(*, deprecated, message: "use immediateAllGatherv(_:into:counts:) with a MessageBuffer")
    @inlinable
    public func immediateAllGatherv<T: MessageElement>(_ values: [T], counts: [Int]) throws(MPIError) -> CollectiveRequest<T> {
        try startCollectiveResult(values, count: try total(counts, "allGatherv counts"), origin: RequestOrigin(.allGatherv)) {
            (send, receive, submit) throws(MPIError) in try describeAllGatherv(send, receive, counts: counts, displacements: nil, submit)
        }
    }

    @available(*, deprecated, message: "use immediateGatherv(_:into:counts:root:) with a MessageBuffer")
    @inlinable
    public func immediateGatherv<T: MessageElement>(_ values: [T], counts: [Int], root: Int) throws(MPIError) -> CollectiveRequest<T> {
        try checkCollective(root: root)
        let atRoot = rank == root
        return try startCollectiveResult(values, count: atRoot ? try total(counts, "gatherv counts") : 0,
            roles: CollectiveRoles(receives: atRoot), origin: RequestOrigin(.gatherv)) { (send, receive, submit) throws(MPIError) in
            try describeGatherv(send, receive, counts: counts, displacements: nil, root: root, submit)
        }
    }

    @available(*, deprecated, message: "use immediateScatterv(_:counts:into:root:) with a MessageBuffer")
    @inlinable
    public func immediateScatterv<T: MessageElement>(_ values: [T], counts: [Int], root: Int) throws(MPIError) -> CollectiveRequest<T> {
        try startCollectiveResult(values, count: try ownCount(counts, "scatterv"), roles: CollectiveRoles(sends: rank == root),
            origin: RequestOrigin(.scatterv)) { (send, receive, submit) throws(MPIError) in
            try describeScatterv(send, receive, counts: counts, displacements: nil, root: root, submit)
        }
    }

    @available(*, deprecated, message: "use immediateAllToAllv(_:sendCounts:into:receiveCounts:) with a MessageBuffer")
    @inlinable
    public func immediateAllToAllv<T: MessageElement>(
        _ values: [T], sendCounts: [Int], receiveCounts: [Int]
    ) throws(MPIError) -> CollectiveRequest<T> {
        try startCollectiveResult(values, count: try total(receiveCounts, "allToAllv receive counts"), origin: RequestOrigin(.allToAllv)) {
            (send, receive, submit) throws(MPIError) in
            try describeAllToAllv(send, sendCounts: sendCounts, sendDisplacements: nil,
                receive, receiveCounts: receiveCounts, receiveDisplacements: nil, submit)
        }
    }
}

extension CartesianTopology {
    @available(*, deprecated, renamed: "shift(along:by:)")
    public func shift(dimension: Int, by displacement: Int = 1) throws(MPIError) -> (source: Int, destination: Int) {
        try shift(along: dimension, by: displacement)
    }
}

extension RequestList {
    // MARK: Completion

    /// One request that has completed, if any (`MPI_Testany`); `nil` both when none has and
    /// when none is pending.
    @available(*, deprecated, message: "switch over testAny()'s AnyCompletion, which tells 'none completed' from 'none pending'")
    @_disfavoredOverload
    public mutating func testAny() throws(MPIError) -> (index: Int, status: Status)? {
        guard case .completed(let index, let status) = try testAny() as AnyCompletion else { return nil }
        return (index, status)
    }
}
