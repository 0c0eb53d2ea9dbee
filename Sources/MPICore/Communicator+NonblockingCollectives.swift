// Nonblocking collective operations (MPI-4.1 §6.12), with the buffer-safety model of the
// nonblocking point-to-point operations: arrays are retained by the request (and forms taking
// arrays return a `CollectiveRequest` whose `wait()` hands the result back), `MessageBuffer`s
// are lent and locked until the operation completes. Every rank starts the same collectives on
// a communicator in the same order, blocking and nonblocking alike.

/// A nonblocking collective whose result is a new array, which ``wait()`` hands back.
public struct CollectiveRequest<Element: MessageElement>: ~Copyable {
    @usableFromInline var request: Request
    @usableFromInline var values: [Element]

    @inlinable
    init(request: consuming Request, values: [Element]) {
        self.request = request
        self.values = values
    }

    /// Waits for the operation and returns its result: empty on ranks that receive nothing
    /// (all but the root of a reduce or gather) (`MPI_Wait`).
    @inlinable
    public consuming func wait() throws(MPIError) -> [Element] {
        try request.wait()
        return values
    }

    /// Whether the operation has completed (`MPI_Test`); call ``wait()`` to take the result.
    @inlinable
    public mutating func test() throws(MPIError) -> Bool { try request.test() != nil }

    /// Whether the operation is known to have completed.
    public var isComplete: Bool { request.isComplete }
}

/// What a pending collective keeps alive: arrays it reads or writes, the backend's own
/// resources, and the message buffers lent to it, given back when the request lets go of it.
@usableFromInline
final class CollectiveLoan {
    @usableFromInline let lent: [any LendableBuffer]
    @usableFromInline let retained: [Any]

    @inlinable
    init(lent: [any LendableBuffer], retained: [Any]) {
        self.lent = lent
        self.retained = retained
    }

    deinit {
        for buffer in lent { buffer.giveBack() }
    }
}

extension Communicator {
    /// Runs `body`, which starts a request inside a scope that cannot return it, and returns
    /// the request.
    @inlinable
    func started(_ body: (inout Request?) throws(MPIError) -> Void) throws(MPIError) -> Request {
        var request: Request?
        try body(&request)
        return request.take()!
    }

    /// Lends `sending` and `receiving`, starts `operation` and returns its request, which keeps
    /// `retaining` and the backend's resources alive until it completes.
    @inlinable
    func startCollective(
        _ operation: Collective, sending: [any LendableBuffer] = [], receiving: [any LendableBuffer] = [],
        retaining: [Any] = []
    ) throws(MPIError) -> Request {
        var lent: [any LendableBuffer] = []
        do {
            for buffer in sending {
                try buffer.lend(receiving: false)
                lent.append(buffer)
            }
            for buffer in receiving {
                try buffer.lend(receiving: true)
                lent.append(buffer)
            }
            let (request, resources) = try backend.immediateCollective(operation, comm: handle)
            let loan = CollectiveLoan(lent: lent, retained: resources.map { retaining + [$0] } ?? retaining)
            return Request(backend: backend, handle: request, loan: .retained(loan), result: nil)
        } catch {
            for buffer in lent { buffer.giveBack() }
            throw error
        }
    }

    /// Calls `start` with a new array of `count` elements for the result; the request it returns
    /// hands the array back.
    @inlinable
    func startCollective<T: MessageElement>(
        resultCount count: Int, _ start: (UnsafeMutableBufferPointer<T>) throws(MPIError) -> Request
    ) throws(MPIError) -> CollectiveRequest<T> {
        var values = try makeArray(count: count, zeroed: true) { (_: UnsafeMutableBufferPointer<T>) throws(MPIError) in }
        // The array is unique here and stays untouched inside the request until it completes, so
        // its storage is a stable home for the result.
        let request = try start(values.withUnsafeMutableBufferPointer { $0 })
        return CollectiveRequest(request: request, values: values)
    }

    @inlinable
    func readable<T>(_ buffer: MessageBuffer<T>?) -> UnsafeBufferPointer<T> {
        buffer.map { UnsafeBufferPointer($0.storage) } ?? UnsafeBufferPointer(start: nil, count: 0)
    }

