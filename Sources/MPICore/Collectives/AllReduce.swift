// All-reduce (MPI-4.1 §6.9.6): every rank's vector combined with an operation, the result on
// every rank — into a buffer (in place with `.inPlace()`), as a new array or value, immediate.

extension Communicator {
    /// An all-reduce or a scan of `send` (`nil`: in place) into `receive`.
    @inlinable
    func describeReduction<T: MessageElement>(
        _ kind: ReductionKind, _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>, op: ReductionOp<T>,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkActive()
        if let send { try checkRoom(receive.count, for: send.count, "\(kind) result") }
        let shape = Collective.Shape(T.datatype, count: send?.count ?? receive.count)
        let result = UnsafeMutableRawPointer(receive.baseAddress)
        switch kind {
        case .allReduce: try submit(.allReduce(shape, op.reduction, input(send), result: result))
        case .scan: try submit(.scan(shape, op.reduction, input(send), result: result))
        case .exclusiveScan: try submit(.exclusiveScan(shape, op.reduction, input(send), result: result))
        }
    }

    /// The element-wise reductions that share one description.
    @usableFromInline
    enum ReductionKind { case allReduce, scan, exclusiveScan }

    /// Combines the ranks' `send` vectors with `op` into every rank's `receive`
    /// (`MPI_Allreduce`); `send` may be `.inPlace()`: the input is in `receive`. Every rank gets
    /// the same bits, also for floating point.
    ///
    /// ```swift
    /// try world.allReduce(.inPlace(), into: &gradients, op: .sum)
    /// ```
    @inlinable
    public func allReduce<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.allReduce, send, receive, op: op, submit)
        }
    }

    /// The reduction of every rank's `values` (`MPI_Allreduce`).
    @inlinable
    public func allReduce<Values: SendBuffer>(_ values: Values, op: ReductionOp<Values.Element>) throws(MPIError) -> [Values.Element] {
        try collectiveResult(values, count: try elementCount(values)) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.allReduce, send, receive, op: op, submit)
        }
    }

    /// The reduction of every rank's `value` (`MPI_Allreduce` of one element).
    @inlinable
    public func allReduce<T: MessageElement>(_ value: T, op: ReductionOp<T>) throws(MPIError) -> T {
        var result = value
        try allReduce(value, into: &result, op: op)
        return result
    }

    /// Starts an all-reduce of `send` into `receive` (`MPI_Iallreduce`); `send` may be
    /// `.inPlace()`.
    @inlinable
    public func immediateAllReduce<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, origin: RequestOrigin(.allReduce)) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.allReduce, send, receive, op: op, submit)
        }
    }

    /// Starts an all-reduce of every rank's `values`; the request returns the result
    /// (`MPI_Iallreduce`).
    @inlinable
    public func immediateAllReduce<Values: SendBuffer>(
        _ values: Values, op: ReductionOp<Values.Element>
    ) throws(MPIError) -> CollectiveRequest<Values.Element> {
        try startCollectiveResult(values, count: try elementCount(values), origin: RequestOrigin(.allReduce)) {
            (send, receive, submit) throws(MPIError) in try describeReduction(.allReduce, send, receive, op: op, submit)
        }
    }
}

extension Communicator {
    /// Every rank's `value` combined by `op` in rank order, on every rank (mpi4py's
    /// `comm.allreduce` with a callable): every rank folds the same gathered values in the same
    /// order, so all get the same result. `op` need not be commutative.
    public func allReduce<T: Codable & Sendable>(object value: T, op: (T, T) throws -> T) throws(MPIError) -> T {
        try Communicator.fold(try allGather(object: value), op)
    }
}
