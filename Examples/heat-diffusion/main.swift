// 2-D heat equation (Jacobi iteration) on a Cartesian grid of ranks with nonblocking halo
// exchange, checked against a serial solve of the same problem.
//
// The plate is N×N interior points; its top edge is held at 1, the other edges at 0. Each rank
// owns a block of the plate plus a one-cell halo, in two buffers (this iteration's and the
// next's). The halo exchange is a set of persistent requests made once per buffer: its rows go
// out as contiguous layouts and its columns as strided ones (`MessageLayout.column`, a vector
// datatype), straight from the block with no packing by hand. Every iteration starts the
// exchange, updates the block interior while the messages travel, then waits, copies the four
// received halos into place and updates the block's border.
//
// With `--halo neighbor` the exchange is one neighbourhood all-to-all on the grid instead
// (`CartesianTopology.neighborAllToAll`, `MPI_Neighbor_alltoall`): the four edges packed into
// blocks of one size, sent and received in one call, then the whole block is updated — simpler
// code, no overlap of computation with communication.
//
// With `--halo window` there are no messages at all: both plates of every rank live in one
// node-shared window (`Window.allocateShared`), and each iteration reads the neighbours' edges
// straight from their memory (`sharedQuery(rank:)`), separated from their writes by
// `sync()` + barrier + `sync()` inside one `lockAll` epoch (MPI's shared-memory pattern). Every
// rank must then be on one node.
//
// With `--output PATH` the final plate (N×N Doubles, row-major, no halo) goes to PATH with one
// collective write: each rank's view of the file is a subarray type placing its block where it
// belongs in the whole plate (`MessageLayout.subarray`, `MPI_Type_create_subarray`), and the file
// is read back and checked against the serial solve.
//
//     heat-diffusion [--size 256] [--iterations 500] [--halo persistent|neighbor|window] [--output PATH]
//     heat-diffusion --help
import ArgumentParser
import Foundation
import MPI

#if canImport(Glibc)
import Glibc
#endif

struct ExampleError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// How the halo goes between neighbouring blocks.
enum Halo: String, CaseIterable, ExpressibleByArgument {
    case persistent, neighbor, window
}

/// The command line.
struct HeatDiffusion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heat-diffusion",
        abstract: "Solve the 2-D heat equation (Jacobi) on a Cartesian grid of ranks and check it against a serial solve.",
        discussion: """
            The plate is N×N interior points, its top edge held at 1 and the other edges at 0; each \
            rank owns a block of it plus a one-cell halo. Run it under a launcher, e.g. \
            `swift-mpiexec -n 4 heat-diffusion --halo neighbor`.

            Halo exchanges: persistent (persistent requests of rows and strided columns, overlapped \
            with the interior update), neighbor (one neighbourhood all-to-all per iteration), window \
            (no messages: the plates live in a node-shared window and each rank reads its \
            neighbours' edges from their memory; every rank must be on one node).
            """)

    @Option(help: "Interior points along each side of the plate (N).")
    var size = 256

    @Option(help: "Jacobi iterations.")
    var iterations = 500

    @Option(help: "How the halo goes between neighbouring blocks (see the exchanges above).")
    var halo: Halo = .persistent

    @Option(help: ArgumentHelp(
        "Write the final plate (N×N Doubles, row-major) to this file with one collective write through subarray views, and check it.",
        valueName: "path"))
    var output: String?

    func validate() throws {
        guard size > 0 else { throw ValidationError("--size needs a positive integer") }
        guard iterations > 0 else { throw ValidationError("--iterations needs a positive integer") }
        if output?.isEmpty == true { throw ValidationError("--output needs a path") }
    }
}

