// All-to-all (MPI-4.1 §6.8): block `i` of every rank to rank `i` — equal blocks (`MPI_Alltoall`)
// or of different sizes (`MPI_Alltoallv`); into a buffer (in place with `.inPlace()`), as new
// arrays, and immediate.

extension Communicator {
    @inlinable
    func describeAllToAll<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkActive()
        let count: Int
        if let send {
            count = try blockCount(send.count, "allToAll send buffer")
            try checkRoom(receive.count, for: send.count, "allToAll result")
        } else {
            count = try blockCount(receive.count, "allToAll buffer")
        }
        try submit(.allToAll(Collective.Shape(T.datatype, count: count), input(send), result: UnsafeMutableRawPointer(receive.baseAddress)))
    }

    /// Sends block `i` of `send` to rank `i`, which stores it as block `r` of its `receive`
    /// (`MPI_Alltoall`). `send` is size equal blocks; `receive` holds as many elements. With
    /// `.inPlace()`, block `i` of `receive` goes to rank `i` and is replaced by its block.
    @inlinable
    public func allToAll<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive) { (send, receive, submit) throws(MPIError) in try describeAllToAll(send, receive, submit) }
    }

    /// Block `i` of `values` goes to rank `i`; returns the blocks received, in rank order
    /// (`MPI_Alltoall`).
    @inlinable
    public func allToAll<Values: SendBuffer>(_ values: Values) throws(MPIError) -> [Values.Element] {
        try collectiveResult(values, count: try elementCount(values)) { (send, receive, submit) throws(MPIError) in
            try describeAllToAll(send, receive, submit)
        }
    }

    /// Starts `MPI_Ialltoall` of `send` into `receive`.
    @inlinable
    public func immediateAllToAll<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, origin: RequestOrigin(.allToAll)) { (send, receive, submit) throws(MPIError) in
            try describeAllToAll(send, receive, submit)
        }
    }

    /// Starts an all-to-all of `values`; the request returns the blocks received, in rank order
    /// (`MPI_Ialltoall`).
    @inlinable
    public func immediateAllToAll<Values: SendBuffer>(_ values: Values) throws(MPIError) -> CollectiveRequest<Values.Element> {
        try startCollectiveResult(values, count: try elementCount(values), origin: RequestOrigin(.allToAll)) {
            (send, receive, submit) throws(MPIError) in try describeAllToAll(send, receive, submit)
        }
    }

    // MARK: All-to-allv

    @inlinable
    func describeAllToAllv<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, sendCounts: [Int], sendDisplacements: [Int]?,
        _ receive: UnsafeMutableBufferPointer<T>, receiveCounts: [Int], receiveDisplacements: [Int]?,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkActive()
        let receiveDisplacements = try layout(counts: receiveCounts, displacements: receiveDisplacements, room: receive.count, "allToAllv receive")
        guard let send else {
            return try withCounts(receiveCounts, receiveDisplacements) { (counts, displacements) throws(MPIError) in
                try submit(.allToAllv(T.datatype, .inPlace, sendCounts: counts, sendDisplacements: displacements,
                    result: UnsafeMutableRawPointer(receive.baseAddress), receiveCounts: counts, receiveDisplacements: displacements))
            }
        }
        let sendDisplacements = try layout(counts: sendCounts, displacements: sendDisplacements, room: send.count, "allToAllv send", sending: true)
        try withCounts(sendCounts, sendDisplacements) { (sendCounts, sendDisplacements) throws(MPIError) in
            try withCounts(receiveCounts, receiveDisplacements) { (receiveCounts, receiveDisplacements) throws(MPIError) in
                try submit(.allToAllv(T.datatype, .buffer(UnsafeRawPointer(send.baseAddress)),
                    sendCounts: sendCounts, sendDisplacements: sendDisplacements,
                    result: UnsafeMutableRawPointer(receive.baseAddress),
                    receiveCounts: receiveCounts, receiveDisplacements: receiveDisplacements))
            }
        }
    }

    /// Sends `sendCounts[i]` elements at `sendDisplacements[i]` of `send` to rank `i`, and
    /// receives `receiveCounts[i]` elements from rank `i` at `receiveDisplacements[i]` of
    /// `receive` (`MPI_Alltoallv`; displacements default to packed). With `.inPlace()`, the
    /// send counts are ignored: the receive blocks of `receive` go out and are replaced.
    @inlinable
    public func allToAllv<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, sendCounts: [Int], sendDisplacements: [Int]? = nil,
        into receive: inout Receive, receiveCounts: [Int], receiveDisplacements: [Int]? = nil
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive) { (send, receive, submit) throws(MPIError) in
            try describeAllToAllv(send, sendCounts: sendCounts, sendDisplacements: sendDisplacements,
                receive, receiveCounts: receiveCounts, receiveDisplacements: receiveDisplacements, submit)
        }
    }

    /// Sends `blocks[i]` to rank `i` and returns the block each rank sent here; no rank needs to
    /// know the sizes in advance (`MPI_Alltoall` of the counts, then `MPI_Alltoallv`).
    @inlinable
    public func allToAllv<T: MessageElement>(_ blocks: [[T]]) throws(MPIError) -> [[T]] {
        guard blocks.count == size else {
            throw MPIError(.count, "allToAllv needs one block per rank: \(blocks.count) blocks for \(size) ranks")
        }
        let sendCounts = blocks.map(\.count)
        let receiveCounts = try allToAll(sendCounts)
        var received = try makeArray(count: try total(receiveCounts, "allToAllv receive counts")) { (_: UnsafeMutableBufferPointer<T>) throws(MPIError) in }
        try allToAllv(blocks.flatMap { $0 }, sendCounts: sendCounts, into: &received, receiveCounts: receiveCounts)
        return split(received, counts: receiveCounts)
    }

    /// Starts `MPI_Ialltoallv` of `send` into `receive`.
    @inlinable
    public func immediateAllToAllv<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, sendCounts: [Int], sendDisplacements: [Int]? = nil,
        into receive: Receive, receiveCounts: [Int], receiveDisplacements: [Int]? = nil
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, origin: RequestOrigin(.allToAllv)) { (send, receive, submit) throws(MPIError) in
            try describeAllToAllv(send, sendCounts: sendCounts, sendDisplacements: sendDisplacements,
                receive, receiveCounts: receiveCounts, receiveDisplacements: receiveDisplacements, submit)
        }
    }
}

