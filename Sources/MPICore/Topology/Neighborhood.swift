// Distributed graph topologies (MPI-4.1 §8.5.4, `MPI_Dist_graph_create_adjacent`) and the
// neighbourhood collectives of graph and Cartesian topologies (§8.6: `MPI_Neighbor_allgather(v)`,
// `MPI_Neighbor_alltoall(v)`, blocking and immediate, and `MPI_Neighbor_alltoallw`), and graphs from edge lists
// (`MPI_Dist_graph_create`).
//
// The neighbourhood collectives are written once over point-to-point on a communicator of the
// topology's own (a duplicate, so they never match the program's messages): each rank posts a
// receive per source and a send per destination and waits for all of them, which is what
// Open MPI's basic neighbourhood component does too. Receives from the null process (the edge of
// a non-periodic Cartesian dimension) leave their block untouched, as MPI says.

/// A process's place in a directed graph of the processes of a communicator: whom it receives
/// from (its sources) and sends to (its destinations), with optional weights
/// (`MPI_Dist_graph_create_adjacent` without reordering).
public struct GraphTopology: Sendable {
    /// The communicator of the graph's processes (a duplicate of the one it was made from).
    public let communicator: Communicator
    /// Ranks this process receives from, in the order neighbourhood collectives fill blocks.
    public let sources: [Int]
    /// Ranks this process sends to, in the order neighbourhood collectives take blocks.
    public let destinations: [Int]
    /// Weights of the edges from `sources` and to `destinations` (`nil`: unweighted).
    public let sourceWeights: [Int]?
    public let destinationWeights: [Int]?
    /// Where the neighbourhood collectives travel.
    let collectives: Communicator

    /// This process's adjacency (`MPI_Dist_graph_create_adjacent`). Collective over
    /// `communicator`; every edge must be given at both of its ends (as a destination of one
    /// process and a source of the other), as MPI requires.
    public init(
        _ communicator: Communicator, sources: [Int], destinations: [Int],
        sourceWeights: [Int]? = nil, destinationWeights: [Int]? = nil
    ) throws(MPIError) {
        for (what, ranks) in [("source", sources), ("destination", destinations)] {
            if let bad = ranks.first(where: { $0 < 0 || $0 >= communicator.size }) {
                throw MPIError(.rank, "graph \(what) \(bad) is not a rank of a communicator of \(communicator.size)")
            }
        }
        if let sourceWeights, sourceWeights.count != sources.count {
            throw MPIError(.argument, "\(sourceWeights.count) source weights for \(sources.count) sources")
        }
        if let destinationWeights, destinationWeights.count != destinations.count {
            throw MPIError(.argument, "\(destinationWeights.count) destination weights for \(destinations.count) destinations")
        }
        self.communicator = try communicator.duplicate()
        self.collectives = try self.communicator.duplicate()
        self.sources = sources
        self.destinations = destinations
        self.sourceWeights = sourceWeights
        self.destinationWeights = destinationWeights
    }

