// Distributed graph topologies (MPI-4.1 §8.5.4, `MPI_Dist_graph_create_adjacent`) and the
// neighbourhood collectives of graph and Cartesian topologies (§8.6: `MPI_Neighbor_allgather(v)`,
// `MPI_Neighbor_alltoall(v)`), and graphs from edge lists (`MPI_Dist_graph_create`).
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
}

enum Neighborhood {
    /// The tag of neighbourhood traffic on a topology's own communicator.
    static let tag = 0x6E62

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
        var received = [T](repeating: zeroElement(T.self), count: sources.count * eachSend)
        var requests = RequestList(capacity: sources.count + destinations.count)
        do throws(MPIError) {
            try received.withUnsafeMutableBufferPointer { (into) throws(MPIError) in
                try blocks.withUnsafeBufferPointer { (from) throws(MPIError) in
                    for (index, source) in sources.enumerated() {
                        let block = UnsafeMutableBufferPointer(rebasing: into[(index * eachSend)..<((index + 1) * eachSend)])
                        requests.add(try communicator.immediateReceive(into: block, from: source, tag: tag))
                    }
                    for (index, destination) in destinations.enumerated() {
                        let start = broadcast ? 0 : index * eachSend
                        let block = UnsafeBufferPointer(rebasing: from[start..<(start + eachSend)])
                        requests.add(try communicator.immediateSend(block, to: destination, tag: tag))
                    }
                    _ = try requests.waitAll()
                }
            }
        } catch {
            // Nothing may still write into `received` when it goes.
            try? requests.removeAll()
            throw error
        }
        return received
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