extension Communicator {
    /// `objects[i]` to rank `i`; returns the object each rank sent here, in rank order (mpi4py's
    /// `comm.alltoall`).
    ///
    /// - Throws: `MPIError(.count)` when `objects` is not one per rank.
    public func allToAll<T: Codable & Sendable>(objects: [T]) throws(MPIError) -> [T] {
        guard objects.count == size else {
            throw MPIError(.count, "allToAll(objects:) needs one object per rank: \(objects.count) for \(size) ranks")
        }
        var payloads: [[UInt8]] = []
        payloads.reserveCapacity(size)
        for object in objects { payloads.append(try Communicator.encodeMessage(object)) }
        return try Communicator.decodeMessages(T.self, from: try allToAllv(payloads))
    }
}

/// One rank's part of an ``Communicator/allToAllw(_:sendBlocks:into:receiveBlocks:)``: `count`
/// consecutive elements from element `offset`, or, with a `layout`, `count` items of it from
/// element `offset` (the typed form of `MPI_Alltoallw`'s count, displacement and datatype).
public struct MessageBlock<Element: MessageElement>: Sendable {
    public var count: Int
    public var offset: Int
    public var layout: MessageLayout<Element>?

    public init(count: Int, at offset: Int = 0, layout: MessageLayout<Element>? = nil) {
        self.count = count
        self.offset = offset
        self.layout = layout
    }
}

extension Communicator {
    /// Sends block `i` of `sendBlocks` of `send` to rank `i` and receives block `i` of
    /// `receiveBlocks` of `receive` from rank `i`, each block with a layout of its own
    /// (`MPI_Alltoallw`): the all-to-all of a distributed transpose, where each peer's part is a
    /// different strided or sub-array selection of one array. What rank `j` sends to rank `i`
    /// must have as many elements as rank `i`'s block for `j` receives. Collective, blocking.
    ///
    /// - Throws: `MPIError(.count)` for a block list that is not one block per rank or a block
    ///   that does not fit its buffer; `MPIError(.truncate)` (or `.count` on shared memory, on
    ///   the rank that sees it) when a block received is not the size expected.
    public func allToAllw<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, sendBlocks: [MessageBlock<Send.Element>],
        into receive: inout Receive, receiveBlocks: [MessageBlock<Send.Element>]
    ) throws(MPIError) where Send.Element == Receive.Element {
        try checkActive()
        guard sendBlocks.count == size && receiveBlocks.count == size else {
            throw MPIError(.count, "allToAllw needs one block per rank: \(sendBlocks.count) send and \(receiveBlocks.count) receive blocks for \(size) ranks")
        }
        try send.withSendElements { (outgoing) throws(MPIError) in
            try receive.withReceiveElements { (incoming) throws(MPIError) in
                let sends = try sendBlocks.map { (block) throws(MPIError) in try typedBlock(block, in: outgoing.count) }
                let receives = try receiveBlocks.map { (block) throws(MPIError) in try typedBlock(block, in: incoming.count) }
                try backend.allToAllw(UnsafeRawPointer(outgoing.baseAddress), sends,
                    into: UnsafeMutableRawPointer(incoming.baseAddress), receives, comm: handle)
            }
        }
    }

    /// The seam's form of `block` in a buffer of `capacity` elements.
    func typedBlock<T: MessageElement>(_ block: MessageBlock<T>, in capacity: Int) throws(MPIError) -> TypedBlock {
        guard let layout = block.layout else {
            try checkCount(block.count)
            guard block.offset >= 0 && block.offset + block.count <= capacity else {
                throw MPIError(.count, "a block of \(block.count) elements at \(block.offset) does not fit a buffer of \(capacity)")
            }
            return TypedBlock(byteOffset: block.offset * MemoryLayout<T>.stride, count: block.count, type: T.datatype)
        }
        try checkLayout(layout, count: block.count, offset: block.offset, capacity: capacity)
        return TypedBlock(byteOffset: block.offset * MemoryLayout<T>.stride, count: block.count, type: layout.datatype)
    }
}