    /// A graph from edges any process may give (`MPI_Dist_graph_create` without reordering):
    /// each process passes some edges `(from, to)` of the graph, with a weight each or none, and
    /// every process gets its own sources and destinations. Collective over `communicator`.
    /// Neighbours are ordered by the rank that gave the edge, then by the order it gave them (MPI
    /// leaves the order to the implementation). An edge given twice is two edges, as in MPI.
    ///
    /// - Throws: `MPIError(.rank)` for an end that is not a rank of `communicator`,
    ///   `MPIError(.argument)` for a weight count that is not the edge count, and on every
    ///   process `MPIError(.argument)` when some processes give weights and others do not.
    public init(_ communicator: Communicator, edges: [(from: Int, to: Int)], weights: [Int]? = nil) throws(MPIError) {
        if let bad = edges.first(where: { !(0..<communicator.size).contains($0.from) || !(0..<communicator.size).contains($0.to) }) {
            throw MPIError(.rank, "graph edge \(bad.from) → \(bad.to) is not between ranks of a communicator of \(communicator.size)")
        }
        if let weights, weights.count != edges.count {
            throw MPIError(.argument, "\(weights.count) weights for \(edges.count) edges")
        }
        // Tell each end of every edge about it: [1, to, weight] to its source, [0, from, weight]
        // to its destination.
        var outgoing = [[Int]](repeating: [], count: communicator.size)
        for (index, edge) in edges.enumerated() {
            let weight = weights?[index] ?? 0
            outgoing[edge.from] += [1, edge.to, weight]
            outgoing[edge.to] += [0, edge.from, weight]
        }
        // Some weighted, some not would make a graph of mixed meaning: refuse it everywhere.
        let weighted = try communicator.allGather(Int8(weights == nil ? 0 : 1))
        if weighted.contains(0) && weighted.contains(1) {
            throw MPIError(.argument, "graph edges given with weights by ranks \(weighted.indices.filter { weighted[$0] == 1 }) and without by the others")
        }
        var sources: [Int] = [], destinations: [Int] = []
        var sourceWeights: [Int] = [], destinationWeights: [Int] = []
        for block in try communicator.allToAllv(outgoing) {
            for start in stride(from: 0, to: block.count, by: 3) {
                if block[start] == 1 {
                    destinations.append(block[start + 1])
                    destinationWeights.append(block[start + 2])
                } else {
                    sources.append(block[start + 1])
                    sourceWeights.append(block[start + 2])
                }
            }
        }
        let isWeighted = weighted.first == 1
        try self.init(
            communicator, sources: sources, destinations: destinations,
            sourceWeights: isWeighted ? sourceWeights : nil, destinationWeights: isWeighted ? destinationWeights : nil)
    }

    /// Every source's `values`, concatenated in source order (`MPI_Neighbor_allgather`). Every
    /// process sends the same number of elements.
    public func neighborAllGather<T: MessageElement>(_ values: [T]) throws(MPIError) -> [T] {
        try Neighborhood.exchange(on: collectives, sources: sources, destinations: destinations, blocks: values, eachSend: values.count, broadcast: true)
    }

    /// Block `i` of `blocks` (`blocks.count / destinations.count` elements) to destination `i`;
    /// returns the blocks received, in source order (`MPI_Neighbor_alltoall`).
    public func neighborAllToAll<T: MessageElement>(_ blocks: [T]) throws(MPIError) -> [T] {
        let each = try Neighborhood.blockSize(blocks.count, destinations.count)
        return try Neighborhood.exchange(on: collectives, sources: sources, destinations: destinations, blocks: blocks, eachSend: each, broadcast: false)
    }

    /// Every source's `values`, one array per source in source order, each as long as that
    /// source sent (`MPI_Neighbor_allgatherv`, the counts found by matched probes).
    public func neighborAllGatherv<T: MessageElement>(_ values: [T]) throws(MPIError) -> [[T]] {
        try Neighborhood.exchangeVarying(on: collectives, sources: sources, destinations: destinations, blocks: [values], broadcast: true)
    }

    /// `blocks[i]` to destination `i`, any length each; returns what each source sent, in
    /// source order (`MPI_Neighbor_alltoallv`).
    public func neighborAllToAllv<T: MessageElement>(_ blocks: [[T]]) throws(MPIError) -> [[T]] {
        guard blocks.count == destinations.count else {
            throw MPIError(.count, "neighborAllToAllv needs one block per destination: \(blocks.count) blocks for \(destinations.count)")
        }
        return try Neighborhood.exchangeVarying(on: collectives, sources: sources, destinations: destinations, blocks: blocks, broadcast: false)
    }

