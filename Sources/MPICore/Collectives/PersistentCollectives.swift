// Persistent collective operations (MPI-4.1 §6.13, `MPI_Barrier_init`, `MPI_Allreduce_init`, …):
// a collective made once, then started and completed any number of times, like a persistent
// send. Each is the operation's own description (in its file) made into a persistent request by
// `persistentCollective`.
//
// The rules, as MPI's: every rank makes its persistent collectives in the same order as its other
// collectives on the communicator; once made, they may be started in any order, and in a different
// order on each rank; an activation must complete before the next start. The buffers are those of
// every activation: a ``MessageBuffer`` is locked only while one runs, so it can be filled between
// them; an array passed as the send data is copied once, when the request is made. On Open MPI 4.1
// these are its `MPIX_*_init` functions (the `pcollreq` extension); on shared memory, the schedule
// of a collective on built-in element types is planned once and run again at each start.
//
// ```swift
// let gradients = MessageBuffer<Float>(repeating: 0, count: n)
// var allReduce = try world.persistentAllReduce(.inPlace(), into: gradients, op: .sum)
// for step in 0..<steps {
//     fill(gradients)
//     try allReduce.start()
//     try allReduce.wait()
// }
// ```

extension Communicator {
    /// A persistent barrier (`MPI_Barrier_init`): each activation completes once every rank has
    /// started its own.
    public func persistentBarrier() throws(MPIError) -> Request {
        try persistentCollective(InPlace<UInt8>(), UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0),
            roles: CollectiveRoles(sends: false, receives: false), kind: .barrier) {
            (_, _, submit) throws(MPIError) in try submit(.barrier)
        }
    }

    /// A persistent broadcast of the root's `buffer` into every rank's (`MPI_Bcast_init`).
    @inlinable
    public func persistentBroadcast<Buffer: LendableReceiveBuffer>(_ buffer: Buffer, root: Int) throws(MPIError) -> Request {
        try persistentCollective(InPlace<Buffer.Element>(), buffer, kind: .broadcast) { (send, receive, submit) throws(MPIError) in
            try describeBroadcast(send, receive, root: root, submit)
        }
    }

    /// A persistent reduction of every rank's `send` into the root's `receive` (`MPI_Reduce_init`);
    /// `send` may be `.inPlace()` at the root; `receive` is significant only there.
    @inlinable
    public func persistentReduce<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, op: ReductionOp<Send.Element>, root: Int
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, roles: CollectiveRoles(receives: rank == root), kind: .reduce) {
            (send, receive, submit) throws(MPIError) in try describeReduce(send, receive, op: op, root: root, submit)
        }
    }

    /// A persistent all-reduce of `send` into `receive` (`MPI_Allreduce_init`); `send` may be
    /// `.inPlace()`.
    @inlinable
    public func persistentAllReduce<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, kind: .allReduce) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.allReduce, send, receive, op: op, submit)
        }
    }

    /// A persistent inclusive scan of `send` into `receive` (`MPI_Scan_init`).
    @inlinable
    public func persistentScan<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, kind: .scan) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.scan, send, receive, op: op, submit)
        }
    }

    /// A persistent exclusive scan of `send` into `receive` (`MPI_Exscan_init`); rank 0's
    /// `receive` is left as it is.
    @inlinable
    public func persistentExclusiveScan<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, kind: .exclusiveScan) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.exclusiveScan, send, receive, op: op, submit)
        }
    }

    /// A persistent reduce-scatter of `send` (size blocks of `receive.count`) into every rank's
    /// block `receive` (`MPI_Reduce_scatter_block_init`); `send` may be `.inPlace()`.
    @inlinable
    public func persistentReduceScatterBlock<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, kind: .reduceScatterBlock) { (send, receive, submit) throws(MPIError) in
            try describeReduceScatterBlock(send, receive, op: op, submit)
        }
    }

    /// A persistent reduce-scatter where rank `i` receives `counts[i]` elements of the
    /// reduction (`MPI_Reduce_scatter_init`); `send` may be `.inPlace()`.
    @inlinable
    public func persistentReduceScatter<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, counts: [Int], op: ReductionOp<Send.Element>
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, kind: .reduceScatter) { (send, receive, submit) throws(MPIError) in
            try describeReduceScatter(send, receive, counts: counts, op: op, submit)
        }
    }

    /// A persistent gather of every rank's `send` into the root's `receive` (`MPI_Gather_init`);
    /// `receive` is significant only at the root.
    @inlinable
    public func persistentGather<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, root: Int
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, roles: CollectiveRoles(receives: rank == root), kind: .gather) {
            (send, receive, submit) throws(MPIError) in try describeGather(send, receive, root: root, submit)
        }
    }

    /// A persistent gather of blocks of different sizes into the root's `receive` at
    /// `displacements` (packed when `nil`) (`MPI_Gatherv_init`); arguments as
    /// ``gatherv(_:into:counts:displacements:root:)``.
    @inlinable
    public func persistentGatherv<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, counts: [Int], displacements: [Int]? = nil, root: Int
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, roles: CollectiveRoles(receives: rank == root), kind: .gatherv) {
            (send, receive, submit) throws(MPIError) in
            try describeGatherv(send, receive, counts: counts, displacements: displacements, root: root, submit)
        }
    }

    /// A persistent scatter of the root's `send` in blocks of `receive.count` (`MPI_Scatter_init`);
    /// `send` is significant only at the root.
    @inlinable
    public func persistentScatter<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, root: Int
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, roles: CollectiveRoles(sends: rank == root), kind: .scatter) {
            (send, receive, submit) throws(MPIError) in try describeScatter(send, receive, root: root, submit)
        }
    }

    /// A persistent scatter of `counts[i]` elements at `displacements[i]` of the root's `send`
    /// to rank `i` (`MPI_Scatterv_init`); arguments as
    /// ``scatterv(_:counts:displacements:into:root:)``.
    @inlinable
    public func persistentScatterv<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, counts: [Int], displacements: [Int]? = nil, into receive: Receive, root: Int
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, roles: CollectiveRoles(sends: rank == root), kind: .scatterv) {
            (send, receive, submit) throws(MPIError) in
            try describeScatterv(send, receive, counts: counts, displacements: displacements, root: root, submit)
        }
    }

    /// A persistent all-gather of every rank's `send` into every rank's `receive`
    /// (`MPI_Allgather_init`); `send` may be `.inPlace()`.
    @inlinable
    public func persistentAllGather<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, kind: .allGather) { (send, receive, submit) throws(MPIError) in
            try describeAllGather(send, receive, submit)
        }
    }

    /// A persistent all-to-all of `send` (size blocks) into `receive` (`MPI_Alltoall_init`);
    /// `send` may be `.inPlace()`.
    @inlinable
    public func persistentAllToAll<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, kind: .allToAll) { (send, receive, submit) throws(MPIError) in
            try describeAllToAll(send, receive, submit)
        }
    }

    /// A persistent all-gather of each rank's `send` (`counts[r]` elements from rank `r`) into
    /// `receive` at `displacements` (packed when `nil`) (`MPI_Allgatherv_init`).
    @inlinable
    public func persistentAllGatherv<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, counts: [Int], displacements: [Int]? = nil
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, kind: .allGatherv) { (send, receive, submit) throws(MPIError) in
            try describeAllGatherv(send, receive, counts: counts, displacements: displacements, submit)
        }
    }

    /// A persistent all-to-all-v (`MPI_Alltoallv_init`); arguments as ``allToAllv(_:sendCounts:sendDisplacements:into:receiveCounts:receiveDisplacements:)``.
    @inlinable
    public func persistentAllToAllv<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, sendCounts: [Int], sendDisplacements: [Int]? = nil,
        into receive: Receive, receiveCounts: [Int], receiveDisplacements: [Int]? = nil
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try persistentCollective(send, receive, kind: .allToAllv) { (send, receive, submit) throws(MPIError) in
            try describeAllToAllv(send, sendCounts: sendCounts, sendDisplacements: sendDisplacements,
                receive, receiveCounts: receiveCounts, receiveDisplacements: receiveDisplacements, submit)
        }
    }
}