    @inlinable
    func writable<T>(_ buffer: MessageBuffer<T>?) -> UnsafeMutableBufferPointer<T> {
        buffer?.storage ?? UnsafeMutableBufferPointer(start: nil, count: 0)
    }

    /// The array's storage, for an operation that only reads it while the request retains it.
    @inlinable
    func storage<T>(_ array: [T]) -> UnsafeBufferPointer<T> {
        array.withUnsafeBufferPointer { $0 }
    }

    // MARK: Barrier and broadcast

    /// Starts a barrier: the request completes once every rank has started it (`MPI_Ibarrier`).
    public func immediateBarrier() throws(MPIError) -> Request {
        try checkActive()
        return try startCollective(Collective(.barrier, type: .byte))
    }

    /// Starts broadcasting the root's `buffer` into every rank's (`MPI_Ibcast`).
    @inlinable
    public func immediateBroadcast<T: MessageElement>(_ buffer: MessageBuffer<T>, root: Int) throws(MPIError) -> Request {
        try startCollective(try describeBroadcast(buffer.storage, root: root), receiving: [buffer])
    }

    /// Starts broadcasting the root's `values`; every rank passes an array of the same count and
    /// the request returns the root's elements (`MPI_Ibcast`).
    @inlinable
    public func immediateBroadcast<T: MessageElement>(_ values: [T], root: Int) throws(MPIError) -> CollectiveRequest<T> {
        if rank == root {
            let request = try startCollective(
                try describeBroadcast(UnsafeMutableBufferPointer(mutating: storage(values)), root: root), retaining: [values])
            return CollectiveRequest(request: request, values: values)
        }
        return try startCollective(resultCount: values.count) { (buffer) throws(MPIError) in
            try startCollective(try describeBroadcast(buffer, root: root))
        }
    }

    // MARK: Reductions

    /// Starts reducing every rank's `send` into the root's `receive` (`MPI_Ireduce`); `receive`
    /// is significant (and lent) only at the root.
    @inlinable
    public func immediateReduce<T: MessageElement>(
        _ send: MessageBuffer<T>, into receive: MessageBuffer<T>?, op: ReductionOp<T>, root: Int
    ) throws(MPIError) -> Request {
        let receive = rank == root ? receive : nil
        return try startCollective(
            try describeReduce(readable(send), into: writable(receive), op: op, root: root),
            sending: [send], receiving: receive.map { [$0] } ?? [])
    }

    /// Starts `MPI_Ireduce` with `MPI_IN_PLACE` at the root, whose `buffer` receives the result.
    @inlinable
    public func immediateReduce<T: MessageElement>(inPlace buffer: MessageBuffer<T>, op: ReductionOp<T>, root: Int) throws(MPIError) -> Request {
        let operation = try describeReduce(inPlace: buffer.storage, op: op, root: root)
        return rank == root
            ? try startCollective(operation, receiving: [buffer])
            : try startCollective(operation, sending: [buffer])
    }

    /// Starts reducing every rank's `values`; the request returns the result at the root and an
    /// empty array elsewhere (`MPI_Ireduce`).
    @inlinable
    public func immediateReduce<T: MessageElement>(_ values: [T], op: ReductionOp<T>, root: Int) throws(MPIError) -> CollectiveRequest<T> {
        try startCollective(resultCount: rank == root ? values.count : 0) { (receive) throws(MPIError) in
            try startCollective(try describeReduce(storage(values), into: receive, op: op, root: root), retaining: [values])
        }
    }

    /// Starts an all-reduce of `send` into `receive` (`MPI_Iallreduce`).
    @inlinable
    public func immediateAllReduce<T: MessageElement>(
        _ send: MessageBuffer<T>, into receive: MessageBuffer<T>, op: ReductionOp<T>
    ) throws(MPIError) -> Request {
        try startCollective(
            try describeReduction(.allReduce, readable(send), into: receive.storage, op: op), sending: [send], receiving: [receive])
    }

