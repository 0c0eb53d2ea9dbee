// All-gather (MPI-4.1 §6.7): every rank's block on every rank, in rank order — equal blocks
// (`MPI_Allgather`) or of different sizes (`MPI_Allgatherv`); into a buffer (in place with
// `.inPlace()`), as new arrays, immediate, and for objects.

extension Communicator {
    @inlinable
    func describeAllGather<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkActive()
        if let send { try checkRoom(receive.count, for: try blocks(send.count), "gathered blocks") }
        let count = if let send { send.count } else { try blockCount(receive.count, "allGather in place") }
        try submit(.allGather(Collective.Shape(T.datatype, count: count), input(send), result: UnsafeMutableRawPointer(receive.baseAddress)))
    }

    /// Every rank's `send` block, in rank order, into every rank's `receive`, which holds at least
    /// size × the block's count (`MPI_Allgather`). With `.inPlace()`, `receive` holds every
    /// block, this rank's already at its place.
    @inlinable
    public func allGather<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive) { (send, receive, submit) throws(MPIError) in try describeAllGather(send, receive, submit) }
    }

    /// Every rank's `values` (one value or an array), concatenated in rank order
    /// (`MPI_Allgather`).
    @inlinable
    public func allGather<Values: SendBuffer>(_ values: Values) throws(MPIError) -> [Values.Element] {
        try collectiveResult(values, count: try blocks(try elementCount(values))) { (send, receive, submit) throws(MPIError) in
            try describeAllGather(send, receive, submit)
        }
    }

    /// Starts an all-gather of `send` into `receive` (`MPI_Iallgather`).
    @inlinable
    public func immediateAllGather<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, origin: RequestOrigin(.allGather)) { (send, receive, submit) throws(MPIError) in
            try describeAllGather(send, receive, submit)
        }
    }

    /// Starts an all-gather of every rank's `values`; the request returns them in rank order
    /// (`MPI_Iallgather`).
    @inlinable
    public func immediateAllGather<Values: SendBuffer>(_ values: Values) throws(MPIError) -> CollectiveRequest<Values.Element> {
        try startCollectiveResult(values, count: try blocks(try elementCount(values)), origin: RequestOrigin(.allGather)) {
            (send, receive, submit) throws(MPIError) in try describeAllGather(send, receive, submit)
        }
    }

    // MARK: All-gatherv

    @inlinable
    func describeAllGatherv<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>, counts: [Int], displacements: [Int]?,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkActive()
        let displacements = try layout(counts: counts, displacements: displacements, room: receive.count, "allGatherv")
        if let send, send.count != counts[rank] {
            throw MPIError(.count, "allGatherv sends \(send.count) elements but counts[\(rank)] is \(counts[rank])")
        }
        try withCounts(counts, displacements) { (counts, displacements) throws(MPIError) in
            try submit(.allGatherv(Collective.Shape(T.datatype, count: counts[rank]), input(send),
                result: UnsafeMutableRawPointer(receive.baseAddress), counts: counts, displacements: displacements))
        }
    }

    /// Every rank's `send`, of `counts[i]` elements from rank `i`, at `displacements[i]` of every
    /// rank's `receive` (default: packed) (`MPI_Allgatherv`). Every rank passes the same counts;
    /// with `.inPlace()`, `receive` holds every block, this rank's already at its place.
    @inlinable
    public func allGatherv<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive, counts: [Int], displacements: [Int]? = nil
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive) { (send, receive, submit) throws(MPIError) in
            try describeAllGatherv(send, receive, counts: counts, displacements: displacements, submit)
        }
    }

    /// Every rank's `values`, one array per rank; nobody needs to know the counts in advance
    /// (`MPI_Allgather` of the counts, then `MPI_Allgatherv`).
    @inlinable
    public func allGatherv<Values: SendBuffer>(_ values: Values) throws(MPIError) -> [[Values.Element]] {
        let counts = try allGather(try elementCount(values))
        let all = try collectiveResult(values, count: try total(counts, "allGatherv counts")) { (send, receive, submit) throws(MPIError) in
            try describeAllGatherv(send, receive, counts: counts, displacements: nil, submit)
        }
        return split(all, counts: counts)
    }

    /// Starts `MPI_Iallgatherv` of `send` into `receive`.
    @inlinable
    public func immediateAllGatherv<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, counts: [Int], displacements: [Int]? = nil
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, origin: RequestOrigin(.allGatherv)) { (send, receive, submit) throws(MPIError) in
            try describeAllGatherv(send, receive, counts: counts, displacements: displacements, submit)
        }
    }

    /// Collects every process's `value` on every process, in rank order (mpi4py's
    /// `comm.allgather`).
    public func allGather<T: Codable & Sendable>(object value: T) throws(MPIError) -> [T] {
        try Communicator.decodeMessages(T.self, from: try allGatherv(try Communicator.encodeMessage(value)))
    }
}
