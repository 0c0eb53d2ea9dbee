// Reduce (MPI-4.1 §6.9.1): every rank's vector combined with an operation at the root — into a
// buffer (in place at the root with `.inPlace()`), as a new array or value, and immediate.

extension Communicator {
    @inlinable
    func describeReduce<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>, root: Int,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkCollective(root: root)
        let atRoot = rank == root
        guard let send else {
            guard atRoot else { throw MPIError(.buffer, "reduce in place is for the root only: rank \(rank) passes the data it contributes") }
            return try submit(.reduce(Collective.Shape(T.datatype, count: receive.count), op.reduction, root: root,
                .root((.inPlace, UnsafeMutableRawPointer(receive.baseAddress)))))
        }
        let shape = Collective.Shape(T.datatype, count: send.count)
        guard atRoot else { return try submit(.reduce(shape, op.reduction, root: root, .other(UnsafeRawPointer(send.baseAddress)))) }
        try checkRoom(receive.count, for: send.count, "reduce result")
        try submit(.reduce(shape, op.reduction, root: root, .root((input(send), UnsafeMutableRawPointer(receive.baseAddress)))))
    }

    /// Combines the ranks' `send` vectors with `op` into the root's `receive` (`MPI_Reduce`).
    /// `receive` is significant only at the root, where it holds at least as many elements;
    /// there `send` may be `.inPlace()`: the root's input is in `receive`.
    @inlinable
    public func reduce<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive, op: ReductionOp<Send.Element>, root: Int
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive, roles: CollectiveRoles(receives: rank == root)) { (send, receive, submit) throws(MPIError) in
            try describeReduce(send, receive, op: op, root: root, submit)
        }
    }

    /// The reduction of every rank's `values` at the root, `nil` elsewhere (`MPI_Reduce`).
    @inlinable
    public func reduce<Values: SendBuffer>(_ values: Values, op: ReductionOp<Values.Element>, root: Int) throws(MPIError) -> [Values.Element]? {
        let result = try collectiveResult(values, count: try elementCount(values), roles: CollectiveRoles(receives: rank == root)) {
            (send, receive, submit) throws(MPIError) in try describeReduce(send, receive, op: op, root: root, submit)
        }
        return rank == root ? result : nil
    }

    /// The reduction of every rank's `value` at the root, `nil` elsewhere (`MPI_Reduce`).
    @inlinable
    public func reduce<T: MessageElement>(_ value: T, op: ReductionOp<T>, root: Int) throws(MPIError) -> T? {
        try reduce([value], op: op, root: root)?.first
    }

    /// Starts reducing every rank's `send` into the root's `receive` (`MPI_Ireduce`); `receive`
    /// is significant (and lent) only at the root, where `send` may be `.inPlace()`.
    @inlinable
    public func immediateReduce<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, op: ReductionOp<Send.Element>, root: Int
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, roles: CollectiveRoles(receives: rank == root), origin: RequestOrigin(.reduce)) {
            (send, receive, submit) throws(MPIError) in try describeReduce(send, receive, op: op, root: root, submit)
        }
    }

    /// Starts reducing every rank's `values`; the request returns the result at the root and an
    /// empty array elsewhere (`MPI_Ireduce`).
    @inlinable
    public func immediateReduce<Values: SendBuffer>(
        _ values: Values, op: ReductionOp<Values.Element>, root: Int
    ) throws(MPIError) -> CollectiveRequest<Values.Element> {
        try startCollectiveResult(values, count: try elementCount(values), roles: CollectiveRoles(receives: rank == root),
            origin: RequestOrigin(.reduce)) { (send, receive, submit) throws(MPIError) in
            try describeReduce(send, receive, op: op, root: root, submit)
        }
    }
}

extension Communicator {
    /// Every rank's `value` combined by `op` at `root`, in rank order:
    /// `op(op(value₀, value₁), value₂)…` (mpi4py's `comm.reduce` with a Python callable);
    /// `nil` on the other ranks. `op` need not be commutative.
    public func reduce<T: Codable & Sendable>(object value: T, root: Int, op: (T, T) throws -> T) throws(MPIError) -> T? {
        guard let values = try gather(object: value, root: root) else { return nil }
        return try Communicator.fold(values, op)
    }

    /// `values` folded left by `op`; an error of `op` becomes `MPIError(.operation)`.
    static func fold<T>(_ values: some Collection<T>, _ op: (T, T) throws -> T) throws(MPIError) -> T {
        var result = values.first!
        do {
            for value in values.dropFirst() { result = try op(result, value) }
        } catch let error as MPIError {
            throw error
        } catch {
            throw MPIError(.operation, "the reduction over \(T.self) objects threw \(error)")
        }
        return result
    }
}