    /// Sends block `i` of `sendBlocks` of `send` to destination `i` and receives block `i` of
    /// `receiveBlocks` into `receive` from source `i`, each block with a layout of its own
    /// (`MPI_Neighbor_alltoallw`); blocking.
    public func neighborAllToAllw<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, sendBlocks: [MessageBlock<Send.Element>], into receive: inout Receive, receiveBlocks: [MessageBlock<Send.Element>]
    ) throws(MPIError) where Send.Element == Receive.Element {
        try Neighborhood.exchangeBlocks(on: collectives, sources: sources, destinations: destinations,
            send, sendBlocks: sendBlocks, into: &receive, receiveBlocks: receiveBlocks)
    }

    /// Starts ``neighborAllToAllw(_:sendBlocks:into:receiveBlocks:)`` and returns at once
    /// (`MPI_Ineighbor_alltoallw`); both buffers are lent until it completes.
    public func immediateNeighborAllToAllw<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, sendBlocks: [MessageBlock<Send.Element>], into receive: Receive, receiveBlocks: [MessageBlock<Send.Element>]
    ) throws(MPIError) -> NeighborBlocksRequest where Send.Element == Receive.Element {
        try Neighborhood.startBlocks(on: collectives, sources: sources, destinations: destinations,
            send, sendBlocks: sendBlocks, into: receive, receiveBlocks: receiveBlocks)
    }

    /// Starts ``neighborAllGather(_:)`` and returns at once (`MPI_Ineighbor_allgather`): every
    /// source sends `values.count` elements.
    public func immediateNeighborAllGather<T: MessageElement>(_ values: [T]) throws(MPIError) -> NeighborRequest<T> {
        try Neighborhood.start(on: collectives, sources: sources, destinations: destinations, blocks: values,
            sendCounts: [values.count], receiveCounts: [Int](repeating: values.count, count: sources.count), broadcast: true)
    }

    /// Starts ``neighborAllToAll(_:)`` and returns at once (`MPI_Ineighbor_alltoall`).
    public func immediateNeighborAllToAll<T: MessageElement>(_ blocks: [T]) throws(MPIError) -> NeighborRequest<T> {
        let each = try Neighborhood.blockSize(blocks.count, destinations.count)
        return try Neighborhood.start(on: collectives, sources: sources, destinations: destinations, blocks: blocks,
            sendCounts: [Int](repeating: each, count: destinations.count), receiveCounts: [Int](repeating: each, count: sources.count),
            broadcast: false)
    }

    /// Starts an all-gather from every source of at most `receiveCounts[i]` elements from
    /// source `i` (`MPI_Ineighbor_allgatherv`); ``NeighborRequest/waitBlocks()`` returns each
    /// source's elements.
    public func immediateNeighborAllGatherv<T: MessageElement>(_ values: [T], receiveCounts: [Int]) throws(MPIError) -> NeighborRequest<T> {
        try Neighborhood.checkCounts(receiveCounts, sources.count)
        return try Neighborhood.start(on: collectives, sources: sources, destinations: destinations, blocks: values,
            sendCounts: [values.count], receiveCounts: receiveCounts, broadcast: true)
    }

    /// Starts sending `blocks[i]` to destination `i` and receiving at most `receiveCounts[i]`
    /// elements from source `i` (`MPI_Ineighbor_alltoallv`).
    public func immediateNeighborAllToAllv<T: MessageElement>(_ blocks: [[T]], receiveCounts: [Int]) throws(MPIError) -> NeighborRequest<T> {
        guard blocks.count == destinations.count else {
            throw MPIError(.count, "immediateNeighborAllToAllv needs one block per destination: \(blocks.count) blocks for \(destinations.count)")
        }
        try Neighborhood.checkCounts(receiveCounts, sources.count)
        return try Neighborhood.start(on: collectives, sources: sources, destinations: destinations, blocks: blocks.flatMap { $0 },
            sendCounts: blocks.map(\.count), receiveCounts: receiveCounts, broadcast: false)
    }
}

extension CartesianTopology {
    /// The neighbours in MPI's order: for each dimension, the rank one step back, then one step
    /// forward (``Communicator/nullProcess`` past a non-periodic edge). Sources and destinations
    /// are the same list.
    public var neighbors: [Int] {
        get throws(MPIError) {
            var list: [Int] = []
            for dimension in dimensions.indices {
                let (back, forward) = try shift(along: dimension)
                list.append(back)
                list.append(forward)
            }
            return list
        }
    }