/// One Jacobi sweep of rows `rows` and columns `columns` of a (height+2)×(width+2) array. Kept
/// out of line with a plain pointer loop per row, so it compiles to the same vectorized code
/// whatever calls it.
@inline(never)
func sweep(_ old: UnsafeBufferPointer<Double>, _ new: UnsafeMutableBufferPointer<Double>, stride: Int, rows: Range<Int>, columns: Range<Int>) {
    guard !columns.isEmpty, let source = old.baseAddress, let target = new.baseAddress else { return }
    for row in rows {
        let here = source + row * stride, above = here - stride, below = here + stride
        let out = target + row * stride
        var column = columns.lowerBound
        while column < columns.upperBound {
            out[column] = 0.25 * (here[column - 1] + here[column + 1] + above[column] + below[column])
            column &+= 1
        }
    }
}

/// The plate solved by one process: the reference the distributed result must equal.
func serialSolve(size n: Int, iterations: Int) -> [Double] {
    let stride = n + 2
    var old = [Double](repeating: 0, count: stride * stride)
    for column in 0..<stride { old[column] = 1 }
    var new = old
    for _ in 0..<iterations {
        old.withUnsafeBufferPointer { o in new.withUnsafeMutableBufferPointer { sweep(o, $0, stride: stride, rows: 1..<(n + 1), columns: 1..<(n + 1)) } }
        swap(&old, &new)
    }
    return old
}

func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