    /// Starts an all-reduce of `buffer` in place (`MPI_Iallreduce`, `MPI_IN_PLACE`).
    @inlinable
    public func immediateAllReduce<T: MessageElement>(inPlace buffer: MessageBuffer<T>, op: ReductionOp<T>) throws(MPIError) -> Request {
        try startCollective(try describeReduction(.allReduce, inPlace: buffer.storage, op: op), receiving: [buffer])
    }

    /// Starts an all-reduce of every rank's `values`; the request returns the result
    /// (`MPI_Iallreduce`).
    @inlinable
    public func immediateAllReduce<T: MessageElement>(_ values: [T], op: ReductionOp<T>) throws(MPIError) -> CollectiveRequest<T> {
        try startCollective(resultCount: values.count) { (receive) throws(MPIError) in
            try startCollective(try describeReduction(.allReduce, storage(values), into: receive, op: op), retaining: [values])
        }
    }

    /// Starts an inclusive scan of `send` into `receive` (`MPI_Iscan`).
    @inlinable
    public func immediateScan<T: MessageElement>(
        _ send: MessageBuffer<T>, into receive: MessageBuffer<T>, op: ReductionOp<T>
    ) throws(MPIError) -> Request {
        try startCollective(
            try describeReduction(.scan, readable(send), into: receive.storage, op: op), sending: [send], receiving: [receive])
    }

    /// Starts an inclusive scan of every rank's `values`; the request returns rank `r`'s prefix
    /// (`MPI_Iscan`).
    @inlinable
    public func immediateScan<T: MessageElement>(_ values: [T], op: ReductionOp<T>) throws(MPIError) -> CollectiveRequest<T> {
        try startCollective(resultCount: values.count) { (receive) throws(MPIError) in
            try startCollective(try describeReduction(.scan, storage(values), into: receive, op: op), retaining: [values])
        }
    }

    /// Starts an exclusive scan of `send` into `receive`; rank 0's `receive` is left as it was
    /// (`MPI_Iexscan`).
    @inlinable
    public func immediateExclusiveScan<T: MessageElement>(
        _ send: MessageBuffer<T>, into receive: MessageBuffer<T>, op: ReductionOp<T>
    ) throws(MPIError) -> Request {
        try startCollective(
            try describeReduction(.exclusiveScan, readable(send), into: receive.storage, op: op), sending: [send], receiving: [receive])
    }

    /// Starts an exclusive scan of every rank's `values`; the request returns the prefix over
    /// ranks `0..<r`, and an empty array on rank 0 (`MPI_Iexscan`).
    @inlinable
    public func immediateExclusiveScan<T: MessageElement>(_ values: [T], op: ReductionOp<T>) throws(MPIError) -> CollectiveRequest<T> {
        var request = try startCollective(resultCount: values.count) { (receive) throws(MPIError) in
            try startCollective(try describeReduction(.exclusiveScan, storage(values), into: receive, op: op), retaining: [values])
        }
        if rank == 0 { request.values = [] }
        return request
    }

    /// Starts a reduce-scatter with equal blocks (`MPI_Ireduce_scatter_block`).
    @inlinable
    public func immediateReduceScatterBlock<T: MessageElement>(
        _ send: MessageBuffer<T>, into receive: MessageBuffer<T>, op: ReductionOp<T>
    ) throws(MPIError) -> Request {
        try startCollective(
            try describeReduceScatterBlock(readable(send), into: receive.storage, op: op), sending: [send], receiving: [receive])
    }

    /// Starts a reduce-scatter of every rank's `values` in equal blocks; the request returns this
    /// rank's block (`MPI_Ireduce_scatter_block`).
    @inlinable
    public func immediateReduceScatterBlock<T: MessageElement>(_ values: [T], op: ReductionOp<T>) throws(MPIError) -> CollectiveRequest<T> {
        try startCollective(resultCount: try blockCount(values.count, "reduceScatterBlock values")) { (receive) throws(MPIError) in
                try startCollective(try describeReduceScatterBlock(storage(values), into: receive, op: op), retaining: [values])
        }
    }

