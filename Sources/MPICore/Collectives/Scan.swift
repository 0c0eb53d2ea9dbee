// Scans (MPI-4.1 §6.11): inclusive (`MPI_Scan`) and exclusive (`MPI_Exscan`) prefix reductions
// over the ranks — into a buffer (in place with `.inPlace()`), as a new array, and immediate.

extension Communicator {
    /// Rank `r` receives the reduction of the `send` vectors of ranks `0...r` (`MPI_Scan`);
    /// `send` may be `.inPlace()`.
    @inlinable
    public func scan<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.scan, send, receive, op: op, submit)
        }
    }

    /// The reduction of the `values` of ranks `0...r` (`MPI_Scan`).
    @inlinable
    public func scan<Values: SendBuffer>(_ values: Values, op: ReductionOp<Values.Element>) throws(MPIError) -> [Values.Element] {
        try collectiveResult(values, count: try elementCount(values)) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.scan, send, receive, op: op, submit)
        }
    }

    /// Starts an inclusive scan of `send` into `receive` (`MPI_Iscan`).
    @inlinable
    public func immediateScan<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, origin: RequestOrigin(.scan)) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.scan, send, receive, op: op, submit)
        }
    }

    /// Starts an inclusive scan of every rank's `values`; the request returns rank `r`'s prefix
    /// (`MPI_Iscan`).
    @inlinable
    public func immediateScan<Values: SendBuffer>(
        _ values: Values, op: ReductionOp<Values.Element>
    ) throws(MPIError) -> CollectiveRequest<Values.Element> {
        try startCollectiveResult(values, count: try elementCount(values), origin: RequestOrigin(.scan)) {
            (send, receive, submit) throws(MPIError) in try describeReduction(.scan, send, receive, op: op, submit)
        }
    }

    /// Rank `r > 0` receives the reduction of the `send` vectors of ranks `0..<r`; rank 0's
    /// `receive` is left as it was (`MPI_Exscan`). `send` may be `.inPlace()`.
    @inlinable
    public func exclusiveScan<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, into receive: inout Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) where Send.Element == Receive.Element {
        try runCollective(send, &receive) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.exclusiveScan, send, receive, op: op, submit)
        }
    }

    /// The reduction of the `values` of ranks `0..<r`; `nil` on rank 0 (`MPI_Exscan`).
    @inlinable
    public func exclusiveScan<Values: SendBuffer>(_ values: Values, op: ReductionOp<Values.Element>) throws(MPIError) -> [Values.Element]? {
        let result = try collectiveResult(values, count: try elementCount(values), zeroed: true) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.exclusiveScan, send, receive, op: op, submit)
        }
        return rank == 0 ? nil : result
    }

    /// Starts an exclusive scan of `send` into `receive`; rank 0's `receive` is left as it was
    /// (`MPI_Iexscan`).
    @inlinable
    public func immediateExclusiveScan<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, op: ReductionOp<Send.Element>
    ) throws(MPIError) -> Request where Send.Element == Receive.Element {
        try startCollective(send, receive, origin: RequestOrigin(.exclusiveScan)) { (send, receive, submit) throws(MPIError) in
            try describeReduction(.exclusiveScan, send, receive, op: op, submit)
        }
    }

    /// Starts an exclusive scan of every rank's `values`; the request returns the prefix over
    /// ranks `0..<r`, and an empty array on rank 0 (`MPI_Iexscan`).
    @inlinable
    public func immediateExclusiveScan<Values: SendBuffer>(
        _ values: Values, op: ReductionOp<Values.Element>
    ) throws(MPIError) -> CollectiveRequest<Values.Element> {
        var request = try startCollectiveResult(values, count: try elementCount(values), origin: RequestOrigin(.exclusiveScan)) {
            (send, receive, submit) throws(MPIError) in try describeReduction(.exclusiveScan, send, receive, op: op, submit)
        }
        if rank == 0 { request.resultCount = 0 }
        return request
    }
}

extension Communicator {
    /// The values of ranks `0...rank` combined by `op` in rank order (mpi4py's `comm.scan` with
    /// a callable).
    public func scan<T: Codable & Sendable>(object value: T, op: (T, T) throws -> T) throws(MPIError) -> T {
        try Communicator.fold(try allGather(object: value)[...rank], op)
    }

    /// The values of ranks `0..<rank` combined by `op` in rank order; `nil` on rank 0 (mpi4py's
    /// `comm.exscan` with a callable).
    public func exclusiveScan<T: Codable & Sendable>(object value: T, op: (T, T) throws -> T) throws(MPIError) -> T? {
        let values = try allGather(object: value)
        return rank == 0 ? nil : try Communicator.fold(values[..<rank], op)
    }
}