    /// `values` from every neighbour, concatenated in ``neighbors`` order
    /// (`MPI_Neighbor_allgather`); blocks of missing neighbours are zero.
    public func neighborAllGather<T: MessageElement>(_ values: [T]) throws(MPIError) -> [T] {
        let around = try neighbors
        return try Neighborhood.exchange(on: collectives, sources: around, destinations: around, blocks: values, eachSend: values.count, broadcast: true)
    }

    /// Block `i` of `blocks` to neighbour `i`; returns the blocks received in ``neighbors`` order
    /// (`MPI_Neighbor_alltoall`) — the halo exchange of a stencil code in one call. Blocks of
    /// missing neighbours are zero.
    public func neighborAllToAll<T: MessageElement>(_ blocks: [T]) throws(MPIError) -> [T] {
        let around = try neighbors
        let each = try Neighborhood.blockSize(blocks.count, around.count)
        return try Neighborhood.exchange(on: collectives, sources: around, destinations: around, blocks: blocks, eachSend: each, broadcast: false)
    }

    /// `values` from every neighbour, one array per neighbour in ``neighbors`` order, each as
    /// long as that neighbour sent; empty for missing neighbours (`MPI_Neighbor_allgatherv`).
    public func neighborAllGatherv<T: MessageElement>(_ values: [T]) throws(MPIError) -> [[T]] {
        let around = try neighbors
        return try Neighborhood.exchangeVarying(on: collectives, sources: around, destinations: around, blocks: [values], broadcast: true)
    }

    /// `blocks[i]` to neighbour `i`, any length each; returns what each neighbour sent, in
    /// ``neighbors`` order, empty for missing neighbours (`MPI_Neighbor_alltoallv`): a halo
    /// exchange whose faces differ in size.
    public func neighborAllToAllv<T: MessageElement>(_ blocks: [[T]]) throws(MPIError) -> [[T]] {
        let around = try neighbors
        guard blocks.count == around.count else {
            throw MPIError(.count, "neighborAllToAllv needs one block per neighbour: \(blocks.count) blocks for \(around.count)")
        }
        return try Neighborhood.exchangeVarying(on: collectives, sources: around, destinations: around, blocks: blocks, broadcast: false)
    }

    /// Sends block `i` of `sendBlocks` of `send` to neighbour `i` and receives block `i` of
    /// `receiveBlocks` into `receive` from it, in ``neighbors`` order, each block with a layout
    /// of its own (`MPI_Neighbor_alltoallw`): a halo exchange of faces straight from and into
    /// the grid, columns included. Blocks of missing neighbours are left as they are.
    public func neighborAllToAllw<Send: SendBuffer, Receive: ReceiveBuffer>(
        _ send: Send, sendBlocks: [MessageBlock<Send.Element>], into receive: inout Receive, receiveBlocks: [MessageBlock<Send.Element>]
    ) throws(MPIError) where Send.Element == Receive.Element {
        let around = try neighbors
        try Neighborhood.exchangeBlocks(on: collectives, sources: around, destinations: around,
            send, sendBlocks: sendBlocks, into: &receive, receiveBlocks: receiveBlocks)
    }