    /// Starts a reduce-scatter where rank `i` receives `counts[i]` elements
    /// (`MPI_Ireduce_scatter`).
    @inlinable
    public func immediateReduceScatter<T: MessageElement>(
        _ send: MessageBuffer<T>, into receive: MessageBuffer<T>, counts: [Int], op: ReductionOp<T>
    ) throws(MPIError) -> Request {
        try started { (request) throws(MPIError) in
            try withReduceScatter(readable(send), inPlace: false, receive.storage, counts: counts, op: op) { (operation) throws(MPIError) in
                request = try startCollective(operation, sending: [send], receiving: [receive])
            }
        }
    }

    /// Starts a reduce-scatter of every rank's `values`; the request returns this rank's
    /// `counts[rank]` elements (`MPI_Ireduce_scatter`).
    @inlinable
    public func immediateReduceScatter<T: MessageElement>(
        _ values: [T], counts: [Int], op: ReductionOp<T>
    ) throws(MPIError) -> CollectiveRequest<T> {
        guard counts.count == size else {
            throw MPIError(.count, "reduceScatter needs one count per rank: \(counts.count) counts for \(size) ranks")
        }
        try checkCount(counts[rank])
        return try startCollective(resultCount: counts[rank]) { (receive) throws(MPIError) in
            try started { (request) throws(MPIError) in
                try withReduceScatter(storage(values), inPlace: false, receive, counts: counts, op: op) {
                    (operation) throws(MPIError) in request = try startCollective(operation, retaining: [values])
                }
            }
        }
    }

    // MARK: Gathers and scatters

    /// Starts gathering every rank's `send` into the root's `receive` (`MPI_Igather`); `receive`
    /// is significant (and lent) only at the root.
    @inlinable
    public func immediateGather<T: MessageElement>(
        _ send: MessageBuffer<T>, into receive: MessageBuffer<T>?, root: Int
    ) throws(MPIError) -> Request {
        let receive = rank == root ? receive : nil
        return try startCollective(
            try describeGather(readable(send), into: writable(receive), root: root),
            sending: [send], receiving: receive.map { [$0] } ?? [])
    }

    /// Starts gathering every rank's `values`; the request returns them concatenated at the root
    /// and an empty array elsewhere (`MPI_Igather`).
    @inlinable
    public func immediateGather<T: MessageElement>(_ values: [T], root: Int) throws(MPIError) -> CollectiveRequest<T> {
        try startCollective(resultCount: rank == root ? try blocks(values.count) : 0) { (receive) throws(MPIError) in
            try startCollective(try describeGather(storage(values), into: receive, root: root), retaining: [values])
        }
    }

    /// Starts gathering blocks of different sizes (`MPI_Igatherv`); `receive`, `counts` and
    /// `displacements` are significant only at the root.
    @inlinable
    public func immediateGatherv<T: MessageElement>(
        _ send: MessageBuffer<T>, into receive: MessageBuffer<T>?, counts: [Int], displacements: [Int]? = nil, root: Int
    ) throws(MPIError) -> Request {
        let receive = rank == root ? receive : nil
        return try started { (request) throws(MPIError) in
            try withGatherv(readable(send), inPlace: false, writable(receive), counts: counts, displacements: displacements, root: root) {
                (operation) throws(MPIError) in
                request = try startCollective(operation, sending: [send], receiving: receive.map { [$0] } ?? [])
            }
        }
    }

    /// Starts gathering every rank's `values` (`counts[i]` from rank `i`, significant only at the
    /// root); the request returns them packed at the root, empty elsewhere (`MPI_Igatherv`).
    @inlinable
    public func immediateGatherv<T: MessageElement>(_ values: [T], counts: [Int], root: Int) throws(MPIError) -> CollectiveRequest<T> {
        let count = rank == root ? try total(counts, "gatherv counts") : 0
        return try startCollective(resultCount: count) { (receive) throws(MPIError) in
            try started { (request) throws(MPIError) in
                try withGatherv(storage(values), inPlace: false, receive, counts: counts, displacements: nil, root: root) {
                    (operation) throws(MPIError) in request = try startCollective(operation, retaining: [values])
                }
            }
        }
    }

