// Gather (MPI-4.1 §6.5): every rank's block at the root, in rank order — equal blocks
// (`MPI_Gather`) or blocks of different sizes (`MPI_Gatherv`); into a buffer (in place at the root
// with `.inPlace()`), as new arrays, immediate, and for objects.

extension Communicator {
    @inlinable
    func describeGather<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>, root: Int,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkCollective(root: root)
        let atRoot = rank == root
        guard let send else {
            guard atRoot else { throw MPIError(.buffer, "gather in place is for the root only: rank \(rank) passes the block it sends") }
            return try submit(.gather(Collective.Shape(T.datatype, count: try blockCount(receive.count, "gather in place")), root: root,
                .root((.inPlace, UnsafeMutableRawPointer(receive.baseAddress)))))
        }
        let shape = Collective.Shape(T.datatype, count: send.count)
        guard atRoot else { return try submit(.gather(shape, root: root, .other(UnsafeRawPointer(send.baseAddress)))) }
        try checkRoom(receive.count, for: try blocks(send.count), "gathered blocks")
        try submit(.gather(shape, root: root, .root((input(send), UnsafeMutableRawPointer(receive.baseAddress)))))
    }

    /// Collects every rank's `send` block, in rank order, into the root's `receive`, which
    /// holds at least size × the block's count (`MPI_Gather`). All blocks have one count;
    /// `receive` is significant only at the root, where `send` may be `.inPlace()` (its own
    /// block is already at its place in `receive`).
    @inlinable
    public func gather<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive, root: Int
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive, roles: CollectiveRoles(receives: rank == root)) { (send, receive, submit) throws(MPIError) in
            try describeGather(send, receive, root: root, submit)
        }
    }

    /// Every rank's `values` (one value or an array), concatenated in rank order at the root;
    /// `nil` elsewhere (`MPI_Gather`).
    @inlinable
    public func gather<Values: SendBuffer>(_ values: Values, root: Int) throws(MPIError) -> [Values.Element]? {
        let result = try collectiveResult(values, count: try blocks(try elementCount(values)), roles: CollectiveRoles(receives: rank == root)) {
            (send, receive, submit) throws(MPIError) in try describeGather(send, receive, root: root, submit)
        }
        return rank == root ? result : nil
    }

    /// Starts gathering every rank's `send` into the root's `receive` (`MPI_Igather`); `receive`
    /// is significant (and lent) only at the root.
    @inlinable
    public func immediateGather<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, root: Int
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, roles: CollectiveRoles(receives: rank == root), origin: RequestOrigin(.gather)) {
            (send, receive, submit) throws(MPIError) in try describeGather(send, receive, root: root, submit)
        }
    }

    /// Starts gathering every rank's `values`; the request returns them in rank order at the
    /// root and an empty array elsewhere (`MPI_Igather`).
    @inlinable
    public func immediateGather<Values: SendBuffer>(_ values: Values, root: Int) throws(MPIError) -> CollectiveRequest<Values.Element> {
        try startCollectiveResult(values, count: try blocks(try elementCount(values)), roles: CollectiveRoles(receives: rank == root),
            origin: RequestOrigin(.gather)) { (send, receive, submit) throws(MPIError) in
            try describeGather(send, receive, root: root, submit)
        }
    }

    // MARK: Gatherv

    @inlinable
    func describeGatherv<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>, counts: [Int], displacements: [Int]?, root: Int,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkCollective(root: root)
        guard rank == root else {
            guard let send else { throw MPIError(.buffer, "gatherv in place is for the root only: rank \(rank) passes the block it sends") }
            return try submit(.gatherv(Collective.Shape(T.datatype, count: send.count), root: root, .other(UnsafeRawPointer(send.baseAddress))))
        }
        let displacements = try layout(counts: counts, displacements: displacements, room: receive.count, "gatherv")
        if let send, send.count != counts[rank] {
            throw MPIError(.count, "gatherv at the root sends \(send.count) elements but counts[\(rank)] is \(counts[rank])")
        }
        try withCounts(counts, displacements) { (counts, displacements) throws(MPIError) in
            try submit(.gatherv(Collective.Shape(T.datatype, count: counts[rank]), root: root,
                .root((input(send), UnsafeMutableRawPointer(receive.baseAddress), counts, displacements))))
        }
    }

    /// Collects blocks of different sizes: rank `i`'s `send` goes to the root's `receive` at
    /// `displacements[i]` (default: packed in rank order); `counts[i]` must equal rank `i`'s
    /// send count (`MPI_Gatherv`). `counts`, `displacements` and `receive` are significant only
    /// at the root, where `send` may be `.inPlace()`.
    @inlinable
    public func gatherv<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive, counts: [Int], displacements: [Int]? = nil, root: Int
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive, roles: CollectiveRoles(receives: rank == root)) { (send, receive, submit) throws(MPIError) in
            try describeGatherv(send, receive, counts: counts, displacements: displacements, root: root, submit)
        }
    }

    /// Every rank's `values`, one array per rank at the root, `nil` elsewhere; no rank needs to
    /// know the counts (`MPI_Gather` of the counts, then `MPI_Gatherv`).
    @inlinable
    public func gatherv<Values: SendBuffer>(_ values: Values, root: Int) throws(MPIError) -> [[Values.Element]]? {
        let counts = try gather(try elementCount(values), root: root) ?? []
        let atRoot = rank == root
        let all = try collectiveResult(values, count: atRoot ? try total(counts, "gatherv counts") : 0,
            roles: CollectiveRoles(receives: atRoot)) { (send, receive, submit) throws(MPIError) in
            try describeGatherv(send, receive, counts: counts, displacements: nil, root: root, submit)
        }
        return atRoot ? split(all, counts: counts) : nil
    }

    /// Starts `MPI_Igatherv`; the root's `receive` is lent until it completes.
    @inlinable
    public func immediateGatherv<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, counts: [Int], displacements: [Int]? = nil, root: Int
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, roles: CollectiveRoles(receives: rank == root), origin: RequestOrigin(.gatherv)) {
            (send, receive, submit) throws(MPIError) in
            try describeGatherv(send, receive, counts: counts, displacements: displacements, root: root, submit)
        }
    }

    /// Collects every process's `value` on `root`, in rank order (mpi4py's `comm.gather`);
    /// `nil` on the other ranks.
    public func gather<T: Codable & Sendable>(object value: T, root: Int) throws(MPIError) -> [T]? {
        guard let blocks = try gatherv(try Communicator.encodeMessage(value), root: root) else { return nil }
        return try Communicator.decodeMessages(T.self, from: blocks)
    }
}