    /// Starts ``neighborAllToAllw(_:sendBlocks:into:receiveBlocks:)`` and returns at once
    /// (`MPI_Ineighbor_alltoallw`): a halo exchange of faces and columns straight from and into
    /// the grid's ``MessageBuffer``, overlapped with the interior's update.
    public func immediateNeighborAllToAllw<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        _ send: Send, sendBlocks: [MessageBlock<Send.Element>], into receive: Receive, receiveBlocks: [MessageBlock<Send.Element>]
    ) throws(MPIError) -> NeighborBlocksRequest where Send.Element == Receive.Element {
        let around = try neighbors
        return try Neighborhood.startBlocks(on: collectives, sources: around, destinations: around,
            send, sendBlocks: sendBlocks, into: receive, receiveBlocks: receiveBlocks)
    }

    /// Starts ``neighborAllGather(_:)`` and returns at once (`MPI_Ineighbor_allgather`).
    public func immediateNeighborAllGather<T: MessageElement>(_ values: [T]) throws(MPIError) -> NeighborRequest<T> {
        let around = try neighbors
        return try Neighborhood.start(on: collectives, sources: around, destinations: around, blocks: values,
            sendCounts: [values.count], receiveCounts: [Int](repeating: values.count, count: around.count), broadcast: true)
    }

    /// Starts ``neighborAllToAll(_:)`` and returns at once (`MPI_Ineighbor_alltoall`).
    public func immediateNeighborAllToAll<T: MessageElement>(_ blocks: [T]) throws(MPIError) -> NeighborRequest<T> {
        let around = try neighbors
        let each = try Neighborhood.blockSize(blocks.count, around.count)
        return try Neighborhood.start(on: collectives, sources: around, destinations: around, blocks: blocks,
            sendCounts: [Int](repeating: each, count: around.count), receiveCounts: [Int](repeating: each, count: around.count),
            broadcast: false)
    }

    /// Starts an all-gather of at most `receiveCounts[i]` elements from neighbour `i`
    /// (`MPI_Ineighbor_allgatherv`); missing neighbours' blocks stay zero.
    public func immediateNeighborAllGatherv<T: MessageElement>(_ values: [T], receiveCounts: [Int]) throws(MPIError) -> NeighborRequest<T> {
        let around = try neighbors
        try Neighborhood.checkCounts(receiveCounts, around.count)
        return try Neighborhood.start(on: collectives, sources: around, destinations: around, blocks: values,
            sendCounts: [values.count], receiveCounts: receiveCounts, broadcast: true)
    }

    /// Starts sending `blocks[i]` to neighbour `i` and receiving at most `receiveCounts[i]`
    /// elements from it (`MPI_Ineighbor_alltoallv`): a halo exchange whose faces differ in size,
    /// overlapped with the interior's update.
    public func immediateNeighborAllToAllv<T: MessageElement>(_ blocks: [[T]], receiveCounts: [Int]) throws(MPIError) -> NeighborRequest<T> {
        let around = try neighbors
        guard blocks.count == around.count else {
            throw MPIError(.count, "immediateNeighborAllToAllv needs one block per neighbour: \(blocks.count) blocks for \(around.count)")
        }
        try Neighborhood.checkCounts(receiveCounts, around.count)
        return try Neighborhood.start(on: collectives, sources: around, destinations: around, blocks: blocks.flatMap { $0 },
            sendCounts: blocks.map(\.count), receiveCounts: receiveCounts, broadcast: false)
    }
}

/// A neighbourhood collective in progress (`MPI_Ineighbor_*`): the receive from each source and
/// the send to each destination. ``wait()`` returns the blocks received, concatenated in source
/// order; ``waitBlocks()`` one array per source, as long as that source sent.
public struct NeighborRequest<Element: MessageElement>: ~Copyable {
    var requests: RequestList
    let storage: OwnedElements<Element>
    let counts: [Int]

    init(requests: consuming RequestList, storage: OwnedElements<Element>, counts: [Int]) {
        self.requests = requests
        self.storage = storage
        self.counts = counts
    }

    /// Waits for every receive and send and returns the received blocks in source order, each
    /// as long as its receive count (`MPI_Wait`).
    ///
    /// - Throws: `MPIError(.truncate)` when a source sent more than its count; every transfer
    ///   completes all the same.
    public consuming func wait() throws(MPIError) -> [Element] {
        _ = try requests.waitAll()
        return storage.array(prefix: storage.storage.count)
    }

    /// Waits like ``wait()`` and returns one array per source, as long as what it sent.
    public consuming func waitBlocks() throws(MPIError) -> [[Element]] {
        let statuses = try requests.waitAll()
        var blocks: [[Element]] = []
        blocks.reserveCapacity(counts.count)
        var offset = 0
        for (index, count) in counts.enumerated() {
            let arrived = statuses[index].source == Communicator.nullProcess ? 0 : (statuses[index].count(of: Element.self) ?? count)
            blocks.append(Array(UnsafeBufferPointer(rebasing: storage.storage[offset..<(offset + min(arrived, count))])))
            offset += count
        }
        return blocks
    }

