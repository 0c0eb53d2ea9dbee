/// The `async` forms of a communicator's operations: `try await world.async.allReduce(…)`.
///
/// Each starts the immediate operation and suspends the calling task until it completes, so no
/// thread blocks; the blocking forms on ``Communicator`` stay callable from `async` code under
/// their own names (`try world.send(…)`), because these live apart. At
/// ``ThreadLevel/multiple`` a progress thread completes the operations; below it the awaiting
/// task drives progress itself, one task at a time — no thread level needs to be chosen for
/// `await` to work. Below `.multiple`, do not make blocking MPI calls while an `async` operation
/// is in flight in another task (`async let`, a task group): await it first, or initialize at
/// `.multiple`.
public struct AsynchronousCommunicator: Sendable {
    /// The communicator the operations run on.
    public let communicator: Communicator

    @inlinable init(_ communicator: Communicator) { self.communicator = communicator }

    /// Starts an operation when no other task is calling MPI (below `.multiple`).
    func start<R: ~Copyable>(_ body: () throws -> R) async throws -> R {
        try await AwaitingTaskProgress.withTurn(on: communicator.backend, body)
    }
}

extension Communicator {
    /// The `async` forms of this communicator's operations.
    ///
    /// ```swift
    /// let total = try await world.async.allReduce(gradients, op: .sum)
    /// try await world.async.send(total, to: 0)
    /// ```
    public var async: AsynchronousCommunicator { AsynchronousCommunicator(self) }
}

extension AsynchronousCommunicator {
    /// Sends `buffer` to rank `dest`, suspending until the send completes.
    public func send<Buffer: SendBuffer>(
        _ buffer: Buffer, to dest: Int, tag: Int = 0, mode: SendMode = .standard
    ) async throws {
        var request = try await start { try communicator.immediateSend(buffer, to: dest, tag: tag, mode: mode) }
        try await request.completion()
    }

    /// Receives a message into `buffer`, suspending until it arrives.
    @discardableResult
    public func receive<Buffer: LendableReceiveBuffer>(
        into buffer: Buffer, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) async throws -> Status {
        var request = try await start { try communicator.immediateReceive(into: buffer, from: source, tag: tag) }
        return try await request.completion()
    }

    /// Receives a message of at most `count` elements into a new array, suspending until it
    /// arrives.
    public func receiveArray<T: MessageElement>(
        of type: T.Type, count: Int, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) async throws -> (values: [T], status: Status) {
        try await start { try communicator.immediateReceiveArray(of: type, count: count, from: source, tag: tag) }.completion()
    }

    /// Receives one value, suspending until it arrives.
    public func receive<T: MessageElement>(
        _ type: T.Type, from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag
    ) async throws -> T {
        let (values, status) = try await receiveArray(of: type, count: 1, from: source, tag: tag)
        guard values.count == 1, status.byteCount == T.datatype.size else {
            throw MPIError(.truncate, "expected one \(T.self) (\(T.datatype.size) bytes) from rank \(status.source), got \(status.byteCount) bytes")
        }
        return values[0]
    }

    /// Suspends until every rank has reached the barrier.
    public func barrier() async throws {
        var request = try await start { try communicator.immediateBarrier() }
        try await request.completion()
    }

    /// The root's `values` on every rank; every rank passes as many elements.
    public func broadcast<Values: SendBuffer>(_ values: Values, root: Int) async throws -> [Values.Element] {
        try await start { try communicator.immediateBroadcast(values, root: root) }.completion()
    }

    /// The reduction of every rank's `values` at the root, `nil` elsewhere.
    public func reduce<Values: SendBuffer>(_ values: Values, op: ReductionOp<Values.Element>, root: Int) async throws -> [Values.Element]? {
        let result = try await start { try communicator.immediateReduce(values, op: op, root: root) }.completion()
        return communicator.rank == root ? result : nil
    }

    /// The reduction of every rank's `values`, on every rank.
    public func allReduce<Values: SendBuffer>(_ values: Values, op: ReductionOp<Values.Element>) async throws -> [Values.Element] {
        try await start { try communicator.immediateAllReduce(values, op: op) }.completion()
    }

    /// Combines every rank's `send` into every rank's `receive` (`.inPlace()` allowed).
    public func allReduce<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, into receive: Receive, op: ReductionOp<Send.Element>
    ) async throws where Send.Element == Receive.Element {
        var request = try await start { try communicator.immediateAllReduce(send, into: receive, op: op) }
        try await request.completion()
    }

    /// The inclusive prefix reduction over ranks `0...r`.
    public func scan<Values: SendBuffer>(_ values: Values, op: ReductionOp<Values.Element>) async throws -> [Values.Element] {
        try await start { try communicator.immediateScan(values, op: op) }.completion()
    }

    /// Every rank's `values` at the root in rank order, `nil` elsewhere.
    public func gather<Values: SendBuffer>(_ values: Values, root: Int) async throws -> [Values.Element]? {
        let result = try await start { try communicator.immediateGather(values, root: root) }.completion()
        return communicator.rank == root ? result : nil
    }

    /// This rank's block of `count` elements of the root's `values`.
    public func scatter<Values: SendBuffer>(_ values: Values, count: Int, root: Int) async throws -> [Values.Element] {
        try await start { try communicator.immediateScatter(values, count: count, root: root) }.completion()
    }

    /// Every rank's `values`, concatenated in rank order, on every rank.
    public func allGather<Values: SendBuffer>(_ values: Values) async throws -> [Values.Element] {
        try await start { try communicator.immediateAllGather(values) }.completion()
    }

    /// Block `i` of `values` to rank `i`; the blocks received, in rank order.
    public func allToAll<Values: SendBuffer>(_ values: Values) async throws -> [Values.Element] {
        try await start { try communicator.immediateAllToAll(values) }.completion()
    }

    /// This rank's block of the reduction of every rank's `values` (equal blocks).
    public func reduceScatterBlock<Values: SendBuffer>(_ values: Values, op: ReductionOp<Values.Element>) async throws -> [Values.Element] {
        try await start { try communicator.immediateReduceScatterBlock(values, op: op) }.completion()
    }
}
