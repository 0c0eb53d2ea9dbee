// Reduce-scatter (MPI-4.1 §6.10): every rank's vector combined with an operation and the result
// split among the ranks — in equal blocks (`MPI_Reduce_scatter_block`) or by counts
// (`MPI_Reduce_scatter`); into a buffer (in place with `.inPlace()`), as a new array, immediate.

extension Communicator {
    @inlinable
    func describeReduceScatterBlock<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkActive()
        // In place, `receive` holds the size blocks and gets this rank's block at its start.
        let count = send == nil ? try blockCount(receive.count, "reduceScatterBlock buffer") : receive.count
        if let send { try checkRoom(send.count, for: try blocks(receive.count), "reduceScatterBlock input", sending: true) }
        try submit(.reduceScatterBlock(Collective.Shape(T.datatype, count: count), op.reduction, input(send),
            result: UnsafeMutableRawPointer(receive.baseAddress)))
    }

    /// Reduces the ranks' `send` vectors (size blocks of `receive`'s count) with `op`; rank `i`
    /// receives block `i` of the result (`MPI_Reduce_scatter_block`). With `.inPlace()`,
    /// `receive` holds the size blocks and receives this rank's block at its start.
    @inlinable
    public func reduceScatterBlock<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive) { (send, receive, submit) throws(MPIError) in
            try describeReduceScatterBlock(send, receive, op: op, submit)
        }
    }

    /// This rank's block of the reduction of every rank's `values` (size equal blocks)
    /// (`MPI_Reduce_scatter_block`).
    @inlinable
    public func reduceScatterBlock<Values: SendBuffer>(_ values: Values, op: ReductionOp<Values.Element>) throws(MPIError) -> [Values.Element] {
        try collectiveResult(values, count: try blockCount(try elementCount(values), "reduceScatterBlock values")) {
            (send, receive, submit) throws(MPIError) in try describeReduceScatterBlock(send, receive, op: op, submit)
        }
    }

    /// Starts a reduce-scatter with equal blocks (`MPI_Ireduce_scatter_block`).
    @inlinable
    public func immediateReduceScatterBlock<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, origin: RequestOrigin(.reduceScatterBlock)) { (send, receive, submit) throws(MPIError) in
            try describeReduceScatterBlock(send, receive, op: op, submit)
        }
    }

    /// Starts a reduce-scatter of every rank's `values` in equal blocks; the request returns this
    /// rank's block (`MPI_Ireduce_scatter_block`).
    @inlinable
    public func immediateReduceScatterBlock<Values: SendBuffer>(
        _ values: Values, op: ReductionOp<Values.Element>
    ) throws(MPIError) -> CollectiveRequest<Values.Element> {
        try startCollectiveResult(values, count: try blockCount(try elementCount(values), "reduceScatterBlock values"),
            origin: RequestOrigin(.reduceScatterBlock)) { (send, receive, submit) throws(MPIError) in
            try describeReduceScatterBlock(send, receive, op: op, submit)
        }
    }

    @inlinable
    func describeReduceScatter<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>, counts: [Int], op: ReductionOp<T>,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkActive()
        _ = try layout(counts: counts, displacements: nil, room: send?.count ?? receive.count, "reduceScatter input", sending: true)
        try checkRoom(receive.count, for: counts[rank], "reduceScatter block")
        try counts.withUnsafeBufferPointer { (counts) throws(MPIError) in
            try submit(.reduceScatter(Collective.Shape(T.datatype, count: counts[rank]), op.reduction, input(send),
                result: UnsafeMutableRawPointer(receive.baseAddress), counts: counts))
        }
    }

    /// Reduces the ranks' `send` vectors with `op`; rank `i` receives the `counts[i]` elements
    /// of the result that follow the blocks of the lower ranks (`MPI_Reduce_scatter`). Every
    /// rank passes the same counts. With `.inPlace()`, `receive` holds the whole vector and
    /// receives this rank's block at its start.
    @inlinable
    public func reduceScatter<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive, counts: [Int], op: ReductionOp<Send.Element>
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive) { (send, receive, submit) throws(MPIError) in
            try describeReduceScatter(send, receive, counts: counts, op: op, submit)
        }
    }

    /// This rank's `counts[rank]` elements of the reduction of every rank's `values`
    /// (`MPI_Reduce_scatter`).
    @inlinable
    public func reduceScatter<Values: SendBuffer>(
        _ values: Values, counts: [Int], op: ReductionOp<Values.Element>
    ) throws(MPIError) -> [Values.Element] {
        try collectiveResult(values, count: try ownCount(counts, "reduceScatter")) { (send, receive, submit) throws(MPIError) in
            try describeReduceScatter(send, receive, counts: counts, op: op, submit)
        }
    }

    /// Starts a reduce-scatter where rank `i` receives `counts[i]` elements
    /// (`MPI_Ireduce_scatter`).
    @inlinable
    public func immediateReduceScatter<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, counts: [Int], op: ReductionOp<Send.Element>
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, origin: RequestOrigin(.reduceScatter)) { (send, receive, submit) throws(MPIError) in
            try describeReduceScatter(send, receive, counts: counts, op: op, submit)
        }
    }

    /// Starts a reduce-scatter of every rank's `values`; the request returns this rank's
    /// `counts[rank]` elements (`MPI_Ireduce_scatter`).
    @inlinable
    public func immediateReduceScatter<Values: SendBuffer>(
        _ values: Values, counts: [Int], op: ReductionOp<Values.Element>
    ) throws(MPIError) -> CollectiveRequest<Values.Element> {
        try startCollectiveResult(values, count: try ownCount(counts, "reduceScatter"), origin: RequestOrigin(.reduceScatter)) {
            (send, receive, submit) throws(MPIError) in try describeReduceScatter(send, receive, counts: counts, op: op, submit)
        }
    }

    /// This rank's entry of per-rank `counts`, checked.
    @inlinable
    func ownCount(_ counts: [Int], _ what: String) throws(MPIError) -> Int {
        guard counts.count == size else {
            throw MPIError(.count, "\(what) needs one count per rank: \(counts.count) counts for \(size) ranks")
        }
        try checkCount(counts[rank])
        return counts[rank]
    }
}