    /// Whether every transfer has completed (`MPI_Testall`); call ``wait()`` to take the result.
    public mutating func test() throws(MPIError) -> Bool { try requests.testAll() != nil }
}

enum Neighborhood {
    /// The tag of neighbourhood traffic on a topology's own communicator.
    static let tag = 0x6E62

    /// Receives block `i` of `receiveBlocks` from source `i` and sends block `i` of
    /// `sendBlocks` to destination `i`, each block with its own layout, in the caller's buffers
    /// (`MPI_Neighbor_alltoallw`); blocking.
    static func exchangeBlocks<Send: SendBuffer, Receive: ReceiveBuffer>(
        on communicator: Communicator, sources: [Int], destinations: [Int],
        _ send: Send, sendBlocks: [MessageBlock<Send.Element>], into receive: inout Receive, receiveBlocks: [MessageBlock<Send.Element>]
    ) throws(MPIError) where Send.Element == Receive.Element {
        guard sendBlocks.count == destinations.count && receiveBlocks.count == sources.count else {
            throw MPIError(.count, "neighborAllToAllw needs a block per destination and per source: \(sendBlocks.count) send blocks for \(destinations.count) destinations, \(receiveBlocks.count) receive blocks for \(sources.count) sources")
        }
        try send.withSendElements { (outgoing) throws(MPIError) in
            try receive.withReceiveElements { (incoming) throws(MPIError) in
                // Check every block before anything is posted.
                for block in sendBlocks { _ = try communicator.typedBlock(block, in: outgoing.count) }
                for block in receiveBlocks { _ = try communicator.typedBlock(block, in: incoming.count) }
                var requests = RequestList(capacity: sources.count + destinations.count)
                do throws(MPIError) {
                    for (index, source) in sources.enumerated() {
                        let block = receiveBlocks[index]
                        if let layout = block.layout {
                            requests.add(try communicator.immediateReceive(into: incoming, layout: layout, count: block.count, at: block.offset, from: source, tag: tag))
                        } else {
                            let part = UnsafeMutableBufferPointer(rebasing: incoming[block.offset..<(block.offset + block.count)])
                            requests.add(try communicator.immediateReceive(into: part, from: source, tag: tag))
                        }
                    }
                    for (index, destination) in destinations.enumerated() {
                        let block = sendBlocks[index]
                        if let layout = block.layout {
                            requests.add(try communicator.immediateSend(outgoing, layout: layout, count: block.count, at: block.offset, to: destination, tag: tag))
                        } else {
                            let part = UnsafeBufferPointer(rebasing: outgoing[block.offset..<(block.offset + block.count)])
                            requests.add(try communicator.immediateSend(part, to: destination, tag: tag))
                        }
                    }
                    _ = try requests.waitAll()
                } catch {
                    // Nothing may still use the caller's memory when this returns.
                    try? requests.removeAll()
                    throw error
                }
            }
        }
    }

    static func checkCounts(_ counts: [Int], _ sources: Int) throws(MPIError) {
        guard counts.count == sources else {
            throw MPIError(.count, "\(counts.count) receive counts for \(sources) sources")
        }
    }

    static func blockSize(_ count: Int, _ destinations: Int) throws(MPIError) -> Int {
        guard destinations > 0 else { return 0 }
        guard count % destinations == 0 else {
            throw MPIError(.count, "\(count) elements do not split into \(destinations) equal blocks, one per destination")
        }
        return count / destinations
    }

