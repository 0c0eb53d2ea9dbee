// Scatter (MPI-4.1 §6.6): the root's blocks, one to each rank — equal blocks (`MPI_Scatter`) or of
// different sizes (`MPI_Scatterv`); into a buffer (in place at the root with `.inPlace()`), as a
// new array, and immediate.
//
// In place at the root, `receive` holds every block and keeps its own (MPI_IN_PLACE as the root's
// receive buffer); the other ranks pass their send argument as usual (it is not read).

extension Communicator {
    @inlinable
    func describeScatter<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>, root: Int,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkCollective(root: root)
        guard rank == root else {
            return try submit(.scatter(Collective.Shape(T.datatype, count: receive.count), root: root,
                .other(UnsafeMutableRawPointer(receive.baseAddress))))
        }
        guard let send else {
            return try submit(.scatter(Collective.Shape(T.datatype, count: try blockCount(receive.count, "scatter in place")), root: root,
                .root((UnsafeRawPointer(receive.baseAddress), .inPlace))))
        }
        try checkRoom(send.count, for: try blocks(receive.count), "scattered blocks", sending: true)
        try submit(.scatter(Collective.Shape(T.datatype, count: receive.count), root: root,
            .root((UnsafeRawPointer(send.baseAddress), .buffer(UnsafeMutableRawPointer(receive.baseAddress))))))
    }

    /// Sends block `i` of the root's `send` (blocks of `receive`'s count, in rank order) to rank
    /// `i`'s `receive` (`MPI_Scatter`). `send` is significant only at the root; there it may be
    /// `.inPlace()`: `receive` holds every block and keeps its own.
    @inlinable
    public func scatter<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive, root: Int
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive, roles: CollectiveRoles(sends: rank == root)) { (send, receive, submit) throws(MPIError) in
            try describeScatter(send, receive, root: root, submit)
        }
    }

    /// This rank's block of `count` elements of the root's `values` (`MPI_Scatter`); `values`
    /// is read only at the root.
    @inlinable
    public func scatter<Values: SendBuffer>(_ values: Values, count: Int, root: Int) throws(MPIError) -> [Values.Element] {
        try checkCount(count)
        return try collectiveResult(values, count: count, roles: CollectiveRoles(sends: rank == root)) { (send, receive, submit) throws(MPIError) in
            try describeScatter(send, receive, root: root, submit)
        }
    }

    /// Starts `MPI_Iscatter` of the root's `send` into every rank's `receive`.
    @inlinable
    public func immediateScatter<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, root: Int
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, roles: CollectiveRoles(sends: rank == root), origin: RequestOrigin(.scatter)) {
            (send, receive, submit) throws(MPIError) in try describeScatter(send, receive, root: root, submit)
        }
    }

    /// Starts scattering the root's `values` in blocks of `count`; the request returns this
    /// rank's block (`MPI_Iscatter`).
    @inlinable
    public func immediateScatter<Values: SendBuffer>(_ values: Values, count: Int, root: Int) throws(MPIError) -> CollectiveRequest<Values.Element> {
        try checkCount(count)
        return try startCollectiveResult(values, count: count, roles: CollectiveRoles(sends: rank == root), origin: RequestOrigin(.scatter)) {
            (send, receive, submit) throws(MPIError) in try describeScatter(send, receive, root: root, submit)
        }
    }

    // MARK: Scatterv

    @inlinable
    func describeScatterv<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>, counts: [Int], displacements: [Int]?, root: Int,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkCollective(root: root)
        guard rank == root else {
            return try submit(.scatterv(Collective.Shape(T.datatype, count: receive.count), root: root,
                .other(UnsafeMutableRawPointer(receive.baseAddress))))
        }
        let source = send ?? UnsafeBufferPointer(receive)
        let displacements = try layout(counts: counts, displacements: displacements, room: source.count, "scatterv", sending: true)
        if send != nil { try checkRoom(receive.count, for: counts[rank], "scatterv block") }
        try withCounts(counts, displacements) { (counts, displacements) throws(MPIError) in
            let result: Collective.Output = send == nil ? .inPlace : .buffer(UnsafeMutableRawPointer(receive.baseAddress))
            try submit(.scatterv(Collective.Shape(T.datatype, count: counts[rank]), root: root,
                .root((UnsafeRawPointer(source.baseAddress), result, counts, displacements))))
        }
    }

    /// Sends `counts[i]` elements at `displacements[i]` of the root's `send` (default: packed)
    /// to rank `i`'s `receive`, which holds at least `counts[i]` (`MPI_Scatterv`). `send`,
    /// `counts` and `displacements` are significant only at the root, where `send` may be
    /// `.inPlace()` (`receive` holds every block and keeps its own).
    @inlinable
    public func scatterv<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, counts: [Int], displacements: [Int]? = nil, into receive: inout Receive, root: Int
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive, roles: CollectiveRoles(sends: rank == root)) { (send, receive, submit) throws(MPIError) in
            try describeScatterv(send, receive, counts: counts, displacements: displacements, root: root, submit)
        }
    }

    /// This rank's `counts[rank]` elements of the root's `values`, packed in rank order
    /// (`MPI_Scatter` of the counts, then `MPI_Scatterv`). `values` and `counts` are read only
    /// at the root; the other ranks may pass empty arrays.
    @inlinable
    public func scatterv<Values: SendBuffer>(_ values: Values, counts: [Int], root: Int) throws(MPIError) -> [Values.Element] {
        try checkCollective(root: root)
        let atRoot = rank == root
        if atRoot { _ = try ownCount(counts, "scatterv") }
        let count = try scatter(atRoot ? counts : [], count: 1, root: root)[0]
        return try collectiveResult(values, count: count, roles: CollectiveRoles(sends: atRoot)) { (send, receive, submit) throws(MPIError) in
            try describeScatterv(send, receive, counts: counts, displacements: nil, root: root, submit)
        }
    }

    /// Starts `MPI_Iscatterv` of the root's `send` into every rank's `receive`.
    @inlinable
    public func immediateScatterv<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, counts: [Int], displacements: [Int]? = nil, into receive: Receive, root: Int
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, roles: CollectiveRoles(sends: rank == root), origin: RequestOrigin(.scatterv)) {
            (send, receive, submit) throws(MPIError) in
            try describeScatterv(send, receive, counts: counts, displacements: displacements, root: root, submit)
        }
    }
}