    /// Starts scattering the root's `send` in blocks of `receive.count` elements
    /// (`MPI_Iscatter`); `send` is significant (and lent) only at the root.
    @inlinable
    public func immediateScatter<T: MessageElement>(
        _ send: MessageBuffer<T>?, into receive: MessageBuffer<T>, root: Int
    ) throws(MPIError) -> Request {
        let send = rank == root ? send : nil
        return try startCollective(
            try describeScatter(readable(send), into: receive.storage, root: root),
            sending: send.map { [$0] } ?? [], receiving: [receive])
    }

    /// Starts scattering the root's `values` in blocks of `count`; the request returns this
    /// rank's block (`MPI_Iscatter`).
    @inlinable
    public func immediateScatter<T: MessageElement>(_ values: [T], count: Int, root: Int) throws(MPIError) -> CollectiveRequest<T> {
        try checkCount(count)
        return try startCollective(resultCount: count) { (receive) throws(MPIError) in
            try startCollective(try describeScatter(storage(values), into: receive, root: root), retaining: [values])
        }
    }

    /// Starts scattering blocks of different sizes from the root's `send` (`MPI_Iscatterv`);
    /// `send`, `counts` and `displacements` are significant only at the root.
    @inlinable
    public func immediateScatterv<T: MessageElement>(
        _ send: MessageBuffer<T>?, counts: [Int], displacements: [Int]? = nil, into receive: MessageBuffer<T>, root: Int
    ) throws(MPIError) -> Request {
        let send = rank == root ? send : nil
        return try started { (request) throws(MPIError) in
            try withScatterv(readable(send), counts: counts, displacements: displacements, receive.storage, inPlace: false, root: root) {
                (operation) throws(MPIError) in
                request = try startCollective(operation, sending: send.map { [$0] } ?? [], receiving: [receive])
            }
        }
    }

    /// Starts scattering the root's `values` packed in blocks of `counts[i]`; every rank passes
    /// the same counts and the request returns this rank's block (`MPI_Iscatterv`).
    @inlinable
    public func immediateScatterv<T: MessageElement>(_ values: [T], counts: [Int], root: Int) throws(MPIError) -> CollectiveRequest<T> {
        guard counts.count == size else {
            throw MPIError(.count, "scatterv needs one count per rank: \(counts.count) counts for \(size) ranks")
        }
        try checkCount(counts[rank])
        return try startCollective(resultCount: counts[rank]) { (receive) throws(MPIError) in
            try started { (request) throws(MPIError) in
                try withScatterv(storage(values), counts: counts, displacements: nil, receive, inPlace: false, root: root) {
                    (operation) throws(MPIError) in request = try startCollective(operation, retaining: [values])
                }
            }
        }
    }

    /// Starts gathering every rank's `send` into every rank's `receive` (`MPI_Iallgather`).
    @inlinable
    public func immediateAllGather<T: MessageElement>(_ send: MessageBuffer<T>, into receive: MessageBuffer<T>) throws(MPIError) -> Request {
        try startCollective(try describeAllGather(readable(send), into: receive.storage), sending: [send], receiving: [receive])
    }

    /// Starts an all-gather in place: this rank's block of `buffer` is already in place
    /// (`MPI_Iallgather`, `MPI_IN_PLACE`).
    @inlinable
    public func immediateAllGather<T: MessageElement>(inPlace buffer: MessageBuffer<T>) throws(MPIError) -> Request {
        try startCollective(try describeAllGather(inPlace: buffer.storage), receiving: [buffer])
    }

    /// Starts gathering every rank's `values` on every rank; the request returns them
    /// concatenated in rank order (`MPI_Iallgather`).
    @inlinable
    public func immediateAllGather<T: MessageElement>(_ values: [T]) throws(MPIError) -> CollectiveRequest<T> {
        try startCollective(resultCount: try blocks(values.count)) { (receive) throws(MPIError) in
            try startCollective(try describeAllGather(storage(values), into: receive), retaining: [values])
        }
    }

