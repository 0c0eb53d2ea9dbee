// Blocking collective operations on contiguous typed buffers (MPI-4.1 chapter 6).
//
// Each operation comes in layers: buffer pointers (the MPI call itself, with an `inPlace:` form
// for `MPI_IN_PLACE`), arrays updated in place, and forms that return new arrays or values.
// Every rank of the communicator makes the same call with the same counts, root and operation;
// on the shared-memory backend a rank that does not gets an `MPIError` (on every rank) instead of
// a hang. "Significant only at the root" arguments may be empty elsewhere.

extension Communicator {
    // MARK: Broadcast

    /// Sends the root's `buffer` to every rank's `buffer`, which must all have the same count
    /// (`MPI_Bcast`).
    @inlinable
    public func broadcast<T: MessageElement>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws(MPIError) {
        try backend.collective(try describeBroadcast(buffer, root: root), comm: handle)
    }

    @inlinable
    func describeBroadcast<T: MessageElement>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws(MPIError) -> Collective {
        try checkCollective(root: root)
        return Collective(.broadcast, type: T.datatype, count: buffer.count, root: root, receive: UnsafeMutableRawPointer(buffer.baseAddress))
    }

    /// Replaces the elements of `array` with the root's (`MPI_Bcast`); every rank's array has the
    /// same count.
    @inlinable
    public func broadcast<T: MessageElement>(_ array: inout [T], root: Int) throws(MPIError) {
        try array.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in try broadcast(buffer, root: root) }
    }

    /// The root's `value`, on every rank (`MPI_Bcast` of one element).
    @inlinable
    public func broadcast<T: MessageElement>(_ value: T, root: Int) throws(MPIError) -> T {
        var value = value
        try withUnsafeMutablePointer(to: &value) { (pointer) throws(MPIError) in
            try broadcast(UnsafeMutableBufferPointer(start: pointer, count: 1), root: root)
        }
        return value
    }

    /// The root's `values`, on every rank; the other ranks need not know the count (two
    /// `MPI_Bcast`s: the count, then the elements). `values` is read only at the root.
    @inlinable
    public func broadcast<T: MessageElement>(_ values: [T], root: Int) throws(MPIError) -> [T] {
        let count = try broadcast(values.count, root: root)
        guard rank == root else {
            return try makeArray(count: count) { (buffer) throws(MPIError) in try broadcast(buffer, root: root) }
        }
        // The root's buffer is only read, so the array's own storage can be lent.
        try values.withUnsafeBufferPointer { (buffer) throws(MPIError) in
            try broadcast(UnsafeMutableBufferPointer(mutating: buffer), root: root)
        }
        return values
    }

    // MARK: Reduce

    /// Combines the ranks' `send` vectors with `op` into the root's `receive` (`MPI_Reduce`).
    /// `receive` is significant only at the root, where it holds at least `send.count` elements.
    @inlinable
    public func reduce<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>, root: Int
    ) throws(MPIError) {
        try backend.collective(try describeReduce(send, into: receive, op: op, root: root), comm: handle)
    }

    @inlinable
    func describeReduce<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>, root: Int
    ) throws(MPIError) -> Collective {
        try checkCollective(root: root)
        if rank == root { try checkRoom(receive.count, for: send.count, "reduce result") }
        return Collective(.reduce, type: T.datatype, count: send.count, root: root, send: UnsafeRawPointer(send.baseAddress),
            receive: rank == root ? UnsafeMutableRawPointer(receive.baseAddress) : nil, reduction: op.reduction)
    }

    /// `MPI_Reduce` with `MPI_IN_PLACE` at the root: the root's `buffer` is its input and
    /// receives the result; elsewhere `buffer` is only read.
    @inlinable
    public func reduce<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>, root: Int) throws(MPIError) {
        try backend.collective(try describeReduce(inPlace: buffer, op: op, root: root), comm: handle)
    }

    @inlinable
    func describeReduce<T: MessageElement>(
        inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>, root: Int
    ) throws(MPIError) -> Collective {
        try checkCollective(root: root)
        let atRoot = rank == root
        return Collective(.reduce, type: T.datatype, count: buffer.count, root: root,
            send: atRoot ? nil : UnsafeRawPointer(buffer.baseAddress),
            receive: atRoot ? UnsafeMutableRawPointer(buffer.baseAddress) : nil, inPlace: atRoot, reduction: op.reduction)
    }

    /// Reduces `buffer` in place at the root; other ranks' arrays are left as they were
    /// (`MPI_Reduce`, `MPI_IN_PLACE` at the root).
    @inlinable
    public func reduce<T: MessageElement>(_ buffer: inout [T], op: ReductionOp<T>, root: Int) throws(MPIError) {
        try buffer.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in try reduce(inPlace: buffer, op: op, root: root) }
    }

    /// The reduction of every rank's `values` at the root, `nil` elsewhere (`MPI_Reduce`).
    @inlinable
    public func reduce<T: MessageElement>(_ values: [T], op: ReductionOp<T>, root: Int) throws(MPIError) -> [T]? {
        try values.withUnsafeBufferPointer { (send) throws(MPIError) -> [T]? in
            if rank != root {
                try reduce(send, into: UnsafeMutableBufferPointer(start: nil, count: 0), op: op, root: root)
                return nil
            }
            return try makeArray(count: send.count) { (receive) throws(MPIError) in try reduce(send, into: receive, op: op, root: root) }
        }
    }

    /// The reduction of every rank's `value` at the root, `nil` elsewhere (`MPI_Reduce`).
    @inlinable
    public func reduce<T: MessageElement>(_ value: T, op: ReductionOp<T>, root: Int) throws(MPIError) -> T? {
        try reduce([value], op: op, root: root)?.first
    }

    // MARK: All-reduce

    /// Combines the ranks' `send` vectors with `op` into every rank's `receive`
    /// (`MPI_Allreduce`). Every rank gets the same bits, also for floating point.
    @inlinable
    public func allReduce<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>
    ) throws(MPIError) {
        try backend.collective(try describeReduction(.allReduce, send, into: receive, op: op), comm: handle)
    }

    /// `MPI_Allreduce` with `MPI_IN_PLACE`: `buffer` is the input and receives the result.
    @inlinable
    public func allReduce<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>) throws(MPIError) {
        try backend.collective(try describeReduction(.allReduce, inPlace: buffer, op: op), comm: handle)
    }

    /// Combines the ranks' `send` arrays into every rank's `receive` (`MPI_Allreduce`).
    @inlinable
    public func allReduce<T: MessageElement>(_ send: [T], into receive: inout [T], op: ReductionOp<T>) throws(MPIError) {
        try send.withUnsafeBufferPointer { (send) throws(MPIError) in
            try receive.withUnsafeMutableBufferPointer { (receive) throws(MPIError) in try allReduce(send, into: receive, op: op) }
        }
    }

    /// Replaces `buffer` with the reduction of every rank's (`MPI_Allreduce`, `MPI_IN_PLACE`).
    @inlinable
    public func allReduce<T: MessageElement>(_ buffer: inout [T], op: ReductionOp<T>) throws(MPIError) {
        try buffer.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in try allReduce(inPlace: buffer, op: op) }
    }

    /// The reduction of every rank's `values` (`MPI_Allreduce`).
    @inlinable
    public func allReduce<T: MessageElement>(_ values: [T], op: ReductionOp<T>) throws(MPIError) -> [T] {
        try values.withUnsafeBufferPointer { (send) throws(MPIError) in
            try makeArray(count: send.count) { (receive) throws(MPIError) in try allReduce(send, into: receive, op: op) }
        }
    }

    /// The reduction of every rank's `value` (`MPI_Allreduce` of one element).
    @inlinable
    public func allReduce<T: MessageElement>(_ value: T, op: ReductionOp<T>) throws(MPIError) -> T {
        var result = value
        try withUnsafePointer(to: value) { (send) throws(MPIError) in
            try withUnsafeMutablePointer(to: &result) { (receive) throws(MPIError) in
                try allReduce(UnsafeBufferPointer(start: send, count: 1), into: UnsafeMutableBufferPointer(start: receive, count: 1), op: op)
            }
        }
        return result
    }

    // MARK: Scans

    /// Rank `r` receives the reduction of the `send` vectors of ranks `0...r` (`MPI_Scan`).
    @inlinable
    public func scan<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>
    ) throws(MPIError) {
        try backend.collective(try describeReduction(.scan, send, into: receive, op: op), comm: handle)
    }

    /// `MPI_Scan` with `MPI_IN_PLACE`: `buffer` is the input and receives the result.
    @inlinable
    public func scan<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>) throws(MPIError) {
        try backend.collective(try describeReduction(.scan, inPlace: buffer, op: op), comm: handle)
    }

    /// Replaces `buffer` with the reduction over ranks `0...r` (`MPI_Scan`, `MPI_IN_PLACE`).
    @inlinable
    public func scan<T: MessageElement>(_ buffer: inout [T], op: ReductionOp<T>) throws(MPIError) {
        try buffer.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in try scan(inPlace: buffer, op: op) }
    }

    /// The reduction of the `values` of ranks `0...r` (`MPI_Scan`).
    @inlinable
    public func scan<T: MessageElement>(_ values: [T], op: ReductionOp<T>) throws(MPIError) -> [T] {
        try values.withUnsafeBufferPointer { (send) throws(MPIError) in
            try makeArray(count: send.count) { (receive) throws(MPIError) in try scan(send, into: receive, op: op) }
        }
    }

    /// The reduction of the `value`s of ranks `0...r` (`MPI_Scan` of one element).
    @inlinable
    public func scan<T: MessageElement>(_ value: T, op: ReductionOp<T>) throws(MPIError) -> T {
        try scan([value], op: op)[0]
    }

    /// Rank `r > 0` receives the reduction of the `send` vectors of ranks `0..<r`; rank 0's
    /// `receive` is left as it was (`MPI_Exscan`).
    @inlinable
    public func exclusiveScan<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>
    ) throws(MPIError) {
        try backend.collective(try describeReduction(.exclusiveScan, send, into: receive, op: op), comm: handle)
    }

    /// `MPI_Exscan` with `MPI_IN_PLACE`: `buffer` is the input and, except on rank 0, receives
    /// the result.
    @inlinable
    public func exclusiveScan<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>) throws(MPIError) {
        try backend.collective(try describeReduction(.exclusiveScan, inPlace: buffer, op: op), comm: handle)
    }

    /// Replaces `buffer` with the reduction over ranks `0..<r`; rank 0's is left as it was
    /// (`MPI_Exscan`, `MPI_IN_PLACE`).
    @inlinable
    public func exclusiveScan<T: MessageElement>(_ buffer: inout [T], op: ReductionOp<T>) throws(MPIError) {
        try buffer.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in try exclusiveScan(inPlace: buffer, op: op) }
    }

    /// The reduction of the `values` of ranks `0..<r`; `nil` on rank 0 (`MPI_Exscan`).
    @inlinable
    public func exclusiveScan<T: MessageElement>(_ values: [T], op: ReductionOp<T>) throws(MPIError) -> [T]? {
        let result = try values.withUnsafeBufferPointer { (send) throws(MPIError) in
            try makeArray(count: send.count, zeroed: true) { (receive) throws(MPIError) in try exclusiveScan(send, into: receive, op: op) }
        }
        return rank == 0 ? nil : result
    }

    /// The reduction of the `value`s of ranks `0..<r`; `nil` on rank 0 (`MPI_Exscan`).
    @inlinable
    public func exclusiveScan<T: MessageElement>(_ value: T, op: ReductionOp<T>) throws(MPIError) -> T? {
        try exclusiveScan([value], op: op)?.first
    }

    /// An all-reduce or a scan of `send` into `receive`.
    @inlinable
    func describeReduction<T: MessageElement>(
        _ kind: Collective.Kind, _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>
    ) throws(MPIError) -> Collective {
        try checkActive()
        try checkRoom(receive.count, for: send.count, "\(kind) result")
        return Collective(kind, type: T.datatype, count: send.count, send: UnsafeRawPointer(send.baseAddress),
            receive: UnsafeMutableRawPointer(receive.baseAddress), reduction: op.reduction)
    }

    /// An all-reduce or a scan of `buffer` in place.
    @inlinable
    func describeReduction<T: MessageElement>(
        _ kind: Collective.Kind, inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>
    ) throws(MPIError) -> Collective {
        try checkActive()
        return Collective(kind, type: T.datatype, count: buffer.count, receive: UnsafeMutableRawPointer(buffer.baseAddress),
            inPlace: true, reduction: op.reduction)
    }

    // MARK: Gather

    /// Collects every rank's `send` block, in rank order, into the root's `receive`, which
    /// holds at least size × `send.count` elements (`MPI_Gather`). All blocks have one count.
    @inlinable
    public func gather<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, root: Int
    ) throws(MPIError) {
        try backend.collective(try describeGather(send, into: receive, root: root), comm: handle)
    }

    @inlinable
    func describeGather<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, root: Int
    ) throws(MPIError) -> Collective {
        try checkCollective(root: root)
        if rank == root { try checkRoom(receive.count, for: try blocks(send.count), "gathered blocks") }
        return Collective(.gather, type: T.datatype, count: send.count, root: root, send: UnsafeRawPointer(send.baseAddress),
            receive: rank == root ? UnsafeMutableRawPointer(receive.baseAddress) : nil)
    }

    /// `MPI_Gather` with `MPI_IN_PLACE` at the root: there `buffer` holds every block (its own
    /// already at its place); elsewhere `buffer` is the block sent.
    @inlinable
    public func gather<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>, root: Int) throws(MPIError) {
        try checkCollective(root: root)
        let atRoot = rank == root
        try backend.collective(
            Collective(.gather, type: T.datatype, count: atRoot ? try blockCount(buffer.count, "gather in place") : buffer.count,
                root: root, send: atRoot ? nil : UnsafeRawPointer(buffer.baseAddress),
                receive: atRoot ? UnsafeMutableRawPointer(buffer.baseAddress) : nil, inPlace: atRoot),
            comm: handle)
    }

    /// Every rank's `values`, concatenated in rank order at the root; `nil` elsewhere
    /// (`MPI_Gather`).
    @inlinable
    public func gather<T: MessageElement>(_ values: [T], root: Int) throws(MPIError) -> [T]? {
        try values.withUnsafeBufferPointer { (send) throws(MPIError) -> [T]? in
            if rank != root {
                try gather(send, into: UnsafeMutableBufferPointer(start: nil, count: 0), root: root)
                return nil
            }
            return try makeArray(count: try blocks(send.count)) { (receive) throws(MPIError) in try gather(send, into: receive, root: root) }
        }
    }

    /// Every rank's `value`, in rank order at the root; `nil` elsewhere (`MPI_Gather`).
    @inlinable
    public func gather<T: MessageElement>(_ value: T, root: Int) throws(MPIError) -> [T]? {
        try gather([value], root: root)
    }

    /// Collects blocks of different sizes: rank `i`'s `send` goes to the root's `receive` at
    /// `displacements[i]` (default: packed in rank order); `counts[i]` must equal rank `i`'s
    /// `send.count` (`MPI_Gatherv`). `counts`, `displacements` and `receive` are significant
    /// only at the root.
    @inlinable
    public func gatherv<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
        counts: [Int], displacements: [Int]? = nil, root: Int
    ) throws(MPIError) {
        try gatherv(send, inPlace: false, receive, counts: counts, displacements: displacements, root: root)
    }

    /// `MPI_Gatherv` with `MPI_IN_PLACE` at the root: there `buffer` holds every block (its own
    /// already at `displacements[root]`); elsewhere `buffer` is the block sent.
    @inlinable
    public func gatherv<T: MessageElement>(
        inPlace buffer: UnsafeMutableBufferPointer<T>, counts: [Int], displacements: [Int]? = nil, root: Int
    ) throws(MPIError) {
        try gatherv(UnsafeBufferPointer(buffer), inPlace: true, buffer, counts: counts, displacements: displacements, root: root)
    }

    /// Every rank's `values`, packed in rank order at the root (`counts[i]` elements from rank
    /// `i`, significant only at the root); `nil` elsewhere (`MPI_Gatherv`).
    @inlinable
    public func gatherv<T: MessageElement>(_ values: [T], counts: [Int], root: Int) throws(MPIError) -> [T]? {
        try values.withUnsafeBufferPointer { (send) throws(MPIError) -> [T]? in
            if rank != root {
                try gatherv(send, into: UnsafeMutableBufferPointer(start: nil, count: 0), counts: counts, root: root)
                return nil
            }
            return try makeArray(count: try total(counts, "gatherv counts")) { (receive) throws(MPIError) in
                try gatherv(send, into: receive, counts: counts, root: root)
            }
        }
    }

    /// Every rank's `values`, one array per rank at the root, `nil` elsewhere; the root need not
    /// know the counts (`MPI_Gather` of the counts, then `MPI_Gatherv`).
    @inlinable
    public func gatherv<T: MessageElement>(_ values: [T], root: Int) throws(MPIError) -> [[T]]? {
        let counts = try gather(values.count, root: root)
        guard let all = try gatherv(values, counts: counts ?? [], root: root), let counts else { return nil }
        return split(all, counts: counts)
    }

    @inlinable
    func gatherv<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, inPlace: Bool, _ receive: UnsafeMutableBufferPointer<T>,
        counts: [Int], displacements: [Int]?, root: Int
    ) throws(MPIError) {
        try withGatherv(send, inPlace: inPlace, receive, counts: counts, displacements: displacements, root: root) {
            (operation) throws(MPIError) in try backend.collective(operation, comm: handle)
        }
    }

    /// Calls `body` with the gatherv described by the arguments; the counts stay valid during it.
    @inlinable
    func withGatherv<T: MessageElement, R>(
        _ send: UnsafeBufferPointer<T>, inPlace: Bool, _ receive: UnsafeMutableBufferPointer<T>,
        counts: [Int], displacements: [Int]?, root: Int, _ body: (Collective) throws(MPIError) -> R
    ) throws(MPIError) -> R {
        try checkCollective(root: root)
        guard rank == root else {
            return try body(Collective(.gatherv, type: T.datatype, count: send.count, root: root, send: UnsafeRawPointer(send.baseAddress)))
        }
        let displacements = try layout(counts: counts, displacements: displacements, room: receive.count, "gatherv")
        if !inPlace && send.count != counts[rank] {
            throw MPIError(.count, "gatherv at the root sends \(send.count) elements but counts[\(rank)] is \(counts[rank])")
        }
        return try withCounts(counts, displacements) { (counts, displacements) throws(MPIError) in
            try body(Collective(.gatherv, type: T.datatype, count: counts[rank], root: root,
                send: inPlace ? nil : UnsafeRawPointer(send.baseAddress), receive: UnsafeMutableRawPointer(receive.baseAddress),
                inPlace: inPlace, receiveCounts: counts, receiveDisplacements: displacements))
        }
    }

    // MARK: Scatter

    /// Sends block `i` of the root's `send` (blocks of `receive.count` elements, in rank order)
    /// to rank `i`'s `receive` (`MPI_Scatter`). `send` is significant only at the root.
    @inlinable
    public func scatter<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, root: Int
    ) throws(MPIError) {
        try backend.collective(try describeScatter(send, into: receive, root: root), comm: handle)
    }

    @inlinable
    func describeScatter<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, root: Int
    ) throws(MPIError) -> Collective {
        try checkCollective(root: root)
        if rank == root { try checkRoom(send.count, for: try blocks(receive.count), "scattered blocks", sending: true) }
        return Collective(.scatter, type: T.datatype, count: receive.count, root: root,
            send: rank == root ? UnsafeRawPointer(send.baseAddress) : nil, receive: UnsafeMutableRawPointer(receive.baseAddress))
    }

    /// `MPI_Scatter` with `MPI_IN_PLACE` at the root: there `buffer` holds every block and keeps
    /// its own; elsewhere `buffer` receives a block.
    @inlinable
    public func scatter<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>, root: Int) throws(MPIError) {
        try checkCollective(root: root)
        let atRoot = rank == root
        try backend.collective(
            Collective(.scatter, type: T.datatype, count: atRoot ? try blockCount(buffer.count, "scatter in place") : buffer.count,
                root: root, send: atRoot ? UnsafeRawPointer(buffer.baseAddress) : nil,
                receive: atRoot ? nil : UnsafeMutableRawPointer(buffer.baseAddress), inPlace: atRoot),
            comm: handle)
    }

    /// This rank's block of `count` elements of the root's `values` (`MPI_Scatter`); `values`
    /// is read only at the root.
    @inlinable
    public func scatter<T: MessageElement>(_ values: [T], count: Int, root: Int) throws(MPIError) -> [T] {
        try checkCount(count)
        return try values.withUnsafeBufferPointer { (send) throws(MPIError) in
            try makeArray(count: count) { (receive) throws(MPIError) in try scatter(send, into: receive, root: root) }
        }
    }

    /// Sends `counts[i]` elements at `displacements[i]` of the root's `send` (default: packed)
    /// to rank `i`'s `receive`, which holds `counts[i]` (`MPI_Scatterv`). `send`, `counts` and
    /// `displacements` are significant only at the root.
    @inlinable
    public func scatterv<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, counts: [Int], displacements: [Int]? = nil,
        into receive: UnsafeMutableBufferPointer<T>, root: Int
    ) throws(MPIError) {
        try scatterv(send, counts: counts, displacements: displacements, receive, inPlace: false, root: root)
    }

    /// `MPI_Scatterv` with `MPI_IN_PLACE` at the root: there `buffer` holds every block and
    /// keeps its own; elsewhere `buffer` receives a block.
    @inlinable
    public func scatterv<T: MessageElement>(
        inPlace buffer: UnsafeMutableBufferPointer<T>, counts: [Int], displacements: [Int]? = nil, root: Int
    ) throws(MPIError) {
        try scatterv(UnsafeBufferPointer(buffer), counts: counts, displacements: displacements, buffer, inPlace: true, root: root)
    }

    /// This rank's `counts[rank]` elements of the root's `values`, packed in rank order
    /// (`MPI_Scatterv`). Every rank passes the same `counts`; `values` is read only at the root.
    @inlinable
    public func scatterv<T: MessageElement>(_ values: [T], counts: [Int], root: Int) throws(MPIError) -> [T] {
        guard counts.count == size else {
            throw MPIError(.count, "scatterv needs one count per rank: \(counts.count) counts for \(size) ranks")
        }
        try checkCount(counts[rank])
        return try values.withUnsafeBufferPointer { (send) throws(MPIError) in
            try makeArray(count: counts[rank]) { (receive) throws(MPIError) in
                try scatterv(send, counts: counts, into: receive, root: root)
            }
        }
    }

    @inlinable
    func scatterv<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, counts: [Int], displacements: [Int]?,
        _ receive: UnsafeMutableBufferPointer<T>, inPlace: Bool, root: Int
    ) throws(MPIError) {
        try withScatterv(send, counts: counts, displacements: displacements, receive, inPlace: inPlace, root: root) {
            (operation) throws(MPIError) in try backend.collective(operation, comm: handle)
        }
    }

    /// Calls `body` with the scatterv described by the arguments; the counts stay valid during it.
    @inlinable
    func withScatterv<T: MessageElement, R>(
        _ send: UnsafeBufferPointer<T>, counts: [Int], displacements: [Int]?,
        _ receive: UnsafeMutableBufferPointer<T>, inPlace: Bool, root: Int, _ body: (Collective) throws(MPIError) -> R
    ) throws(MPIError) -> R {
        try checkCollective(root: root)
        guard rank == root else {
            return try body(Collective(.scatterv, type: T.datatype, count: receive.count, root: root,
                receive: UnsafeMutableRawPointer(receive.baseAddress)))
        }
        let displacements = try layout(counts: counts, displacements: displacements, room: send.count, "scatterv", sending: true)
        if !inPlace { try checkRoom(receive.count, for: counts[rank], "scatterv block") }
        return try withCounts(counts, displacements) { (counts, displacements) throws(MPIError) in
            try body(Collective(.scatterv, type: T.datatype, count: counts[rank], root: root, send: UnsafeRawPointer(send.baseAddress),
                receive: inPlace ? nil : UnsafeMutableRawPointer(receive.baseAddress), inPlace: inPlace,
                sendCounts: counts, sendDisplacements: displacements))
        }
    }

    // MARK: All-gather

    /// Every rank's `send` block, in rank order, into every rank's `receive`, which holds at least
    /// size × `send.count` elements (`MPI_Allgather`).
    @inlinable
    public func allGather<T: MessageElement>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws(MPIError) {
        try backend.collective(try describeAllGather(send, into: receive), comm: handle)
    }

    @inlinable
    func describeAllGather<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>
    ) throws(MPIError) -> Collective {
        try checkActive()
        try checkRoom(receive.count, for: try blocks(send.count), "gathered blocks")
        return Collective(.allGather, type: T.datatype, count: send.count, send: UnsafeRawPointer(send.baseAddress),
            receive: UnsafeMutableRawPointer(receive.baseAddress))
    }

    /// `MPI_Allgather` with `MPI_IN_PLACE`: `buffer` holds every block, this rank's already at
    /// its place.
    @inlinable
    public func allGather<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>) throws(MPIError) {
        try backend.collective(try describeAllGather(inPlace: buffer), comm: handle)
    }

    @inlinable
    func describeAllGather<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>) throws(MPIError) -> Collective {
        try checkActive()
        return Collective(.allGather, type: T.datatype, count: try blockCount(buffer.count, "allGather in place"),
            receive: UnsafeMutableRawPointer(buffer.baseAddress), inPlace: true)
    }

    /// Fills every block of `buffer` from its rank (`MPI_Allgather`, `MPI_IN_PLACE`).
    @inlinable
    public func allGather<T: MessageElement>(_ buffer: inout [T]) throws(MPIError) {
        try buffer.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in try allGather(inPlace: buffer) }
    }

    /// Every rank's `values`, concatenated in rank order (`MPI_Allgather`).
    @inlinable
    public func allGather<T: MessageElement>(_ values: [T]) throws(MPIError) -> [T] {
        try values.withUnsafeBufferPointer { (send) throws(MPIError) in
            try makeArray(count: try blocks(send.count)) { (receive) throws(MPIError) in try allGather(send, into: receive) }
        }
    }

    /// Every rank's `value`, in rank order (`MPI_Allgather`).
    @inlinable
    public func allGather<T: MessageElement>(_ value: T) throws(MPIError) -> [T] {
        try allGather([value])
    }

    /// Every rank's `send`, of `counts[i]` elements from rank `i`, at `displacements[i]` of every
    /// rank's `receive` (default: packed) (`MPI_Allgatherv`). Every rank passes the same counts.
    @inlinable
    public func allGatherv<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
        counts: [Int], displacements: [Int]? = nil
    ) throws(MPIError) {
        try allGatherv(send, inPlace: false, receive, counts: counts, displacements: displacements)
    }

    /// `MPI_Allgatherv` with `MPI_IN_PLACE`: `buffer` holds every block, this rank's already at
    /// `displacements[rank]`.
    @inlinable
    public func allGatherv<T: MessageElement>(
        inPlace buffer: UnsafeMutableBufferPointer<T>, counts: [Int], displacements: [Int]? = nil
    ) throws(MPIError) {
        try allGatherv(UnsafeBufferPointer(buffer), inPlace: true, buffer, counts: counts, displacements: displacements)
    }

    /// Every rank's `values` (`counts[i]` elements from rank `i`), packed in rank order
    /// (`MPI_Allgatherv`).
    @inlinable
    public func allGatherv<T: MessageElement>(_ values: [T], counts: [Int]) throws(MPIError) -> [T] {
        try values.withUnsafeBufferPointer { (send) throws(MPIError) in
            try makeArray(count: try total(counts, "allGatherv counts")) { (receive) throws(MPIError) in
                try allGatherv(send, into: receive, counts: counts)
            }
        }
    }

    /// Every rank's `values`, one array per rank; nobody needs to know the counts in advance
    /// (`MPI_Allgather` of the counts, then `MPI_Allgatherv`).
    @inlinable
    public func allGatherv<T: MessageElement>(_ values: [T]) throws(MPIError) -> [[T]] {
        let counts = try allGather(values.count)
        return split(try allGatherv(values, counts: counts), counts: counts)
    }

    @inlinable
    func allGatherv<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, inPlace: Bool, _ receive: UnsafeMutableBufferPointer<T>,
        counts: [Int], displacements: [Int]?
    ) throws(MPIError) {
        try withAllGatherv(send, inPlace: inPlace, receive, counts: counts, displacements: displacements) {
            (operation) throws(MPIError) in try backend.collective(operation, comm: handle)
        }
    }

    /// Calls `body` with the allGatherv described by the arguments; the counts stay valid during it.
    @inlinable
    func withAllGatherv<T: MessageElement, R>(
        _ send: UnsafeBufferPointer<T>, inPlace: Bool, _ receive: UnsafeMutableBufferPointer<T>,
        counts: [Int], displacements: [Int]?, _ body: (Collective) throws(MPIError) -> R
    ) throws(MPIError) -> R {
        try checkActive()
        let displacements = try layout(counts: counts, displacements: displacements, room: receive.count, "allGatherv")
        if !inPlace && send.count != counts[rank] {
            throw MPIError(.count, "allGatherv sends \(send.count) elements but counts[\(rank)] is \(counts[rank])")
        }
        return try withCounts(counts, displacements) { (counts, displacements) throws(MPIError) in
            try body(Collective(.allGatherv, type: T.datatype, count: counts[rank], send: inPlace ? nil : UnsafeRawPointer(send.baseAddress),
                receive: UnsafeMutableRawPointer(receive.baseAddress), inPlace: inPlace,
                receiveCounts: counts, receiveDisplacements: displacements))
        }
    }

    // MARK: All-to-all

    /// Sends block `i` of `send` to rank `i`, which stores it as block `r` of its `receive`
    /// (`MPI_Alltoall`). `send` is size equal blocks; `receive` holds as many elements.
    @inlinable
    public func allToAll<T: MessageElement>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws(MPIError) {
        try backend.collective(try describeAllToAll(send, into: receive), comm: handle)
    }

    @inlinable
    func describeAllToAll<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>
    ) throws(MPIError) -> Collective {
        try checkActive()
        let count = try blockCount(send.count, "allToAll send buffer")
        try checkRoom(receive.count, for: send.count, "allToAll result")
        return Collective(.allToAll, type: T.datatype, count: count, send: UnsafeRawPointer(send.baseAddress),
            receive: UnsafeMutableRawPointer(receive.baseAddress))
    }

    /// `MPI_Alltoall` with `MPI_IN_PLACE`: block `i` of `buffer` goes to rank `i` and is
    /// replaced by rank `i`'s block for this rank.
    @inlinable
    public func allToAll<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>) throws(MPIError) {
        try backend.collective(try describeAllToAll(inPlace: buffer), comm: handle)
    }

    @inlinable
    func describeAllToAll<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>) throws(MPIError) -> Collective {
        try checkActive()
        return Collective(.allToAll, type: T.datatype, count: try blockCount(buffer.count, "allToAll buffer"),
            receive: UnsafeMutableRawPointer(buffer.baseAddress), inPlace: true)
    }

    /// Exchanges the blocks of `buffer` in place (`MPI_Alltoall`, `MPI_IN_PLACE`).
    @inlinable
    public func allToAll<T: MessageElement>(_ buffer: inout [T]) throws(MPIError) {
        try buffer.withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in try allToAll(inPlace: buffer) }
    }

    /// Block `i` of `values` goes to rank `i`; returns the blocks received, in rank order
    /// (`MPI_Alltoall`).
    @inlinable
    public func allToAll<T: MessageElement>(_ values: [T]) throws(MPIError) -> [T] {
        try values.withUnsafeBufferPointer { (send) throws(MPIError) in
            try makeArray(count: send.count) { (receive) throws(MPIError) in try allToAll(send, into: receive) }
        }
    }

    /// Sends `sendCounts[i]` elements at `sendDisplacements[i]` of `send` to rank `i`, and
    /// receives `receiveCounts[i]` elements from rank `i` at `receiveDisplacements[i]` of
    /// `receive` (`MPI_Alltoallv`; displacements default to packed).
    @inlinable
    public func allToAllv<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, sendCounts: [Int], sendDisplacements: [Int]? = nil,
        into receive: UnsafeMutableBufferPointer<T>, receiveCounts: [Int], receiveDisplacements: [Int]? = nil
    ) throws(MPIError) {
        try withAllToAllv(send, sendCounts: sendCounts, sendDisplacements: sendDisplacements,
            into: receive, receiveCounts: receiveCounts, receiveDisplacements: receiveDisplacements
        ) { (operation) throws(MPIError) in try backend.collective(operation, comm: handle) }
    }

    /// Calls `body` with the allToAllv described by the arguments; the counts stay valid during it.
    @inlinable
    func withAllToAllv<T: MessageElement, R>(
        _ send: UnsafeBufferPointer<T>, sendCounts: [Int], sendDisplacements: [Int]?,
        into receive: UnsafeMutableBufferPointer<T>, receiveCounts: [Int], receiveDisplacements: [Int]?,
        _ body: (Collective) throws(MPIError) -> R
    ) throws(MPIError) -> R {
        try checkActive()
        let sendDisplacements = try layout(counts: sendCounts, displacements: sendDisplacements, room: send.count, "allToAllv send", sending: true)
        let receiveDisplacements = try layout(counts: receiveCounts, displacements: receiveDisplacements, room: receive.count, "allToAllv receive")
        return try withCounts(sendCounts, sendDisplacements) { (sendCounts, sendDisplacements) throws(MPIError) in
            try withCounts(receiveCounts, receiveDisplacements) { (receiveCounts, receiveDisplacements) throws(MPIError) in
                try body(Collective(.allToAllv, type: T.datatype, send: UnsafeRawPointer(send.baseAddress),
                    receive: UnsafeMutableRawPointer(receive.baseAddress),
                    sendCounts: sendCounts, sendDisplacements: sendDisplacements,
                    receiveCounts: receiveCounts, receiveDisplacements: receiveDisplacements))
            }
        }
    }

    /// `MPI_Alltoallv` with `MPI_IN_PLACE`: `counts[i]` elements at `displacements[i]` of
    /// `buffer` go to rank `i` and are replaced by as many from it.
    @inlinable
    public func allToAllv<T: MessageElement>(
        inPlace buffer: UnsafeMutableBufferPointer<T>, counts: [Int], displacements: [Int]? = nil
    ) throws(MPIError) {
        try checkActive()
        let displacements = try layout(counts: counts, displacements: displacements, room: buffer.count, "allToAllv")
        try withCounts(counts, displacements) { (counts, displacements) throws(MPIError) in
            try backend.collective(
                Collective(.allToAllv, type: T.datatype, receive: UnsafeMutableRawPointer(buffer.baseAddress), inPlace: true,
                    receiveCounts: counts, receiveDisplacements: displacements),
                comm: handle)
        }
    }

    /// Sends the `sendCounts[i]` elements of `values` packed for rank `i` and returns what the
    /// ranks sent here, packed in rank order (`MPI_Alltoallv`).
    @inlinable
    public func allToAllv<T: MessageElement>(_ values: [T], sendCounts: [Int], receiveCounts: [Int]) throws(MPIError) -> [T] {
        try values.withUnsafeBufferPointer { (send) throws(MPIError) in
            try makeArray(count: try total(receiveCounts, "allToAllv receive counts")) { (receive) throws(MPIError) in
                try allToAllv(send, sendCounts: sendCounts, into: receive, receiveCounts: receiveCounts)
            }
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
        return split(try allToAllv(blocks.flatMap { $0 }, sendCounts: sendCounts, receiveCounts: receiveCounts), counts: receiveCounts)
    }

    // MARK: Reduce-scatter

    /// Reduces the ranks' `send` vectors (size blocks of `receive.count` elements) with `op`;
    /// rank `i` receives block `i` of the result (`MPI_Reduce_scatter_block`).
    @inlinable
    public func reduceScatterBlock<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>
    ) throws(MPIError) {
        try backend.collective(try describeReduceScatterBlock(send, into: receive, op: op), comm: handle)
    }

    @inlinable
    func describeReduceScatterBlock<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>
    ) throws(MPIError) -> Collective {
        try checkActive()
        try checkRoom(send.count, for: try blocks(receive.count), "reduceScatterBlock input", sending: true)
        return Collective(.reduceScatterBlock, type: T.datatype, count: receive.count, send: UnsafeRawPointer(send.baseAddress),
            receive: UnsafeMutableRawPointer(receive.baseAddress), reduction: op.reduction)
    }

    /// `MPI_Reduce_scatter_block` with `MPI_IN_PLACE`: `buffer` holds the size blocks and
    /// receives this rank's block of the result at its start.
    @inlinable
    public func reduceScatterBlock<T: MessageElement>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>) throws(MPIError) {
        try checkActive()
        try backend.collective(
            Collective(.reduceScatterBlock, type: T.datatype, count: try blockCount(buffer.count, "reduceScatterBlock buffer"),
                receive: UnsafeMutableRawPointer(buffer.baseAddress), inPlace: true, reduction: op.reduction),
            comm: handle)
    }

    /// This rank's block of the reduction of every rank's `values` (size equal blocks)
    /// (`MPI_Reduce_scatter_block`).
    @inlinable
    public func reduceScatterBlock<T: MessageElement>(_ values: [T], op: ReductionOp<T>) throws(MPIError) -> [T] {
        try values.withUnsafeBufferPointer { (send) throws(MPIError) in
            try makeArray(count: try blockCount(send.count, "reduceScatterBlock values")) { (receive) throws(MPIError) in
                try reduceScatterBlock(send, into: receive, op: op)
            }
        }
    }

    /// Reduces the ranks' `send` vectors with `op`; rank `i` receives the `counts[i]` elements
    /// of the result that follow the blocks of the lower ranks (`MPI_Reduce_scatter`). Every
    /// rank passes the same counts.
    @inlinable
    public func reduceScatter<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>, counts: [Int], op: ReductionOp<T>
    ) throws(MPIError) {
        try reduceScatter(send, inPlace: false, receive, counts: counts, op: op)
    }

    /// `MPI_Reduce_scatter` with `MPI_IN_PLACE`: `buffer` holds the whole vector and receives
    /// this rank's block of the result at its start.
    @inlinable
    public func reduceScatter<T: MessageElement>(
        inPlace buffer: UnsafeMutableBufferPointer<T>, counts: [Int], op: ReductionOp<T>
    ) throws(MPIError) {
        try reduceScatter(UnsafeBufferPointer(buffer), inPlace: true, buffer, counts: counts, op: op)
    }

    /// This rank's `counts[rank]` elements of the reduction of every rank's `values`
    /// (`MPI_Reduce_scatter`).
    @inlinable
    public func reduceScatter<T: MessageElement>(_ values: [T], counts: [Int], op: ReductionOp<T>) throws(MPIError) -> [T] {
        guard counts.count == size else {
            throw MPIError(.count, "reduceScatter needs one count per rank: \(counts.count) counts for \(size) ranks")
        }
        try checkCount(counts[rank])
        return try values.withUnsafeBufferPointer { (send) throws(MPIError) in
            try makeArray(count: counts[rank]) { (receive) throws(MPIError) in try reduceScatter(send, into: receive, counts: counts, op: op) }
        }
    }

    @inlinable
    func reduceScatter<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>, inPlace: Bool, _ receive: UnsafeMutableBufferPointer<T>, counts: [Int], op: ReductionOp<T>
    ) throws(MPIError) {
        try withReduceScatter(send, inPlace: inPlace, receive, counts: counts, op: op) {
            (operation) throws(MPIError) in try backend.collective(operation, comm: handle)
        }
    }

    /// Calls `body` with the reduceScatter described by the arguments; the counts stay valid
    /// during it.
    @inlinable
    func withReduceScatter<T: MessageElement, R>(
        _ send: UnsafeBufferPointer<T>, inPlace: Bool, _ receive: UnsafeMutableBufferPointer<T>, counts: [Int],
        op: ReductionOp<T>, _ body: (Collective) throws(MPIError) -> R
    ) throws(MPIError) -> R {
        try checkActive()
        _ = try layout(counts: counts, displacements: nil, room: send.count, "reduceScatter input", sending: true)
        try checkRoom(receive.count, for: counts[rank], "reduceScatter block")
        return try counts.withUnsafeBufferPointer { (counts) throws(MPIError) in
            try body(Collective(.reduceScatter, type: T.datatype, count: counts[rank], send: inPlace ? nil : UnsafeRawPointer(send.baseAddress),
                receive: UnsafeMutableRawPointer(receive.baseAddress), inPlace: inPlace, reduction: op.reduction,
                receiveCounts: counts))
        }
    }
}