extension Communicator {
    /// Object `objects[i]` of the root to rank `i` (mpi4py's `comm.scatter`); `objects` is read
    /// only at the root (pass `nil` elsewhere) and must hold one object per rank.
    ///
    /// - Throws: on every rank, `MPIError(.count)` when the root's objects are not one per rank.
    public func scatter<T: Codable & Sendable>(objects: [T]?, root: Int) throws(MPIError) -> T {
        try checkCollective(root: root)
        var payloads: [[UInt8]] = []
        var counts: [Int] = []
        let given = objects?.count ?? -1
        if rank == root {
            if let objects, objects.count == size {
                for object in objects { payloads.append(try Communicator.encodeMessage(object)) }
                counts = payloads.map(\.count)
            } else {
                // Every rank learns of the mistake from the counts and throws with the root.
                counts = [Int](repeating: -1 - max(given, 0), count: size)
            }
        }
        let count = try scatter(counts, count: 1, root: root)[0]
        guard count >= 0 else {
            throw MPIError(.count, "scatter(objects:) at root \(root) got \(max(-1 - count, 0)) objects for \(size) ranks (one per rank, and not nil, at the root)")
        }
        let bytes = try scatterv(payloads.flatMap { $0 }, counts: counts, root: root)
        return try Communicator.decodeMessage(T.self, from: bytes, sender: root)
    }
}
