// Broadcast (MPI-4.1 §6.4): the root's data on every rank — into a buffer, as a new array or
// value, immediate, and for objects.

extension Communicator {
    /// The root's data in `send` (`nil`: in `receive`), to every rank's `receive`.
    @inlinable
    func describeBroadcast<T: MessageElement>(
        _ send: UnsafeBufferPointer<T>?, _ receive: UnsafeMutableBufferPointer<T>, root: Int,
        _ submit: (Collective) throws(MPIError) -> Void
    ) throws(MPIError) {
        try checkCollective(root: root)
        if rank == root, let send {
            return try submit(.broadcast(Collective.Shape(T.datatype, count: send.count), root: root, .root(UnsafeRawPointer(send.baseAddress))))
        }
        let shape = Collective.Shape(T.datatype, count: receive.count)
        if rank == root { return try submit(.broadcast(shape, root: root, .root(UnsafeRawPointer(receive.baseAddress)))) }
        try submit(.broadcast(shape, root: root, .other(UnsafeMutableRawPointer(receive.baseAddress))))
    }

    /// Replaces the elements of every rank's `buffer` with the root's (`MPI_Bcast`); every
    /// rank's buffer has the same count.
    @inlinable
    public func broadcast<Buffer: ReceiveBuffer>(_ buffer: inout Buffer, root: Int) throws(MPIError) {
        try runCollective(InPlace<Buffer.Element>(), &buffer) { (send, receive, submit) throws(MPIError) in
            try describeBroadcast(send, receive, root: root, submit)
        }
    }

    /// The root's `value`, on every rank (`MPI_Bcast` of one element).
    @inlinable
    public func broadcast<T: MessageElement>(_ value: T, root: Int) throws(MPIError) -> T {
        var value = value
        try broadcast(&value, root: root)
        return value
    }

    /// The root's `values`, on every rank; the other ranks need not know the count (two
    /// `MPI_Bcast`s: the count, then the elements). `values` is read only at the root.
    @inlinable
    public func broadcast<Values: SendBuffer>(_ values: Values, root: Int) throws(MPIError) -> [Values.Element] {
        try checkCollective(root: root)
        let atRoot = rank == root
        let count = try broadcast(atRoot ? try elementCount(values) : 0, root: root)
        guard atRoot else {
            return try collectiveResult(InPlace<Values.Element>(), count: count) { (send, receive, submit) throws(MPIError) in
                try describeBroadcast(send, receive, root: root, submit)
            }
        }
        var nothing = UnsafeMutableBufferPointer<Values.Element>(start: nil, count: 0)
        try runCollective(values, &nothing, roles: CollectiveRoles(receives: false)) { (send, receive, submit) throws(MPIError) in
            try describeBroadcast(send, receive, root: root, submit)
        }
        return try values.withSendElements { (elements) throws(MPIError) in Array(elements) }
    }

    /// Starts broadcasting the root's `buffer` into every rank's (`MPI_Ibcast`).
    @inlinable
    public func immediateBroadcast<Buffer: LendableReceiveBuffer>(_ buffer: Buffer, root: Int) throws(MPIError) -> Request {
        try startCollective(InPlace<Buffer.Element>(), buffer, origin: RequestOrigin(.broadcast)) { (send, receive, submit) throws(MPIError) in
            try describeBroadcast(send, receive, root: root, submit)
        }
    }

    /// Starts broadcasting the root's `values`; every rank passes as many elements and the
    /// request returns the root's (`MPI_Ibcast`). `values` is read only at the root.
    @inlinable
    public func immediateBroadcast<Values: SendBuffer>(_ values: Values, root: Int) throws(MPIError) -> CollectiveRequest<Values.Element> {
        try checkCollective(root: root)
        let count = try elementCount(values)
        guard rank == root else {
            return try startCollectiveResult(InPlace<Values.Element>(), count: count, origin: RequestOrigin(.broadcast)) {
                (send, receive, submit) throws(MPIError) in try describeBroadcast(send, receive, root: root, submit)
            }
        }
        // The root's result is its own data: a copy the request owns is both what it sends and
        // what it returns.
        let result = try values.withSendElements { (elements) throws(MPIError) in OwnedElements(copying: elements) }
        let request = try startCollective(result, UnsafeMutableBufferPointer<Values.Element>(start: nil, count: 0),
            roles: CollectiveRoles(receives: false), origin: RequestOrigin(.broadcast)) { (send, receive, submit) throws(MPIError) in
            try describeBroadcast(send, receive, root: root, submit)
        }
        return CollectiveRequest(request: request, result: result, count: count)
    }

    /// Sends `value` from `root` to every process and returns it everywhere (mpi4py's
    /// `comm.bcast`). Other ranks pass any value of the type (it is ignored), e.g. `nil`.
    public func broadcast<T: Codable & Sendable>(object value: T?, root: Int) throws(MPIError) -> T {
        let bytes = rank == root ? try Communicator.encodeMessage(value) : []
        // One broadcast of the size and one of the payload.
        let payload = try broadcast(bytes, root: root)
        guard let result = try Communicator.decodeMessage(T?.self, from: payload, sender: root) else {
            throw MPIError(.argument, "the root (rank \(root)) broadcast nil")
        }
        return result
    }
}
