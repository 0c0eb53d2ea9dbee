/// Ranks arranged on a Cartesian grid, periodic or not in each dimension (MPI-4.1 §8.5).
///
/// Ranks are laid out in row-major order: the last dimension varies fastest, as in
/// `MPI_Cart_create`. The grid's communicator is made with `split`, keeping the parent's rank
/// order (`MPI_Cart_create` with `reorder` false), so it behaves the same on both backends.
public struct CartesianTopology: Sendable {
    /// The communicator of the processes on the grid.
    public let communicator: Communicator
    /// Extent of the grid in each dimension.
    public let dimensions: [Int]
    /// Whether each dimension wraps around.
    public let periodic: [Bool]
    /// Where neighbourhood collectives travel: a duplicate of `communicator`, so they never match
    /// the program's own messages.
    let collectives: Communicator

    /// Number of processes on the grid.
    public var rankCount: Int { dimensions.reduce(1, *) }

    /// This process's coordinates (`MPI_Cart_coords` of its own rank).
    public var coordinates: [Int] { coordinates(of: communicator.rank) }

    /// The coordinates of `rank` (`MPI_Cart_coords`).
    public func coordinates(of rank: Int) -> [Int] {
        var remainder = rank
        var coordinates = [Int](repeating: 0, count: dimensions.count)
        for dimension in dimensions.indices.reversed() {
            coordinates[dimension] = remainder % dimensions[dimension]
            remainder /= dimensions[dimension]
        }
        return coordinates
    }

    /// The rank at `coordinates`, wrapping periodic dimensions; `nil` when a coordinate falls
    /// off a non-periodic dimension (`MPI_Cart_rank`).
    public func rank(at coordinates: [Int]) throws(MPIError) -> Int? {
        guard coordinates.count == dimensions.count else {
            throw MPIError(.dimensions, "\(coordinates.count) coordinates given for a \(dimensions.count)-dimensional grid")
        }
        var rank = 0
        for dimension in dimensions.indices {
            var coordinate = coordinates[dimension]
            let extent = dimensions[dimension]
            if coordinate < 0 || coordinate >= extent {
                guard periodic[dimension] else { return nil }
                coordinate = ((coordinate % extent) + extent) % extent
            }
            rank = rank * extent + coordinate
        }
        return rank
    }

    /// The ranks this process receives from and sends to when data moves `displacement` steps
    /// along `dimension` (`MPI_Cart_shift`); ``Communicator/nullProcess`` past a non-periodic edge.
    public func shift(along dimension: Int, by displacement: Int = 1) throws(MPIError) -> (source: Int, destination: Int) {
        guard dimensions.indices.contains(dimension) else {
            throw MPIError(.dimensions, "dimension \(dimension) of a \(dimensions.count)-dimensional grid")
        }
        var here = coordinates
        let origin = here[dimension]
        here[dimension] = origin - displacement
        let source = try rank(at: here) ?? Communicator.nullProcess
        here[dimension] = origin + displacement
        let destination = try rank(at: here) ?? Communicator.nullProcess
        return (source, destination)
    }

    /// Swaps faces with both neighbours along `dimension` (a halo exchange): sends `towardLower`
    /// to the lower neighbour and `towardUpper` to the upper one, and returns what they sent this
    /// way, `nil` past a non-periodic edge. A face received from below is as long as the face
    /// this process sends up, and the other way round.
    public func exchange<T: MessageElement>(
        along dimension: Int, towardLower: [T], towardUpper: [T], tag: Int = 0
    ) throws(MPIError) -> (fromLower: [T]?, fromUpper: [T]?) {
        let (lower, upper) = try shift(along: dimension)
        var fromLower = [T](repeating: towardUpper.first ?? towardLower.first ?? zeroElement(T.self), count: towardUpper.count)
        var fromUpper = [T](repeating: towardLower.first ?? towardUpper.first ?? zeroElement(T.self), count: towardLower.count)
        // Upward: send to the upper neighbour, receive from the lower one; then downward.
        let up = try communicator.sendReceive(towardUpper, to: upper, sendTag: tag, into: &fromLower, from: lower, receiveTag: tag)
        let down = try communicator.sendReceive(towardLower, to: lower, sendTag: tag, into: &fromUpper, from: upper, receiveTag: tag)
        return (up.source == Communicator.nullProcess ? nil : fromLower,
                down.source == Communicator.nullProcess ? nil : fromUpper)
    }

    /// Swaps faces with both neighbours along `dimension` in place, on a local block that keeps
    /// its ghost cells in the same array: the item of `layout` at element `faces.lower` goes to
    /// the lower neighbour, the one at `faces.upper` to the upper neighbour, and what they send
    /// lands in the items at `ghosts.upper` (from the upper neighbour) and `ghosts.lower` (from
    /// the lower one). With a row layout along one dimension and a column layout
    /// (``MessageLayout/column(rows:columns:)``) along the other, this is a 2-D halo exchange with
    /// no packing by hand. Past a non-periodic edge nothing is sent and the ghosts keep their
    /// values.
    ///
    /// ```swift
    /// // A height × width block with one ghost cell around it, row-major, `stride = width + 2`.
    /// try grid.exchange(&block, along: 0, layout: row, faces: (stride + 1, height * stride + 1),
    ///                   ghosts: (1, (height + 1) * stride + 1))
    /// try grid.exchange(&block, along: 1, layout: column, faces: (stride + 1, stride + width),
    ///                   ghosts: (stride, stride + width + 1))
    /// ```
    public func exchange<T: MessageElement>(
        _ block: inout [T], along dimension: Int, layout: MessageLayout<T>,
        faces: (lower: Int, upper: Int), ghosts: (lower: Int, upper: Int), tag: Int = 0
    ) throws(MPIError) {
        let (lower, upper) = try shift(along: dimension)
        // Upward: the upper face to the upper neighbour, the lower ghost from the lower one; then
        // downward.
        try communicator.sendReceive(
            &block, sending: layout, at: faces.upper, to: upper, sendTag: tag,
            receiving: layout, at: ghosts.lower, from: lower, receiveTag: tag)
        try communicator.sendReceive(
            &block, sending: layout, at: faces.lower, to: lower, sendTag: tag,
            receiving: layout, at: ghosts.upper, from: upper, receiveTag: tag)
    }