    /// Sends `eachSend` elements to every destination (the same ones to all when `broadcast`,
    /// else block `i` to destination `i`) and receives as many from every source.
    static func exchange<T: MessageElement>(
        on communicator: Communicator, sources: [Int], destinations: [Int], blocks: [T], eachSend: Int, broadcast: Bool
    ) throws(MPIError) -> [T] {
        try start(on: communicator, sources: sources, destinations: destinations, blocks: blocks,
            sendCounts: [Int](repeating: eachSend, count: broadcast ? 1 : destinations.count),
            receiveCounts: [Int](repeating: eachSend, count: sources.count), broadcast: broadcast).wait()
    }

    /// Posts a receive of `receiveCounts[i]` elements from source `i` into one array the
    /// request owns, then a send per destination: block `i` of `blocks` (`sendCounts[i]`
    /// elements, packed), or all of `blocks` to every destination when `broadcast`. The
    /// outgoing elements are copied once into memory the requests own.
    static func start<T: MessageElement>(
        on communicator: Communicator, sources: [Int], destinations: [Int], blocks: [T],
        sendCounts: [Int], receiveCounts: [Int], broadcast: Bool
    ) throws(MPIError) -> NeighborRequest<T> {
        try communicator.checkActive()
        if let negative = receiveCounts.first(where: { $0 < 0 }) {
            throw MPIError(.count, "a neighbourhood receive count of \(negative)")
        }
        guard broadcast || sendCounts.reduce(0, +) == blocks.count else {
            throw MPIError(.count, "\(blocks.count) elements to send for send counts totalling \(sendCounts.reduce(0, +))")
        }
        let received = OwnedElements<T>(zeroedCount: receiveCounts.reduce(0, +))
        let outgoing = blocks.withUnsafeBufferPointer { OwnedElements<T>(copying: $0) }
        var requests = RequestList(capacity: sources.count + destinations.count)
        do throws(MPIError) {
            var offset = 0
            for (index, source) in sources.enumerated() {
                requests.add(try transfer(received, offset, receiveCounts[index], peer: source, sending: false, on: communicator))
                offset += receiveCounts[index]
            }
            offset = 0
            for (index, destination) in destinations.enumerated() {
                let count = broadcast ? blocks.count : sendCounts[index]
                requests.add(try transfer(outgoing, broadcast ? 0 : offset, count, peer: destination, sending: true, on: communicator))
                offset += broadcast ? 0 : count
            }
        } catch {
            // Whatever was posted completes into memory the requests own.
            try? requests.removeAll()
            throw error
        }
        return NeighborRequest(requests: requests, storage: received, counts: receiveCounts)
    }

    /// An immediate send of `count` elements of `owner` from `offset` to `peer`, or a receive
    /// into them from `peer`; the request keeps `owner` alive. The null process completes at once.
    static func transfer<T: MessageElement>(
        _ owner: OwnedElements<T>, _ offset: Int, _ count: Int, peer: Int, sending: Bool, on communicator: Communicator
    ) throws(MPIError) -> Request {
        try transfer(UnsafeMutableRawPointer(owner.storage.baseAddress),
            TypedBlock(byteOffset: offset * MemoryLayout<T>.stride, count: count, type: T.datatype),
            keeping: owner, peer: peer, sending: sending, on: communicator)
    }

    /// An immediate send of `block` of the memory at `base` to `peer`, or a receive into it
    /// from `peer`; the request keeps `owner` alive until it completes.
    static func transfer(
        _ base: UnsafeMutableRawPointer?, _ block: TypedBlock, keeping owner: AnyObject, peer: Int, sending: Bool,
        on communicator: Communicator
    ) throws(MPIError) -> Request {
        let origin = RequestOrigin(sending ? .send : .receive, peer: peer, tag: tag)
        let live = sending ? try communicator.checkedPeers(destination: peer, tag: tag) : try communicator.checkedPeers(source: peer, tag: tag)
        guard live else { return .completed(communicator.backendReference, .null, origin: origin) }
        let start = base.map { $0 + block.byteOffset }
        let handle = sending
            ? try communicator.backend.immediateSend(UnsafeRawPointer(start), count: block.count, type: block.type, to: peer, tag: tag,
                comm: communicator.handle, mode: .standard)
            : try communicator.backend.immediateReceive(into: start, count: block.count, type: block.type, from: peer, tag: tag,
                comm: communicator.handle)
        return Request(backend: communicator.backendReference, handle: handle, loan: .retained(owner), result: nil, origin: origin)
    }