// MARK: Argument checks and helpers

extension Communicator {
    @inlinable
    package func checkCollective(root: Int) throws(MPIError) {
        try checkActive()
        guard root >= 0 && root < size else {
            throw MPIError(.root, "invalid root \(root): communicator has \(size) rank\(size == 1 ? "" : "s") (valid 0...\(size - 1))")
        }
    }

    /// Throws unless a buffer of `have` elements holds the `need` elements `what` takes.
    @inlinable
    package func checkRoom(_ have: Int, for need: Int, _ what: @autoclosure () -> String, sending: Bool = false) throws(MPIError) {
        guard have >= need else {
            throw MPIError(.count, "\(sending ? "send" : "receive") buffer of \(have) elements is too small for the \(what()): \(need) elements needed")
        }
    }

    /// Elements in `size` blocks of `count` elements.
    @inlinable
    package func blocks(_ count: Int) throws(MPIError) -> Int {
        let (total, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow else { throw MPIError(.count, "\(size) blocks of \(count) elements overflow Int") }
        return total
    }

    /// The block size of a buffer of `count` elements split evenly among the ranks.
    @inlinable
    package func blockCount(_ count: Int, _ what: @autoclosure () -> String) throws(MPIError) -> Int {
        guard count % size == 0 else {
            throw MPIError(.count, "\(what()) of \(count) elements does not split into \(size) equal blocks")
        }
        return count / size
    }

    /// The sum of `counts`, which must have one non-negative entry per rank.
    @inlinable
    package func total(_ counts: [Int], _ what: @autoclosure () -> String) throws(MPIError) -> Int {
        _ = try layout(counts: counts, displacements: nil, room: Int.max, what())
        return counts.reduce(0, +)
    }

    /// Checks per-rank `counts` and `displacements` (packed when `nil`) against a buffer of `room`
    /// elements; returns the displacements.
    @inlinable
    package func layout(
        counts: [Int], displacements: [Int]?, room: Int, _ what: String, sending: Bool = false
    ) throws(MPIError) -> [Int] {
        guard counts.count == size else {
            throw MPIError(.count, "\(what) needs one count per rank: \(counts.count) counts for \(size) ranks")
        }
        if let bad = counts.firstIndex(where: { $0 < 0 }) {
            throw MPIError(.count, "\(what): counts[\(bad)] is \(counts[bad]); counts must not be negative")
        }
        var result: [Int]
        if let displacements {
            guard displacements.count == size else {
                throw MPIError(.count, "\(what) needs one displacement per rank: \(displacements.count) displacements for \(size) ranks")
            }
            if let bad = displacements.firstIndex(where: { $0 < 0 }) {
                throw MPIError(.argument, "\(what): displacements[\(bad)] is \(displacements[bad]); displacements must not be negative")
            }
            result = displacements
        } else {
            result = []
            result.reserveCapacity(size)
            var offset = 0
            for count in counts {
                result.append(offset)
                let (next, overflow) = offset.addingReportingOverflow(count)
                guard !overflow else { throw MPIError(.count, "\(what): the counts add up past Int.max") }
                offset = next
            }
        }
        var end = 0
        for index in 0..<size where counts[index] > 0 {
            let (last, overflow) = result[index].addingReportingOverflow(counts[index])
            guard !overflow else { throw MPIError(.count, "\(what): block \(index) ends past Int.max") }
            end = Swift.max(end, last)
        }
        try checkRoom(room, for: end, "\(what) blocks", sending: sending)
        return result
    }

    @inlinable
    package func withCounts<R>(
        _ counts: [Int], _ displacements: [Int],
        _ body: (UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int>) throws(MPIError) -> R
    ) throws(MPIError) -> R {
        try counts.withUnsafeBufferPointer { (counts) throws(MPIError) in
            try displacements.withUnsafeBufferPointer { (displacements) throws(MPIError) in try body(counts, displacements) }
        }
    }

    /// A new array of `count` elements that `fill` writes (zeroed first when `zeroed`, for
    /// operations that may leave part of it untouched, and for datatypes that leave bytes out).
    @inlinable
    package func makeArray<T: MessageElement>(
        count: Int, zeroed: Bool = false, _ fill: (UnsafeMutableBufferPointer<T>) throws(MPIError) -> Void
    ) throws(MPIError) -> [T] {
        var failure: MPIError?
        let array = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if zeroed || !T.datatype.isDense { UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0) }
            do throws(MPIError) {
                try fill(buffer)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return array
    }

    /// `values` cut into consecutive arrays of `counts[i]` elements.
    @inlinable
    package func split<T>(_ values: [T], counts: [Int]) -> [[T]] {
        var result: [[T]] = []
        result.reserveCapacity(counts.count)
        var offset = 0
        for count in counts {
            result.append(Array(values[offset..<offset + count]))
            offset += count
        }
        return result
    }
}