    /// A grid of `ranks` processes over `dimensions.count` dimensions, as square as possible,
    /// extents in non-increasing order; non-zero entries of `dimensions` are kept as given
    /// (`MPI_Dims_create`).
    public static func balancedDimensions(ranks: Int, constraints dimensions: [Int]) throws(MPIError) -> [Int] {
        guard ranks >= 1 else { throw MPIError(.argument, "cannot lay out \(ranks) ranks") }
        let fixed = dimensions.filter { $0 > 0 }.reduce(1, *)
        guard dimensions.allSatisfy({ $0 >= 0 }), ranks % fixed == 0 else {
            throw MPIError(.dimensions, "\(ranks) ranks cannot fill a grid with fixed extents \(dimensions)")
        }
        let free = dimensions.filter { $0 == 0 }.count
        if free == 0 {
            guard fixed == ranks else { throw MPIError(.dimensions, "grid \(dimensions) holds \(fixed) ranks, not \(ranks)") }
            return dimensions
        }
        // Give each prime factor, largest first, to the currently smallest free extent.
        var factors: [Int] = []
        var remaining = ranks / fixed
        var divisor = 2
        while divisor * divisor <= remaining {
            while remaining % divisor == 0 {
                factors.append(divisor)
                remaining /= divisor
            }
            divisor += 1
        }
        if remaining > 1 { factors.append(remaining) }
        var extents = [Int](repeating: 1, count: free)
        for factor in factors.sorted(by: >) {
            let smallest = extents.indices.min { extents[$0] < extents[$1] }!
            extents[smallest] *= factor
        }
        extents.sort(by: >)
        var next = extents.makeIterator()
        return dimensions.map { $0 > 0 ? $0 : next.next()! }
    }

    /// A grid of `dimensions.count` dimensions with the given extents and periodicity
    /// (`MPI_Cart_create` with `reorder` false). Collective over `communicator`. Processes of
    /// rank at or above the grid's size get `nil`.
    public init?(
        _ communicator: Communicator, dimensions: [Int], periodic: [Bool]
    ) throws(MPIError) {
        guard !dimensions.isEmpty, dimensions.allSatisfy({ $0 >= 1 }) else {
            throw MPIError(.dimensions, "grid extents must be at least 1, got \(dimensions)")
        }
        guard periodic.count == dimensions.count else {
            throw MPIError(.dimensions, "\(periodic.count) periodicity flags for \(dimensions.count) dimensions")
        }
        let cells = dimensions.reduce(1, *)
        guard cells <= communicator.size else {
            throw MPIError(.dimensions, "a grid of \(dimensions) needs \(cells) ranks; the communicator has \(communicator.size)")
        }
        let member = communicator.rank < cells
        guard let grid = try communicator.split(color: member ? 0 : nil, key: communicator.rank) else { return nil }
        self.communicator = grid
        self.collectives = try grid.duplicate()
        self.dimensions = dimensions
        self.periodic = periodic
    }
}

extension CartesianTopology {
    /// The sub-grid through this process that keeps the dimensions where `keeping` is true and
    /// drops the others (`MPI_Cart_sub`): every process gets the grid of the processes that share
    /// its coordinates in the dropped dimensions, ranked row-major in the kept ones, with their
    /// extents and periodicity. Keeping no dimension gives a grid of this process alone.
    /// Collective over the grid's communicator.
    public func sub(keeping: [Bool]) throws(MPIError) -> CartesianTopology {
        guard keeping.count == dimensions.count else {
            throw MPIError(.dimensions, "\(keeping.count) keep flags for a \(dimensions.count)-dimensional grid")
        }
        let here = coordinates
        var color = 0
        var key = 0
        for dimension in dimensions.indices {
            if keeping[dimension] {
                key = key * dimensions[dimension] + here[dimension]
            } else {
                color = color * dimensions[dimension] + here[dimension]
            }
        }
        guard let sub = try communicator.split(color: color, key: key) else {
            throw MPIError(.intern, "Cart_sub: a split with a color for every process left this one out")
        }
        return try CartesianTopology(
            communicator: sub, dimensions: dimensions.indices.filter { keeping[$0] }.map { dimensions[$0] },
            periodic: dimensions.indices.filter { keeping[$0] }.map { periodic[$0] })
    }

    private init(communicator: Communicator, dimensions: [Int], periodic: [Bool]) throws(MPIError) {
        self.communicator = communicator
        self.collectives = try communicator.duplicate()
        self.dimensions = dimensions
        self.periodic = periodic
    }
}

/// A value of `T` with every byte zero.
@usableFromInline
func zeroElement<T: MessageElement>(_ type: T.Type) -> T {
    withUnsafeTemporaryAllocation(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment) { raw in
        raw.initializeMemory(as: UInt8.self, repeating: 0)
        return raw.load(as: T.self)
    }
}