    /// Starts ``exchangeBlocks(on:sources:destinations:_:sendBlocks:into:receiveBlocks:)``
    /// (`MPI_Ineighbor_alltoallw`): both buffers are lent until every transfer has completed.
    static func startBlocks<Send: SendBuffer, Receive: LendableReceiveBuffer>(
        on communicator: Communicator, sources: [Int], destinations: [Int],
        _ send: Send, sendBlocks: [MessageBlock<Send.Element>], into receive: Receive, receiveBlocks: [MessageBlock<Send.Element>]
    ) throws(MPIError) -> NeighborBlocksRequest where Send.Element == Receive.Element {
        try communicator.checkActive()
        guard sendBlocks.count == destinations.count && receiveBlocks.count == sources.count else {
            throw MPIError(.count, "immediateNeighborAllToAllw needs a block per destination and per source: \(sendBlocks.count) send blocks for \(destinations.count) destinations, \(receiveBlocks.count) receive blocks for \(sources.count) sources")
        }
        let (sent, received) = try lendBoth(send, receive)
        // Gives both buffers back once the last request lets go of it (or now, on a throw).
        let loans = CollectiveLoan(send: sent.loan.loan, receive: received.loan.loan, resources: nil)
        let outgoing = try sendBlocks.map { (block) throws(MPIError) in try communicator.typedBlock(block, in: sent.elements.count) }
        let incoming = try receiveBlocks.map { (block) throws(MPIError) in try communicator.typedBlock(block, in: received.elements.count) }
        var requests = RequestList(capacity: sources.count + destinations.count)
        do throws(MPIError) {
            for (index, source) in sources.enumerated() {
                requests.add(try transfer(UnsafeMutableRawPointer(received.elements.baseAddress), incoming[index], keeping: loans,
                    peer: source, sending: false, on: communicator))
            }
            for (index, destination) in destinations.enumerated() {
                requests.add(try transfer(UnsafeMutableRawPointer(mutating: sent.elements.baseAddress), outgoing[index], keeping: loans,
                    peer: destination, sending: true, on: communicator))
            }
        } catch {
            try? requests.removeAll()
            throw error
        }
        return NeighborBlocksRequest(requests: requests)
    }

    /// Sends `blocks[0]` to every destination when `broadcast`, else `blocks[i]` to destination
    /// `i`, and receives whatever each source sends, its size found by a matched probe (so no
    /// other receive can take it).
    static func exchangeVarying<T: MessageElement>(
        on communicator: Communicator, sources: [Int], destinations: [Int], blocks: [[T]], broadcast: Bool
    ) throws(MPIError) -> [[T]] {
        var sends = RequestList(capacity: destinations.count)
        var received: [[T]] = []
        received.reserveCapacity(sources.count)
        do throws(MPIError) {
            for (index, destination) in destinations.enumerated() {
                sends.add(try communicator.immediateSend(blocks[broadcast ? 0 : index], to: destination, tag: tag))
            }
            for source in sources {
                received.append(try communicator.receiveArray(of: T.self, from: source, tag: tag).values)
            }
            _ = try sends.waitAll()
        } catch {
            try? sends.removeAll()
            throw error
        }
        return received
    }
}

/// A neighbourhood all-to-all-w in progress (`MPI_Ineighbor_alltoallw`): the data lands in the
/// caller's buffer, which stays lent until every transfer has completed.
public struct NeighborBlocksRequest: ~Copyable {
    var requests: RequestList

    init(requests: consuming RequestList) { self.requests = requests }

    /// Waits for every receive and send (`MPI_Wait`); on an error the others still complete.
    public mutating func wait() throws(MPIError) { _ = try requests.waitAll() }

    /// Whether every transfer has completed (`MPI_Testall`).
    public mutating func test() throws(MPIError) -> Bool { try requests.testAll() != nil }
}