    /// Starts an all-gather of blocks of different sizes (`MPI_Iallgatherv`).
    @inlinable
    public func immediateAllGatherv<T: MessageElement>(
        _ send: MessageBuffer<T>, into receive: MessageBuffer<T>, counts: [Int], displacements: [Int]? = nil
    ) throws(MPIError) -> Request {
        try started { (request) throws(MPIError) in
            try withAllGatherv(readable(send), inPlace: false, receive.storage, counts: counts, displacements: displacements) {
                (operation) throws(MPIError) in
                request = try startCollective(operation, sending: [send], receiving: [receive])
            }
        }
    }

    /// Starts gathering every rank's `values` (`counts[i]` from rank `i`) on every rank; the
    /// request returns them packed in rank order (`MPI_Iallgatherv`).
    @inlinable
    public func immediateAllGatherv<T: MessageElement>(_ values: [T], counts: [Int]) throws(MPIError) -> CollectiveRequest<T> {
        try startCollective(resultCount: try total(counts, "allGatherv counts")) { (receive) throws(MPIError) in
            try started { (request) throws(MPIError) in
                try withAllGatherv(storage(values), inPlace: false, receive, counts: counts, displacements: nil) {
                    (operation) throws(MPIError) in request = try startCollective(operation, retaining: [values])
                }
            }
        }
    }

    /// Starts an all-to-all exchange of equal blocks (`MPI_Ialltoall`).
    @inlinable
    public func immediateAllToAll<T: MessageElement>(_ send: MessageBuffer<T>, into receive: MessageBuffer<T>) throws(MPIError) -> Request {
        try startCollective(try describeAllToAll(readable(send), into: receive.storage), sending: [send], receiving: [receive])
    }

    /// Starts an all-to-all exchange of the blocks of `buffer` in place (`MPI_Ialltoall`,
    /// `MPI_IN_PLACE`).
    @inlinable
    public func immediateAllToAll<T: MessageElement>(inPlace buffer: MessageBuffer<T>) throws(MPIError) -> Request {
        try startCollective(try describeAllToAll(inPlace: buffer.storage), receiving: [buffer])
    }

    /// Starts an all-to-all exchange of the blocks of `values`; the request returns the blocks
    /// received, in rank order (`MPI_Ialltoall`).
    @inlinable
    public func immediateAllToAll<T: MessageElement>(_ values: [T]) throws(MPIError) -> CollectiveRequest<T> {
        try startCollective(resultCount: values.count) { (receive) throws(MPIError) in
            try startCollective(try describeAllToAll(storage(values), into: receive), retaining: [values])
        }
    }

    /// Starts an all-to-all exchange of blocks of different sizes (`MPI_Ialltoallv`).
    @inlinable
    public func immediateAllToAllv<T: MessageElement>(
        _ send: MessageBuffer<T>, sendCounts: [Int], sendDisplacements: [Int]? = nil,
        into receive: MessageBuffer<T>, receiveCounts: [Int], receiveDisplacements: [Int]? = nil
    ) throws(MPIError) -> Request {
        try started { (request) throws(MPIError) in
            try withAllToAllv(readable(send), sendCounts: sendCounts, sendDisplacements: sendDisplacements,
                into: receive.storage, receiveCounts: receiveCounts, receiveDisplacements: receiveDisplacements
            ) { (operation) throws(MPIError) in
                request = try startCollective(operation, sending: [send], receiving: [receive])
            }
        }
    }

    /// Starts an all-to-all exchange of packed blocks of different sizes; the request returns
    /// the blocks received, packed in rank order (`MPI_Ialltoallv`).
    @inlinable
    public func immediateAllToAllv<T: MessageElement>(
        _ values: [T], sendCounts: [Int], receiveCounts: [Int]
    ) throws(MPIError) -> CollectiveRequest<T> {
        try startCollective(resultCount: try total(receiveCounts, "allToAllv receive counts")) { (receive) throws(MPIError) in
            try started { (request) throws(MPIError) in
                try withAllToAllv(storage(values), sendCounts: sendCounts, sendDisplacements: nil,
                    into: receive, receiveCounts: receiveCounts, receiveDisplacements: nil) {
                    (operation) throws(MPIError) in request = try startCollective(operation, retaining: [values])
                }
            }
        }
    }
}