let options = HeatDiffusion.parseOrExit()
do {
    let (n, iterations, halo, output) = (options.size, options.iterations, options.halo, options.output)
    try Environment.initialize()
    let world = try Communicator.world
    let dimensions = try CartesianTopology.balancedDimensions(ranks: world.size, constraints: [0, 0])
    guard n >= dimensions[0] && n >= dimensions[1] else { throw ExampleError("a \(n)×\(n) plate cannot be split \(dimensions)") }
    guard let grid = try CartesianTopology(world, dimensions: dimensions, periodic: [false, false]) else {
        throw ExampleError("rank \(world.rank) is not on the grid")
    }
    let comm = grid.communicator
    // Rows split along dimension 0, columns along dimension 1.
    let (gridRow, gridColumn) = (grid.coordinates[0], grid.coordinates[1])
    func share(_ total: Int, _ parts: Int, _ index: Int) -> Range<Int> {
        let base = total / parts, extra = total % parts
        let start = index * base + min(index, extra)
        return start..<(start + base + (index < extra ? 1 : 0))
    }
    let myRows = share(n, dimensions[0], gridRow), myColumns = share(n, dimensions[1], gridColumn)
    let height = myRows.count, width = myColumns.count, stride = width + 2
    var initial = [Double](repeating: 0, count: (height + 2) * stride)
    if gridRow == 0 { for column in 0..<stride { initial[column] = 1 } }  // the hot top edge
    let plates = (MessageBuffer(initial), MessageBuffer(initial))
    let (up, down) = try grid.shift(along: 0)
    let (left, right) = try grid.shift(along: 1)

    // What each edge is: a row is `width` consecutive cells, a column `height` cells a row apart.
    let row = try MessageLayout<Double>.contiguous(width)
    let column = try MessageLayout<Double>.column(rows: height, columns: stride)
    let fromUp = MessageBuffer<Double>(repeating: 0, count: width), fromDown = MessageBuffer<Double>(repeating: 0, count: width)
    let fromLeft = MessageBuffer<Double>(repeating: 0, count: height), fromRight = MessageBuffer<Double>(repeating: 0, count: height)
    /// The persistent halo exchange of `plate`: receives into the halo buffers, sends of its edges.
    func exchange(of plate: MessageBuffer<Double>) throws -> RequestList {
        var requests = RequestList(capacity: 8)
        if up != Communicator.nullProcess {
            requests.add(try comm.persistentReceive(into: fromUp, from: up, tag: 1))
            requests.add(try comm.persistentSend(plate, layout: row, at: stride + 1, to: up, tag: 2))
        }
        if down != Communicator.nullProcess {
            requests.add(try comm.persistentReceive(into: fromDown, from: down, tag: 2))
            requests.add(try comm.persistentSend(plate, layout: row, at: height * stride + 1, to: down, tag: 1))
        }
        if left != Communicator.nullProcess {
            requests.add(try comm.persistentReceive(into: fromLeft, from: left, tag: 3))
            requests.add(try comm.persistentSend(plate, layout: column, at: stride + 1, to: left, tag: 4))
        }
        if right != Communicator.nullProcess {
            requests.add(try comm.persistentReceive(into: fromRight, from: right, tag: 4))
            requests.add(try comm.persistentSend(plate, layout: column, at: stride + width, to: right, tag: 3))
        }
        return requests
    }
    var evenExchange = try exchange(of: plates.0), oddExchange = try exchange(of: plates.1)

    /// One iteration from `old` into `new`, with `old`'s exchange.
    func step(_ old: MessageBuffer<Double>, _ new: MessageBuffer<Double>, _ requests: inout RequestList) throws {
        try requests.startAll()
        // The interior needs no halo: compute it while the messages travel (pending sends only
        // read `old`).
        old.withUnsafeBufferPointer { o in new.withUnsafeMutableBufferPointer { sweep(o, $0, stride: stride, rows: 2..<height, columns: 2..<width) } }
        try requests.waitAll()
        old.withUnsafeMutableBufferPointer { o in
            if up != Communicator.nullProcess { fromUp.withUnsafeBufferPointer { for c in 0..<width { o[c + 1] = $0[c] } } }
            if down != Communicator.nullProcess { fromDown.withUnsafeBufferPointer { for c in 0..<width { o[(height + 1) * stride + c + 1] = $0[c] } } }
            if left != Communicator.nullProcess { fromLeft.withUnsafeBufferPointer { for r in 0..<height { o[(r + 1) * stride] = $0[r] } } }
            if right != Communicator.nullProcess { fromRight.withUnsafeBufferPointer { for r in 0..<height { o[(r + 1) * stride + width + 1] = $0[r] } } }
        }
        old.withUnsafeBufferPointer { o in
            new.withUnsafeMutableBufferPointer { w in
                sweep(o, w, stride: stride, rows: 1..<2, columns: 1..<(width + 1))
                sweep(o, w, stride: stride, rows: max(2, height)..<(height + 1), columns: 1..<(width + 1))
                sweep(o, w, stride: stride, rows: 2..<max(2, height), columns: 1..<2)
                sweep(o, w, stride: stride, rows: 2..<max(2, height), columns: max(2, width)..<(width + 1))
            }
        }
    }

    /// One iteration from `old` into `new` with a neighbourhood all-to-all: blocks of
    /// max(width, height) cells, in the grid's neighbour order (up, down, left, right).
    let block = max(width, height)
    var outgoing = [Double](repeating: 0, count: 4 * block)
    func neighborStep(_ old: MessageBuffer<Double>, _ new: MessageBuffer<Double>) throws {
        old.withUnsafeBufferPointer { o in
            for c in 0..<width {
                outgoing[c] = o[stride + c + 1]                          // first row, to the one above
                outgoing[block + c] = o[height * stride + c + 1]         // last row, to the one below
            }
            for r in 0..<height {
                outgoing[2 * block + r] = o[(r + 1) * stride + 1]        // first column, to the left
                outgoing[3 * block + r] = o[(r + 1) * stride + width]    // last column, to the right
            }
        }
        let incoming = try grid.neighborAllToAll(outgoing)
        old.withUnsafeMutableBufferPointer { o in
            if up != Communicator.nullProcess { for c in 0..<width { o[c + 1] = incoming[c] } }
            if down != Communicator.nullProcess { for c in 0..<width { o[(height + 1) * stride + c + 1] = incoming[block + c] } }
            if left != Communicator.nullProcess { for r in 0..<height { o[(r + 1) * stride] = incoming[2 * block + r] } }
            if right != Communicator.nullProcess { for r in 0..<height { o[(r + 1) * stride + width + 1] = incoming[3 * block + r] } }
        }
        old.withUnsafeBufferPointer { o in new.withUnsafeMutableBufferPointer { sweep(o, $0, stride: stride, rows: 1..<(height + 1), columns: 1..<(width + 1)) } }
    }

    /// With `--halo window`: both plates of every rank in one shared window, plate `p` at element
    /// `p × plateCount` of each rank's part, and every neighbour's part mapped here.
    let plateCount = (height + 2) * stride
    var shared: (window: Window<Double>, local: WindowMemory<Double>, neighbours: [Int: WindowMemory<Double>])? = nil
    if halo == .window {
        let node = try comm.splitByNode()
        guard node.size == comm.size else {
            throw ExampleError("--halo window reads the neighbours' memory directly, so every rank must be on one node; this job spans \(try world.allReduce(node.rank == 0 ? 1 : 0, op: .sum)) nodes")
        }
        let window = try Window<Double>.allocateShared(count: 2 * plateCount, initialValue: 0, on: comm)
        let local = window.localMemory
        for index in 0..<plateCount { local[index] = initial[index]; local[plateCount + index] = initial[index] }
        var neighbours: [Int: WindowMemory<Double>] = [:]
        for peer in [up, down, left, right] where peer != Communicator.nullProcess { neighbours[peer] = try window.sharedQuery(rank: peer) }
        shared = (window, local, neighbours)
        try window.lockAll(.noCheck)
    }
    /// The plate sizes of the neighbours, whose blocks may be a row or column larger or smaller.
    let upHeight = share(n, dimensions[0], max(gridRow - 1, 0)).count
    let leftWidth = share(n, dimensions[1], max(gridColumn - 1, 0)).count
    let rightWidth = share(n, dimensions[1], min(gridColumn + 1, dimensions[1] - 1)).count
    let downHeight = share(n, dimensions[0], min(gridRow + 1, dimensions[0] - 1)).count

    /// One iteration from plate `p` into plate `1 - p` of the shared window: the halo is read
    /// from the neighbours' plate `p`, which they finished writing before the barrier.
    func windowStep(_ p: Int) throws {
        guard let (window, local, neighbours) = shared else { return }
        try window.sync()
        try comm.barrier()
        try window.sync()
        local.withUnsafeMutableBufferPointer { mine in
            let old = mine.baseAddress! + p * plateCount, new = mine.baseAddress! + (1 - p) * plateCount
            if let memory = neighbours[up] {
                memory.withUnsafeMutableBufferPointer { theirs in
                    let their = theirs.baseAddress! + p * (upHeight + 2) * stride
                    for c in 0..<width { old[c + 1] = their[upHeight * stride + c + 1] }
                }
            }
            if let memory = neighbours[down] {
                memory.withUnsafeMutableBufferPointer { theirs in
                    let their = theirs.baseAddress! + p * (downHeight + 2) * stride
                    for c in 0..<width { old[(height + 1) * stride + c + 1] = their[stride + c + 1] }
                }
            }
            if let memory = neighbours[left] {
                memory.withUnsafeMutableBufferPointer { theirs in
                    let theirStride = leftWidth + 2, their = theirs.baseAddress! + p * (height + 2) * theirStride
                    for r in 0..<height { old[(r + 1) * stride] = their[(r + 1) * theirStride + leftWidth] }
                }
            }
            if let memory = neighbours[right] {
                memory.withUnsafeMutableBufferPointer { theirs in
                    let theirStride = rightWidth + 2, their = theirs.baseAddress! + p * (height + 2) * theirStride
                    for r in 0..<height { old[(r + 1) * stride + width + 1] = their[(r + 1) * theirStride + 1] }
                }
            }
            sweep(UnsafeBufferPointer(start: old, count: plateCount), UnsafeMutableBufferPointer(start: new, count: plateCount),
                stride: stride, rows: 1..<(height + 1), columns: 1..<(width + 1))
        }
    }

    try comm.barrier()
    let start = try Environment.wallTime()
    for iteration in 0..<iterations {
        let (old, new) = iteration % 2 == 0 ? (plates.0, plates.1) : (plates.1, plates.0)
        if halo == .window {
            try windowStep(iteration % 2)
        } else if halo == .neighbor {
            try neighborStep(old, new)
        } else if iteration % 2 == 0 {
            try step(old, new, &evenExchange)
        } else {
            try step(old, new, &oddExchange)
        }
    }
    var old = iterations % 2 == 0 ? plates.0.array : plates.1.array
    if let (window, local, _) = shared {
        try window.unlockAll()
        old = Array(local.array[(iterations % 2 * plateCount)..<((iterations % 2 + 1) * plateCount)])
    }
    let elapsed = try world.allReduce(try Environment.wallTime() - start, op: .max)

    // Every rank checks its block against the serial solution.
    let reference = serialSolve(size: n, iterations: iterations)
    var worst = 0.0
    for r in 0..<height {
        for c in 0..<width {
            worst = max(worst, abs(old[(r + 1) * stride + c + 1] - reference[(myRows.lowerBound + r + 1) * (n + 2) + myColumns.lowerBound + c + 1]))
        }
    }
    let error = try world.allReduce(worst, op: .max)
    if world.rank == 0 {
        print("heat-diffusion: \(n)×\(n) plate, \(iterations) iterations, \(world.size) ranks as a \(dimensions[0])×\(dimensions[1]) grid on \(Environment.backend!), \(halo) halo exchange")
        print(String(format: "time per iteration %.2f us; largest difference from the serial solve %.1e", elapsed / Double(iterations) * 1e6, error))
    }
    guard error <= 1e-12 else { throw ExampleError("the distributed solution differs from the serial one by \(error)") }
    if let output {
        // This rank's block, without its halo, to its place in the whole plate.
        var block: [Double] = []
        block.reserveCapacity(height * width)
        for r in 1...max(height, 1) where height > 0 {
            let first = r * stride + 1
            block += old[first..<(first + width)]
        }
        let placement = try MessageLayout<Double>.subarray(
            sizes: [n, n], subsizes: [height, width], starts: [myRows.lowerBound, myColumns.lowerBound])
        let writeStart = try Environment.wallTime()
        let file = try File.open(output, mode: [.create, .writeOnly], on: world)
        try file.setSize(0)
        try file.setView(elementType: Double.self, fileType: placement)
        try file.writeAll(block)
        try file.close()
        let writeTime = try world.allReduce(try Environment.wallTime() - writeStart, op: .max)
        // Read back: each rank checks its share of the plate's rows against the serial solve.
        let reading = try File.open(output, mode: .readOnly, on: world)
        try reading.setView(elementType: Double.self)
        let rows = share(n, world.size, world.rank)
        let values = try reading.readAtAll(at: rows.lowerBound * n, count: rows.count * n, as: Double.self)
        let size = try reading.size
        try reading.close()
        var mismatches = values.count == rows.count * n ? 0 : 1
        for (index, value) in values.enumerated() {
            let (r, c) = (rows.lowerBound + index / n, index % n)
            let expected: Double = reference[(r + 1) * (n + 2) + c + 1]
            if value != expected { mismatches += 1 }
        }
        let total = try world.allReduce(mismatches, op: .sum)
        if world.rank == 0 {
            print(String(format: "wrote %@ (%d×%d doubles, %d bytes) in %.2f ms through subarray views; read back: %@", output, n, n, size, writeTime * 1e3,
                total == 0 ? "equal to the serial solve" : "\(total) values differ"))
        }
        guard total == 0, size == n * n * 8 else { throw ExampleError("the plate in \(output) differs from the serial solve (\(total) values, \(size) bytes)") }
    }
    try Environment.finalize()
} catch {
    printError("heat-diffusion: \(error)")
    Environment.abort(errorCode: 1)
}
