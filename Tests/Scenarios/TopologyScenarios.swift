import MPI

/// Cartesian grids and node-local communicators.
let topologyScenarios: [Scenario] = [
    Scenario("cartesian-grid") { c in
        let dimensions = try CartesianTopology.balancedDimensions(ranks: c.size, constraints: [0, 0])
        guard let grid = try CartesianTopology(c.world, dimensions: dimensions, periodic: [true, false]) else {
            throw ScenarioFailure("every rank of a grid as large as the world must be on it")
        }
        try expect(grid.communicator.size == c.size && grid.communicator.rank == c.rank, "grid keeps the world's order")
        let here = grid.coordinates
        try expect(try grid.rank(at: here) == c.rank, "rank(at: coordinates) round trip for \(here)")
        // Periodic in dimension 0, not in dimension 1.
        let (west, east) = try grid.shift(along: 0)
        try expect(west == (try grid.rank(at: [here[0] - 1, here[1]])), "periodic shift source")
        try expect(east == (try grid.rank(at: [here[0] + 1, here[1]])), "periodic shift destination")
        let (south, north) = try grid.shift(along: 1)
        try expect(here[1] > 0 || south == Communicator.nullProcess, "non-periodic lower edge is the null process")
        try expect(here[1] < dimensions[1] - 1 || north == Communicator.nullProcess, "non-periodic upper edge is the null process")

        // Halo exchange: every rank sends its rank both ways and checks what came back.
        for dimension in 0..<2 {
            let face = [Int32](repeating: Int32(c.rank), count: 5)
            let (fromLower, fromUpper) = try grid.exchange(along: dimension, towardLower: face, towardUpper: face, tag: 60 + dimension)
            let (lower, upper) = try grid.shift(along: dimension)
            try expect((fromLower == nil) == (lower == Communicator.nullProcess), "lower face presence in dimension \(dimension)")
            try expect((fromUpper == nil) == (upper == Communicator.nullProcess), "upper face presence in dimension \(dimension)")
            if let fromLower { try expect(fromLower == [Int32](repeating: Int32(lower), count: 5), "face from lower \(fromLower)") }
            if let fromUpper { try expect(fromUpper == [Int32](repeating: Int32(upper), count: 5), "face from upper \(fromUpper)") }
        }
        return .passed
    },

    Scenario("cartesian-halo-layouts") { c in
        // A 2-D grid, periodic along 0 only; each rank's 4 × 5 block with one ghost cell around.
        let dimensions = try CartesianTopology.balancedDimensions(ranks: c.size, constraints: [0, 0])
        guard let grid = try CartesianTopology(c.world, dimensions: dimensions, periodic: [true, false]) else {
            throw ScenarioFailure("every rank of a grid as large as the world must be on it")
        }
        let height = 4, width = 5, stride = width + 2
        let row = try MessageLayout<Int>.contiguous(width)
        let column = try MessageLayout<Int>.column(rows: height, columns: stride)
        // Interior cell (r, c) of rank k holds k * 1000 + r * 10 + c; ghosts start at -1.
        func block(_ rank: Int) -> [Int] {
            var cells = [Int](repeating: -1, count: (height + 2) * stride)
            for r in 1...height { for col in 1...width { cells[r * stride + col] = rank * 1000 + r * 10 + col } }
            return cells
        }
        var mine = block(grid.communicator.rank)
        try grid.exchange(&mine, along: 0, layout: row, faces: (stride + 1, height * stride + 1),
            ghosts: (1, (height + 1) * stride + 1), tag: 70)
        try grid.exchange(&mine, along: 1, layout: column, faces: (stride + 1, stride + width),
            ghosts: (stride, stride + width + 1), tag: 71)
        let (up, down) = try grid.shift(along: 0)
        let (left, right) = try grid.shift(along: 1)
        for col in 1...width {
            try expect(mine[col] == block(up)[height * stride + col], "ghost row from the lower neighbour along 0, column \(col)")
            try expect(mine[(height + 1) * stride + col] == block(down)[stride + col], "ghost row from the upper neighbour along 0, column \(col)")
        }
        for r in 1...height {
            let fromLeft = left == Communicator.nullProcess ? -1 : block(left)[r * stride + width]
            let fromRight = right == Communicator.nullProcess ? -1 : block(right)[r * stride + 1]
            try expect(mine[r * stride] == fromLeft, "ghost column from the lower neighbour along 1, row \(r): \(mine[r * stride])")
            try expect(mine[r * stride + width + 1] == fromRight, "ghost column from the upper neighbour along 1, row \(r)")
        }
        try expect(mine[0] == -1 && mine[stride - 1] == -1, "corner ghosts are not part of either exchange")
        for r in 1...height {
            for col in 1...width { try expect(mine[r * stride + col] == grid.communicator.rank * 1000 + r * 10 + col, "interior cell (\(r), \(col)) changed") }
        }
        return .passed
    },

    Scenario("cartesian-subgrid") { c in
        // A 1-D grid of all but the last rank: the last rank is left out.
        let cells = max(c.size - 1, 1)
        let grid = try CartesianTopology(c.world, dimensions: [cells], periodic: [false])
        try expect((grid == nil) == (c.rank >= cells), "rank \(c.rank) membership in a grid of \(cells)")
        if let grid {
            try expect(grid.communicator.size == cells, "sub-grid size \(grid.communicator.size)")
            try grid.communicator.barrier()
        }
        return .passed
    },

    Scenario("cartesian-sub") { c in
        // A 2-D grid of the world (balanced), split into its rows and its columns.
        let dims = try CartesianTopology.balancedDimensions(ranks: c.size, constraints: [0, 0])
        guard let grid = try CartesianTopology(c.world, dimensions: dims, periodic: [true, false]) else {
            throw ScenarioFailure("every rank belongs to a balanced grid")
        }
        let (row, column) = (grid.coordinates[0], grid.coordinates[1])
        let rowGrid = try grid.sub(keeping: [false, true])
        try expect(rowGrid.dimensions == [dims[1]] && rowGrid.periodic == [false], "row grid \(rowGrid.dimensions) \(rowGrid.periodic)")
        try expect(rowGrid.communicator.rank == column && rowGrid.communicator.size == dims[1], "row rank \(rowGrid.communicator.rank)")
        // Everyone in a row shares its row coordinate: the sum over the row is known.
        let rowSum = try rowGrid.communicator.allReduce(c.rank, op: .sum)
        let expectedRow = (0..<dims[1]).map { try! grid.rank(at: [row, $0])! }.reduce(0, +)
        try expect(rowSum == expectedRow, "sum over row \(row): \(rowSum), expected \(expectedRow)")

        let columnGrid = try grid.sub(keeping: [true, false])
        try expect(columnGrid.dimensions == [dims[0]] && columnGrid.periodic == [true], "column grid \(columnGrid.dimensions)")
        try expect(columnGrid.communicator.rank == row, "column rank \(columnGrid.communicator.rank), row \(row)")
        let (up, down) = try columnGrid.shift(along: 0)
        try expect(up == (row + dims[0] - 1) % dims[0] && down == (row + 1) % dims[0], "periodic shift in the column: \(up), \(down)")

        let alone = try grid.sub(keeping: [false, false])
        try expect(alone.communicator.size == 1 && alone.dimensions.isEmpty, "keeping no dimension: \(alone.communicator.size) ranks")
        try expectError(.dimensions, "sub with the wrong number of flags") { _ = try grid.sub(keeping: [true]) }
        return .passed
    },

    Scenario("split-by-node") { c in
        let node = try c.world.splitByNode(key: -c.rank)
        // The node's ranks are those on this host (all of them on one machine), ordered by key:
        // reversed world ranks.
        let hosts = try c.world.allGather(object: try Environment.processorName())
        let here = hosts.indices.filter { hosts[$0] == hosts[c.rank] }
        try expect(node.size == here.count, "node communicator has \(node.size) of the \(here.count) ranks on this host")
        try expect(node.rank == here.count - 1 - here.firstIndex(of: c.rank)!, "node rank \(node.rank) for key \(-c.rank) among world ranks \(here)")
        var token = [node.rank]
        try node.sendReceiveReplace(&token, to: (node.rank + 1) % node.size, sendTag: 3, from: (node.rank + node.size - 1) % node.size, receiveTag: 3)
        try expect(token == [(node.rank + node.size - 1) % node.size], "ring on the node communicator got \(token)")
        return .passed
    },
]
