import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Collective operations on every rank count, every root, counts 0, 1, 7 and 1000 (1M for a few),
// every scalar type and every operation that applies to it, in place and not, blocking and
// nonblocking; each result is compared with a reference every rank computes serially from the
// values every rank contributes. The values are chosen so that floating-point results are exact
// in any order of combination, which lets the reference ignore the order a backend used; the
// `collective-identical-bits` scenario checks the bits of inexact sums across ranks instead.

let collectiveScenarios: [Scenario] = [
    Scenario("collective-alltoallw") { c in
        // A distributed transpose: rank r holds an n×n matrix (row-major); column p goes to
        // rank p (a column layout) and lands as row r there (contiguous).
        let n = c.size
        let matrix = (0..<(n * n)).map { Double(c.rank * 1000 + $0) }
        var transposed = [Double](repeating: -1, count: n * n)
        let column = try MessageLayout<Double>.column(rows: n, columns: n)
        try c.world.allToAllw(matrix, sendBlocks: (0..<n).map { MessageBlock(count: 1, at: $0, layout: column) },
            into: &transposed, receiveBlocks: (0..<n).map { MessageBlock(count: n, at: $0 * n) })
        let expected = (0..<n).flatMap { p in (0..<n).map { i in Double(p * 1000 + i * n + c.rank) } }
        try expect(transposed == expected, "alltoallw transpose gave \(transposed.prefix(8)), expected \(expected.prefix(8))")

        // Empty blocks for some peers (nothing to or from odd ranks), a MessageBuffer in place of
        // an array, and counts that differ per peer.
        let out = MessageBuffer<Int32>((0..<(2 * n)).map { Int32(c.rank * 100 + $0) })
        let inbox = MessageBuffer<Int32>(repeating: -1, count: 2 * n)
        var box = inbox
        try c.world.allToAllw(out, sendBlocks: (0..<n).map { p in MessageBlock(count: p % 2 == 0 && c.rank % 2 == 0 ? 2 : 0, at: 2 * p) },
            into: &box, receiveBlocks: (0..<n).map { p in MessageBlock(count: p % 2 == 0 && c.rank % 2 == 0 ? 2 : 0, at: 2 * p) })
        let got = inbox.array
        for p in 0..<n {
            let want: [Int32] = p % 2 == 0 && c.rank % 2 == 0 ? [Int32(p * 100 + 2 * c.rank), Int32(p * 100 + 2 * c.rank + 1)] : [-1, -1]
            try expect(Array(got[(2 * p)..<(2 * p + 2)]) == want, "block from \(p): \(got[(2 * p)..<(2 * p + 2)]), expected \(want)")
        }

        // Bad input throws on the rank that passes it, before anything moves.
        try expectError(.count, "allToAllw with one block too few") {
            var target = [Double](repeating: 0, count: n * n)
            try c.world.allToAllw(matrix, sendBlocks: Array((0..<n).map { MessageBlock(count: 1, at: $0, layout: column) }.dropLast()),
                into: &target, receiveBlocks: (0..<n).map { MessageBlock(count: n, at: $0 * n) })
        }
        try expectError(.count, "allToAllw with a block past the end of the buffer") {
            var target = [Double](repeating: 0, count: n * n)
            try c.world.allToAllw(matrix, sendBlocks: (0..<n).map { _ in MessageBlock(count: n * n + 1) },
                into: &target, receiveBlocks: (0..<n).map { MessageBlock(count: n, at: $0 * n) })
        }
        try c.world.barrier()
        return .passed
    },

    Scenario("reduction-replace-noop") { c in
        // MPI_REPLACE and MPI_NO_OP: a ∘ b = a and a ∘ b = b, folded in rank order.
        var output: [Int32] = [7, 8, 9]
        try ReductionOp<Int32>.replace.reduceLocal([1, 2, 3], into: &output)
        try expect(output == [1, 2, 3], "reduceLocal .replace gave \(output)")
        try ReductionOp<Int32>.noOp.reduceLocal([4, 5, 6], into: &output)
        try expect(output == [1, 2, 3], "reduceLocal .noOp gave \(output)")
        let mine = [Double(c.rank), Double(c.rank * 10)]
        let first = [0.0, 0.0], last = [Double(c.size - 1), Double((c.size - 1) * 10)]
        try expect(try c.world.allReduce(mine, op: .replace) == first, "allReduce .replace is rank 0's value")
        try expect(try c.world.allReduce(mine, op: .noOp) == last, "allReduce .noOp is the last rank's value")
        let reduced = try c.world.reduce(mine, op: .replace, root: c.size - 1)
        if c.rank == c.size - 1 { try expect(reduced == first, "reduce .replace at the root gave \(String(describing: reduced))") }
        try expect(try c.world.scan(mine, op: .replace) == first, "scan .replace is rank 0's value")
        try expect(try c.world.scan(mine, op: .noOp) == mine, "scan .noOp is this rank's value")
        var request = try c.world.immediateAllReduce(mine, op: .noOp)
        try expect(try request.wait() == last, "immediateAllReduce .noOp")
        let particles = try c.world.allReduce([Particle.made(by: c.rank, 0)], op: .replace)
        try expect(particles[0].sameData(Particle.made(by: 0, 0)), "allReduce .replace of a struct gave \(particles[0])")
        try expect(ReductionOp<Int8>.replace.description == "replace" && !ReductionOp<Int8>.noOp.isCommutative, "descriptions")
        return .passed
    },

    Scenario("collective-broadcast") { c in
        try forEveryScalar(BroadcastCheck(c))
        // The count need not be known beyond the root.
        for root in 0..<c.size {
            let values = c.rank == root ? (0..<(root + 3)).map { Int32($0 * 11 + root) } : []
            let received = try c.world.broadcast(values, root: root)
            try expect(received == (0..<(root + 3)).map { Int32($0 * 11 + root) }, "broadcast of an array of unknown count from \(root) gave \(received)")
            let value = try c.world.broadcast(c.rank == root ? 2.5 * Double(root) : -1, root: root)
            try expect(value == 2.5 * Double(root), "broadcast of one Double from \(root) gave \(value)")
        }
        return .passed
    },

    Scenario("collective-reduce") { c in
        try forEveryScalar(ReductionCheck(c, kind: .reduce))
        return .passed
    },

    Scenario("collective-allreduce") { c in
        try forEveryScalar(ReductionCheck(c, kind: .allReduce))
        let sum = try c.world.allReduce(c.rank + 1, op: .sum)
        try expect(sum == c.size * (c.size + 1) / 2, "allReduce of one Int gave \(sum)")
        return .passed
    },

    Scenario("collective-scan") { c in
        try forEveryScalar(ReductionCheck(c, kind: .scan))
        try forEveryScalar(ReductionCheck(c, kind: .exclusiveScan))
        let prefix = try c.world.exclusiveScan(c.rank + 1, op: .sum)
        try expect(prefix == (c.rank == 0 ? nil : c.rank * (c.rank + 1) / 2), "exclusiveScan of one Int gave \(String(describing: prefix))")
        return .passed
    },

    Scenario("collective-reduce-scatter") { c in
        try forEveryScalar(ReductionCheck(c, kind: .reduceScatterBlock))
        try forEveryScalar(ReductionCheck(c, kind: .reduceScatter))
        return .passed
    },

    Scenario("collective-gather-scatter") { c in
        try forEveryScalar(MovementCheck(c))
        return .passed
    },

    Scenario("collective-variable-counts") { c in
        try variableCountChecks(c, Int32.self)
        try variableCountChecks(c, Double.self)
        try variableCountChecks(c, UInt8.self)
        // Forms that exchange the counts themselves.
        let mine = (0..<c.rank).map { Int16($0 - c.rank) }
        let everyone = try c.world.allGatherv(mine)
        try expect(everyone == (0..<c.size).map { q in (0..<q).map { Int16($0 - q) } }, "allGatherv of arrays of unknown counts gave \(everyone)")
        for root in 0..<c.size {
            let gathered = try c.world.gatherv(mine, root: root)
            try expect(gathered == (c.rank == root ? everyone : nil), "gatherv of arrays of unknown counts at root \(root) gave \(String(describing: gathered))")
        }
        let blocks = (0..<c.size).map { q in [UInt64](repeating: UInt64(c.rank * 100 + q), count: (c.rank + q) % 3) }
        let exchanged = try c.world.allToAllv(blocks)
        try expect(exchanged == (0..<c.size).map { q in [UInt64](repeating: UInt64(q * 100 + c.rank), count: (q + c.rank) % 3) },
            "allToAllv of blocks of unknown sizes gave \(exchanged)")
        return .passed
    },

    Scenario("collective-user-operations") { c in
        try userOperationChecks(c)
        return .passed
    },

    Scenario("collective-identical-bits") { c in
        // Inexact sums: every rank must still get the same bits (both backends combine in one
        // fixed order, or compute once and distribute).
        for count in [1, 7, 1000, 100_000] {
            let values = (0..<count).map { i in inexact(c.rank, i) }
            let sums = try c.world.allReduce(values, op: .sum)
            try expectSameEverywhere(c, sums, "allReduce(.sum) of \(count) Doubles")
            let floats = values.map { Float($0) }
            try expectSameEverywhere(c, try c.world.allReduce(floats, op: .sum), "allReduce(.sum) of \(count) Floats")
            try expectSameEverywhere(c, try c.world.allReduce(floats, op: .product), "allReduce(.product) of \(count) Floats")
            var inPlace = values
            try c.world.allReduce(.inPlace(), into: &inPlace, op: .sum)
            try expectSameEverywhere(c, inPlace, "in-place allReduce(.sum) of \(count) Doubles")
            #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
            let halves = values.map { Float16($0) }
            try expectSameEverywhere(c, try c.world.allReduce(halves, op: .sum), "allReduce(.sum) of \(count) Float16s")
            #endif
            var request = try c.world.immediateAllReduce(values, op: .sum)
            _ = try request.test()
            _ = request.isComplete
            let immediate = try request.wait()
            try expectSameEverywhere(c, immediate, "immediateAllReduce(.sum) of \(count) Doubles")
            // MPI lets different forms add in different orders (Open MPI's do); swift-mpi's
            // shared-memory backend folds in rank order in every form.
            if Environment.backend == .sharedMemory {
                try expect(sameBits(inPlace, sums) && sameBits(immediate, sums), "shared memory: all-reduce forms of \(count) Doubles differ in bits")
            }
        }
        return .passed
    },

    Scenario("collective-nonblocking") { c in
        try nonblockingChecks(c)
        return .passed
    },

    // API v2: every buffer kind in one entry point, `.inPlace()` where MPI allows it and a
    // clear error where it does not, immediate collectives on slices of a MessageBuffer.
    Scenario("collective-buffer-kinds") { c in
        let n = c.size
        let mine = [Double(c.rank), Double(c.rank) + 0.5]
        let expected = [Double(n * (n - 1) / 2), Double(n * (n - 1) / 2) + 0.5 * Double(n)]
        // The same all-reduce through an array, a slice, a ContiguousArray, buffer pointers, a
        // MessageBuffer and a single value.
        var intoArray = [Double](repeating: 0, count: 2)
        try c.world.allReduce(mine, into: &intoArray, op: .sum)
        var intoSlice = [Double](repeating: -1, count: 4)[1..<3]
        try c.world.allReduce(mine[...], into: &intoSlice, op: .sum)
        var intoContiguous = ContiguousArray<Double>(repeating: 0, count: 2)
        try c.world.allReduce(ContiguousArray(mine), into: &intoContiguous, op: .sum)
        let buffer = MessageBuffer<Double>(mine)
        var message = buffer
        try c.world.allReduce(.inPlace(), into: &message, op: .sum)
        var pointerResult = [Double](repeating: 0, count: 2)
        try mine.withUnsafeBufferPointer { send in
            try pointerResult.withUnsafeMutableBufferPointer { receive in
                var receive = receive
                try c.world.allReduce(send, into: &receive, op: .sum)
            }
        }
        var one = 0.0
        try c.world.allReduce(Double(c.rank), into: &one, op: .sum)
        try expect(intoArray == expected && Array(intoSlice) == expected && Array(intoContiguous) == expected
            && buffer.array == expected && pointerResult == expected && one == expected[0],
            "allReduce through every buffer kind: \(intoArray) \(Array(intoSlice)) \(Array(intoContiguous)) \(buffer.array) \(pointerResult) \(one)")

        // In place is for the root only in rooted operations.
        if n > 1 {
            let root = n - 1
            if c.rank != root {
                var unused: [Double] = []
                try expectError(.buffer, "reduce in place off the root") {
                    try c.world.reduce(.inPlace(), into: &unused, op: .sum, root: root)
                }
                try expectError(.buffer, "gather in place off the root") {
                    try c.world.gather(.inPlace(), into: &unused, root: root)
                }
            }
        }

        // Immediate collectives on slices of one MessageBuffer: the whole buffer is lent while
        // either is pending.
        let shared = MessageBuffer<Int>(repeating: c.rank, count: 2 * n + 2)
        var gathered = try c.world.immediateAllGather([c.rank], into: shared[0..<n])
        try expect(shared.isLent, "a MessageBuffer with a pending collective on a slice is not lent")
        try gathered.wait()
        var sum = try c.world.immediateAllReduce(.inPlace(), into: shared[(2 * n)..<(2 * n + 2)], op: .sum)
        try sum.wait()
        try expect(Array(shared.array[0..<n]) == Array(0..<n), "allGather into a slice: \(shared.array)")
        try expect(Array(shared.array[(2 * n)...]) == [n * (n - 1) / 2, n * (n - 1) / 2], "in-place allReduce on a slice: \(shared.array)")
        try expect(Array(shared.array[n..<(2 * n)]) == [Int](repeating: c.rank, count: n), "elements outside the slices changed: \(shared.array)")

        // Generic code over numeric element types names `.sum` through ArithmeticMessageElement.
        func total<T: ArithmeticMessageElement>(_ value: T) throws -> T { try c.world.allReduce(value, op: .sum) }
        try expect(try total(Int16(1)) == Int16(n) && (try total(Float(2))) == Float(2 * n), "generic .sum")

        // scatterv's counts are read at the root only.
        let counts = (0..<n).map { $0 + 1 }
        let part = try c.world.scatterv(c.rank == 0 ? (0..<counts.reduce(0, +)).map { $0 } : [], counts: c.rank == 0 ? counts : [], root: 0)
        let start = counts.prefix(c.rank).reduce(0, +)
        try expect(part == Array(start..<(start + c.rank + 1)), "scatterv with counts at the root only: \(part)")
        return .passed
    },

    Scenario("collective-communicators") { c in
        // Collectives on a duplicate, on the parity halves (any size, any member order) and on solo.
        let dup = try c.world.duplicate()
        try expect(try dup.allReduce(c.rank, op: .max) == c.size - 1, "allReduce(.max) on a duplicate")
        guard let half = try c.world.split(color: c.rank % 2, key: -c.rank) else { throw ScenarioFailure("split returned nil") }
        let members = (0..<c.size).filter { $0 % 2 == c.rank % 2 }.sorted(by: >)
        try expect(try half.allGather(Int32(c.rank)) == members.map { Int32($0) }, "allGather on a parity half")
        for root in 0..<half.size {
            let data = try half.broadcast(members[root] * 3, root: root)
            try expect(data == members[root] * 3, "broadcast on a parity half from its rank \(root)")
            let total = try half.reduce(Int64(c.rank), op: .sum, root: root)
            try expect(total == (half.rank == root ? Int64(members.reduce(0, +)) : nil), "reduce on a parity half to its rank \(root)")
        }
        var pending = try half.immediateAllReduce([Double(c.rank)], op: .sum)
        try dup.barrier()
        try expect(try pending.wait() == [Double(members.reduce(0, +))], "immediateAllReduce on a parity half")
        let solo = try Communicator.solo
        try expect(try solo.allReduce([1, 2, 3], op: .sum) == [1, 2, 3], "allReduce on solo")
        try expect(try solo.allToAll([7]) == [7], "allToAll on solo")
        try expect(try solo.exclusiveScan(5, op: .sum) == nil, "exclusiveScan on solo")
        return .passed
    },

    Scenario("collective-large") { c in
        // 1M elements for the operations whose large-message paths differ most; 100K for more.
        let count = 1 << 20
        let values = (0..<count).map { Float(($0 + c.rank) % 64) }
        let sums = try c.world.allReduce(values, op: .sum)
        let expectedSums = (0..<64).map { i in Float((0..<c.size).reduce(0) { $0 + (i + $1) % 64 }) }
        try expectAll(count, "allReduce(.sum) of 1M Floats") { sums[$0] == expectedSums[$0 % 64] }
        try expectSameEverywhere(c, sums, "allReduce(.sum) of 1M Floats")

        let root = c.size - 1
        var data = c.rank == root ? (0..<count).map { Double($0) * 0.5 } : [Double](repeating: -1, count: count)
        try c.world.broadcast(&data, root: root)
        try expectAll(count, "broadcast of 1M Doubles from rank \(root)") { data[$0] == Double($0) * 0.5 }

        let maxima = MessageBuffer((0..<count).map { Int32(truncatingIfNeeded: $0 &* (c.rank + 1)) })
        var request = try c.world.immediateAllReduce(.inPlace(), into: maxima, op: .max)
        try request.wait()
        try maxima.withUnsafeBufferPointer { maxima in
            try expectAll(count, "immediateAllReduce(.max) in place of 1M Int32s") { maxima[$0] == Int32(truncatingIfNeeded: $0 &* c.size) }
        }

        let medium = 100_000
        let total = try c.world.reduce((0..<medium).map { Int64($0 % 1000 + c.rank) }, op: .sum, root: 0)
        if let total {
            let extra = Int64(c.size * (c.size - 1) / 2)
            try expectAll(medium, "reduce(.sum) of 100K Int64s") { total[$0] == Int64($0 % 1000) * Int64(c.size) + extra }
        }
        let block = medium / c.size
        let gathered = try c.world.allGather((0..<block).map { UInt32($0 + c.rank * block) })
        try expectAll(block * c.size, "allGather of 100K UInt32s") { gathered[$0] == UInt32($0) }
        let mine = try c.world.reduceScatterBlock((0..<(block * c.size)).map { Int32($0 % 1000) }, op: .sum)
        try expectAll(block, "reduceScatterBlock of 100K Int32s") { mine[$0] == Int32((c.rank * block + $0) % 1000) * Int32(c.size) }
        return .passed
    },

    Scenario("collective-mismatch") { c in
        // Open MPI compares nothing across ranks; the backend does in its checked mode.
        let checked = getenv("SWIFTMPI_CHECK").map { String(cString: $0).split(separator: ",").contains("collectives") } ?? false
        guard Environment.backend == .sharedMemory || checked else {
            return .skipped("Open MPI compares collective arguments only with SWIFTMPI_CHECK=collectives")
        }
        guard c.size > 1 else { return .skipped("needs two ranks to disagree") }
        try mismatchChecks(c)
        return .passed
    },
]

// MARK: Values and references

/// A scalar the scenarios run collectives on, with the reductions that apply to it.
protocol ScenarioScalar: MessageElement, Equatable {
    /// A value that depends on `seed`.
    static func make(_ seed: Int) -> Self
    static var reductions: [ScenarioReduction<Self>] { get }
}

/// A reduction and how to compute it serially: `combine(a, b)` is `a ∘ b`; `make` chooses values
/// for which the result does not depend on the order of combination.
struct ScenarioReduction<T: MessageElement> {
    let name: String
    let op: ReductionOp<T>
    let combine: (T, T) -> T
    let make: (Int) -> T
}

/// The value rank `rank` contributes at element `index` in test number `salt`.
func seed(_ rank: Int, _ index: Int, _ salt: Int) -> Int { rank &* 7919 &+ index &* 31 &+ salt &* 104_729 }

extension ScenarioScalar where Self: FixedWidthInteger & ArithmeticMessageElement {
    static func make(_ seed: Int) -> Self { Self(truncatingIfNeeded: seed &* 2_654_435_761 >> 7) }

    // Integer arithmetic wraps, which is exact in any order.
    static var reductions: [ScenarioReduction<Self>] {
        [
            ScenarioReduction(name: "sum", op: .sum, combine: { $0 &+ $1 }, make: make),
            ScenarioReduction(name: "product", op: .product, combine: { $0 &* $1 }, make: make),
            ScenarioReduction(name: "min", op: .min, combine: { Swift.min($0, $1) }, make: make),
            ScenarioReduction(name: "max", op: .max, combine: { Swift.max($0, $1) }, make: make),
            ScenarioReduction(name: "logicalAnd", op: .logicalAnd, combine: { $0 != 0 && $1 != 0 ? 1 : 0 }, make: sparse),
            ScenarioReduction(name: "logicalOr", op: .logicalOr, combine: { $0 != 0 || $1 != 0 ? 1 : 0 }, make: sparse),
            ScenarioReduction(name: "logicalXor", op: .logicalXor, combine: { ($0 != 0) != ($1 != 0) ? 1 : 0 }, make: sparse),
            ScenarioReduction(name: "bitwiseAnd", op: .bitwiseAnd, combine: { $0 & $1 }, make: { ~make($0) | make($0 &+ 1) }),
            ScenarioReduction(name: "bitwiseOr", op: .bitwiseOr, combine: { $0 | $1 }, make: make),
            ScenarioReduction(name: "bitwiseXor", op: .bitwiseXor, combine: { $0 ^ $1 }, make: make),
        ]
    }

    /// Mostly non-zero, sometimes zero, so the logical operations have both outcomes.
    static func sparse(_ seed: Int) -> Self { (seed / 3) % 4 == 0 ? 0 : make(seed) | 1 }
}

extension ScenarioScalar where Self: BinaryFloatingPoint & ArithmeticMessageElement {
    // Small integers (sums) and ±1, ±2 (products): exact in any order, even in Float16.
    static func make(_ seed: Int) -> Self { Self(seed % 41 - 20) }

    static var reductions: [ScenarioReduction<Self>] {
        [
            ScenarioReduction(name: "sum", op: .sum, combine: { $0 + $1 }, make: make),
            ScenarioReduction(name: "product", op: .product, combine: { $0 * $1 },
                make: { [Self(1), Self(-1), Self(2), Self(1)][(($0 % 4) + 4) % 4] }),
            ScenarioReduction(name: "min", op: .min, combine: { Swift.min($0, $1) }, make: { Self($0 % 1000) * 0.25 }),
            ScenarioReduction(name: "max", op: .max, combine: { Swift.max($0, $1) }, make: { Self($0 % 1000) * 0.25 }),
        ]
    }
}

extension Int8: ScenarioScalar {}
extension Int16: ScenarioScalar {}
extension Int32: ScenarioScalar {}
extension Int64: ScenarioScalar {}
extension UInt8: ScenarioScalar {}
extension UInt16: ScenarioScalar {}
extension UInt32: ScenarioScalar {}
extension UInt64: ScenarioScalar {}
extension Int: ScenarioScalar {}
extension UInt: ScenarioScalar {}
extension Float: ScenarioScalar {}
extension Double: ScenarioScalar {}
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: ScenarioScalar {}
#endif
extension Bool: ScenarioScalar {
    static func make(_ seed: Int) -> Bool { (seed / 7) % 3 != 0 }
    static var reductions: [ScenarioReduction<Bool>] {
        [
            ScenarioReduction(name: "logicalAnd", op: .logicalAnd, combine: { $0 && $1 }, make: make),
            ScenarioReduction(name: "logicalOr", op: .logicalOr, combine: { $0 || $1 }, make: { (($0 / 5) % 4) == 0 }),
            ScenarioReduction(name: "logicalXor", op: .logicalXor, combine: { $0 != $1 }, make: make),
        ]
    }
}

/// A value in ±[0, 10⁴) with a full mantissa, so sums of them round.
func inexact(_ rank: Int, _ index: Int) -> Double {
    let bits = UInt64(truncatingIfNeeded: seed(rank, index, 1)) &* 0x9E37_79B9_7F4A_7C15
    let unit = Double(bits >> 11) / Double(1 << 53)
    let scales: [Double] = [1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100, 1000, 1e4]
    return (bits & 1 == 0 ? unit : -unit) * scales[(rank + index) % scales.count]
}

/// A check that runs for one scalar type.
protocol ScalarCheck {
    func run<T: ScenarioScalar>(_ type: T.Type, typeIndex: Int) throws
}

/// Runs `check` for every scalar type.
func forEveryScalar(_ check: some ScalarCheck) throws {
    try check.run(Int8.self, typeIndex: 0)
    try check.run(Int16.self, typeIndex: 1)
    try check.run(Int32.self, typeIndex: 2)
    try check.run(Int64.self, typeIndex: 3)
    try check.run(UInt8.self, typeIndex: 4)
    try check.run(UInt16.self, typeIndex: 5)
    try check.run(UInt32.self, typeIndex: 6)
    try check.run(UInt64.self, typeIndex: 7)
    try check.run(Int.self, typeIndex: 8)
    try check.run(UInt.self, typeIndex: 9)
    try check.run(Float.self, typeIndex: 10)
    try check.run(Double.self, typeIndex: 11)
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    try check.run(Float16.self, typeIndex: 12)
    #endif
    try check.run(Bool.self, typeIndex: 13)
}

let scenarioCounts = [0, 1, 7, 1000]

/// Fails unless `good(i)` holds for every `i` below `count`, naming the first that does not.
func expectAll(_ count: Int, _ what: String, _ good: (Int) -> Bool) throws {
    var index = 0
    while index < count {
        if !good(index) { throw ScenarioFailure("\(what) is wrong at element \(index)") }
        index += 1
    }
}

/// Fails unless every rank holds the same bytes in `values`.
func expectSameEverywhere<T: BitwiseCopyable>(_ c: Context, _ values: [T], _ what: String) throws {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    values.withUnsafeBytes { bytes in
        var offset = 0
        while offset + 8 <= bytes.count {
            hash = (hash ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0x100_0000_01B3
            offset += 8
        }
        while offset < bytes.count {
            hash = (hash ^ UInt64(bytes[offset])) &* 0x100_0000_01B3
            offset += 1
        }
    }
    let low = try c.world.allReduce(hash, op: .min)
    let high = try c.world.allReduce(hash, op: .max)
    try expect(low == high, "\(what): ranks got different bits")
}

// MARK: Broadcast

struct BroadcastCheck: ScalarCheck {
    let c: Context
    init(_ c: Context) { self.c = c }

    func run<T: ScenarioScalar>(_ type: T.Type, typeIndex: Int) throws {
        for count in scenarioCounts {
            // Every root for a few types; one root (rotating) for the rest.
            let roots = typeIndex % 5 == 0 ? Array(0..<c.size) : [(typeIndex + count) % c.size]
            for root in roots {
                let expected = (0..<count).map { T.make(seed(root, $0, typeIndex)) }
                var buffer = c.rank == root ? expected : [T](repeating: T.make(-1), count: count)
                try c.world.broadcast(&buffer, root: root)
                try expect(buffer == expected, "broadcast of \(count) \(T.self) from \(root) gave \(buffer.prefix(8))")
                if count == 7 {
                    let request = try c.world.immediateBroadcast(c.rank == root ? expected : [T](repeating: T.make(-1), count: count), root: root)
                    try expect(try request.wait() == expected, "immediateBroadcast of \(count) \(T.self) from \(root)")
                    let messageBuffer = MessageBuffer(c.rank == root ? expected : [T](repeating: T.make(-1), count: count))
                    var lent = try c.world.immediateBroadcast(messageBuffer, root: root)
                    try lent.wait()
                    try expect(messageBuffer.array == expected, "immediateBroadcast into a MessageBuffer of \(T.self) from \(root)")
                }
            }
        }
    }
}

// MARK: Reductions

struct ReductionCheck: ScalarCheck {
    enum Kind { case reduce, allReduce, scan, exclusiveScan, reduceScatterBlock, reduceScatter }
    let c: Context
    let kind: Kind
    init(_ c: Context, kind: Kind) {
        self.c = c
        self.kind = kind
    }

    func run<T: ScenarioScalar>(_ type: T.Type, typeIndex: Int) throws {
        for (opIndex, reduction) in T.reductions.enumerated() {
            // Every operation on every type at the small counts; at 1000, every type with the sum
            // (or its first operation) and every operation on some type.
            let vectorKinds: Set<Kind> = [.reduceScatterBlock, .reduceScatter]
            for count in scenarioCounts
            where count < 1000 || opIndex == 0 || (!vectorKinds.contains(kind) && (opIndex + typeIndex) % 4 == 0) {
                for inPlace in [false, true] {
                    let salt = typeIndex * 100 + opIndex * 10 + count % 7
                    try check(reduction, count: count, inPlace: inPlace, salt: salt, rotate: typeIndex + opIndex + count)
                }
            }
        }
    }

    /// Values of rank `q` for elements `elements`.
    func contribution<T>(_ reduction: ScenarioReduction<T>, rank q: Int, count: Int, salt: Int) -> [T] {
        contribution(reduction, rank: q, elements: 0..<count, salt: salt)
    }

    func contribution<T>(_ reduction: ScenarioReduction<T>, rank q: Int, elements: Range<Int>, salt: Int) -> [T] {
        elements.map { reduction.make(seed(q, $0, salt)) }
    }

    /// `x_first ∘ … ∘ x_last` at elements `elements`, computed serially.
    func reference<T>(_ reduction: ScenarioReduction<T>, ranks: ClosedRange<Int>, elements: Range<Int>, salt: Int) -> [T] {
        var result = contribution(reduction, rank: ranks.lowerBound, elements: elements, salt: salt)
        for q in ranks.dropFirst() {
            let next = contribution(reduction, rank: q, elements: elements, salt: salt)
            for i in result.indices { result[i] = reduction.combine(result[i], next[i]) }
        }
        return result
    }

    func reference<T>(_ reduction: ScenarioReduction<T>, ranks: ClosedRange<Int>, count: Int, salt: Int) -> [T] {
        reference(reduction, ranks: ranks, elements: 0..<count, salt: salt)
    }

    func check<T: ScenarioScalar>(_ reduction: ScenarioReduction<T>, count: Int, inPlace: Bool, salt: Int, rotate: Int) throws {
        let what = "\(kind) \(reduction.name) of \(count) \(T.self)\(inPlace ? " in place" : "")"
        let n = c.size
        switch kind {
        case .reduce:
            let roots = count == 7 && !inPlace ? Array(0..<n) : [rotate % n]
            for root in roots {
                let mine = contribution(reduction, rank: c.rank, count: count, salt: salt)
                let expected = reference(reduction, ranks: 0...(n - 1), count: count, salt: salt)
                if inPlace {
                    var buffer = mine
                    if c.rank == root {
                        try c.world.reduce(.inPlace(), into: &buffer, op: reduction.op, root: root)
                    } else {
                        var unused: [T] = []
                        try c.world.reduce(buffer, into: &unused, op: reduction.op, root: root)
                    }
                    try expect(buffer == (c.rank == root ? expected : mine), "\(what) to \(root) left \(buffer.prefix(8))")
                } else {
                    let result = try c.world.reduce(mine, op: reduction.op, root: root)
                    try expect(result == (c.rank == root ? expected : nil), "\(what) to \(root) gave \(String(describing: result?.prefix(8)))")
                }
            }
        case .allReduce:
            let mine = contribution(reduction, rank: c.rank, count: count, salt: salt)
            let expected = reference(reduction, ranks: 0...(n - 1), count: count, salt: salt)
            if inPlace {
                var buffer = mine
                try c.world.allReduce(.inPlace(), into: &buffer, op: reduction.op)
                try expect(buffer == expected, "\(what) gave \(buffer.prefix(8)), expected \(expected.prefix(8))")
            } else {
                let result = try c.world.allReduce(mine, op: reduction.op)
                try expect(result == expected, "\(what) gave \(result.prefix(8)), expected \(expected.prefix(8))")
                if count == 7 {
                    let buffer = MessageBuffer(repeating: T.make(0), count: count)
                    var request = try c.world.immediateAllReduce(MessageBuffer(mine), into: buffer, op: reduction.op)
                    try request.wait()
                    try expect(buffer.array == expected, "immediate \(what) into a MessageBuffer")
                }
            }
        case .scan, .exclusiveScan:
            let exclusive = kind == .exclusiveScan
            let mine = contribution(reduction, rank: c.rank, count: count, salt: salt)
            let last = exclusive ? c.rank - 1 : c.rank
            let expected = last >= 0 ? reference(reduction, ranks: 0...last, count: count, salt: salt) : mine
            if inPlace {
                var buffer = mine
                if exclusive { try c.world.exclusiveScan(.inPlace(), into: &buffer, op: reduction.op) } else { try c.world.scan(.inPlace(), into: &buffer, op: reduction.op) }
                try expect(buffer == expected, "\(what) on rank \(c.rank) gave \(buffer.prefix(8)), expected \(expected.prefix(8))")
            } else if exclusive {
                let result = try c.world.exclusiveScan(mine, op: reduction.op)
                try expect(result == (c.rank == 0 ? nil : expected), "\(what) on rank \(c.rank) gave \(String(describing: result?.prefix(8)))")
            } else {
                let result = try c.world.scan(mine, op: reduction.op)
                try expect(result == expected, "\(what) on rank \(c.rank) gave \(result.prefix(8)), expected \(expected.prefix(8))")
            }
        case .reduceScatterBlock:
            let mine = contribution(reduction, rank: c.rank, count: count * n, salt: salt)
            let expected = reference(reduction, ranks: 0...(n - 1), elements: (c.rank * count)..<((c.rank + 1) * count), salt: salt)
            if inPlace {
                var buffer = mine
                try c.world.reduceScatterBlock(.inPlace(), into: &buffer, op: reduction.op)
                try expect(Array(buffer.prefix(count)) == expected, "\(what) on rank \(c.rank) gave \(buffer.prefix(8))")
            } else {
                let result = try c.world.reduceScatterBlock(mine, op: reduction.op)
                try expect(result == expected, "\(what) on rank \(c.rank) gave \(result.prefix(8)), expected \(expected.prefix(8))")
            }
        case .reduceScatter:
            // Rank q gets count + q elements, or none when q is odd and the count is 0.
            let counts = (0..<n).map { q in count == 0 && q % 2 == 1 ? 0 : (count + q) % 1001 }
            let total = counts.reduce(0, +)
            let start = counts.prefix(c.rank).reduce(0, +)
            let mine = contribution(reduction, rank: c.rank, count: total, salt: salt)
            let expected = reference(reduction, ranks: 0...(n - 1), elements: start..<(start + counts[c.rank]), salt: salt)
            if inPlace {
                var buffer = mine
                try c.world.reduceScatter(.inPlace(), into: &buffer, counts: counts, op: reduction.op)
                try expect(Array(buffer.prefix(counts[c.rank])) == expected, "\(what) on rank \(c.rank) gave \(buffer.prefix(8))")
            } else {
                let result = try c.world.reduceScatter(mine, counts: counts, op: reduction.op)
                try expect(result == expected, "\(what) on rank \(c.rank) gave \(result.prefix(8)), expected \(expected.prefix(8))")
            }
        }
    }
}

// MARK: Gathers, scatters, all-to-all

struct MovementCheck: ScalarCheck {
    let c: Context
    init(_ c: Context) { self.c = c }

    func run<T: ScenarioScalar>(_ type: T.Type, typeIndex: Int) throws {
        let n = c.size
        for count in scenarioCounts {
            let salt = typeIndex * 10 + count % 7
            func block(_ q: Int) -> [T] { (0..<count).map { T.make(seed(q, $0, salt)) } }
            let everything = (0..<n).flatMap { block($0) }
            let roots = typeIndex % 5 == 0 || count == 1 ? Array(0..<n) : [(typeIndex + count) % n]
            let what = "\(count) \(T.self)"

            // Gather and all-gather.
            for root in roots {
                let gathered = try c.world.gather(block(c.rank), root: root)
                try expect(gathered == (c.rank == root ? everything : nil), "gather of \(what) to \(root) gave \(String(describing: gathered?.prefix(8)))")
                var buffer = c.rank == root ? (0..<n).flatMap { $0 == root ? block(root) : [T](repeating: T.make(-1), count: count) } : block(c.rank)
                if c.rank == root {
                    try c.world.gather(.inPlace(), into: &buffer, root: root)
                } else {
                    var unused: [T] = []
                    try c.world.gather(buffer, into: &unused, root: root)
                }
                try expect(buffer == (c.rank == root ? everything : block(c.rank)), "in-place gather of \(what) to \(root)")
            }
            try expect(try c.world.allGather(block(c.rank)) == everything, "allGather of \(what)")
            var all = (0..<n).flatMap { $0 == c.rank ? block(c.rank) : [T](repeating: T.make(-1), count: count) }
            try c.world.allGather(.inPlace(), into: &all)
            try expect(all == everything, "in-place allGather of \(what)")

            // Scatter.
            for root in roots {
                let part = try c.world.scatter(c.rank == root ? everything : [], count: count, root: root)
                try expect(part == block(c.rank), "scatter of \(what) from \(root) gave \(part.prefix(8))")
                var buffer = c.rank == root ? everything : [T](repeating: T.make(-1), count: count)
                try c.world.scatter(.inPlace(), into: &buffer, root: root)
                try expect(buffer == (c.rank == root ? everything : block(c.rank)), "in-place scatter of \(what) from \(root)")
            }

            // All-to-all: rank q's block for rank p is made from (q, p).
            func piece(_ from: Int, _ to: Int) -> [T] { (0..<count).map { T.make(seed(from, $0 + to * 1000, salt)) } }
            let outgoing = (0..<n).flatMap { piece(c.rank, $0) }
            let incoming = (0..<n).flatMap { piece($0, c.rank) }
            try expect(try c.world.allToAll(outgoing) == incoming, "allToAll of \(what) per pair")
            var exchanged = outgoing
            try c.world.allToAll(.inPlace(), into: &exchanged)
            try expect(exchanged == incoming, "in-place allToAll of \(what) per pair")
        }
    }
}

func variableCountChecks<T: ScenarioScalar>(_ c: Context, _ type: T.Type) throws {
    let n = c.size
    for base in scenarioCounts {
        // Rank q contributes counts[q] elements; some ranks none.
        let counts = (0..<n).map { q in (base + q * 3) % 11 == 5 ? 0 : base + q * 3 }
        func block(_ q: Int) -> [T] { (0..<counts[q]).map { T.make(seed(q, $0, base)) } }
        let packed = (0..<n).flatMap { block($0) }
        // Spread out and reversed: block q at displacements[q], gaps between.
        var displacements = [Int](repeating: 0, count: n)
        var end = 0
        for q in (0..<n).reversed() {
            displacements[q] = end + 2
            end = displacements[q] + counts[q]
        }
        let filler = T.make(-7)
        func spread(_ fill: (Int) -> [T]) -> [T] {
            var result = [T](repeating: filler, count: end)
            for q in 0..<n { result.replaceSubrange(displacements[q]..<(displacements[q] + counts[q]), with: fill(q)) }
            return result
        }
        let what = "\(base)-based counts of \(T.self)"
        for root in 0..<n {
            let gathered = try c.world.gatherv(block(c.rank), counts: counts, root: root)
            try expect(gathered == (c.rank == root ? packed : nil), "gatherv of \(what) to \(root)")
            // Displacements, through buffer pointers.
            var spreadOut = [T](repeating: filler, count: end)
            let mine = block(c.rank)
            try c.world.gatherv(mine, into: &spreadOut, counts: counts, displacements: displacements, root: root)
            try expect(spreadOut == (c.rank == root ? spread(block) : [T](repeating: filler, count: end)), "gatherv with displacements of \(what) to \(root)")
            // In place at the root.
            var inPlace = c.rank == root ? spread { $0 == root ? block(root) : [T](repeating: filler, count: counts[$0]) } : block(c.rank)
            if c.rank == root {
                try c.world.gatherv(.inPlace(), into: &inPlace, counts: counts, displacements: displacements, root: root)
            } else {
                var unused: [T] = []
                try c.world.gatherv(inPlace, into: &unused, counts: counts, displacements: displacements, root: root)
            }
            try expect(inPlace == (c.rank == root ? spread(block) : block(c.rank)), "in-place gatherv of \(what) to \(root)")

            let part = try c.world.scatterv(c.rank == root ? packed : [], counts: counts, root: root)
            try expect(part == block(c.rank), "scatterv of \(what) from \(root)")
            var receive = [T](repeating: filler, count: counts[c.rank])
            let source = c.rank == root ? spread(block) : []
            try c.world.scatterv(source, counts: counts, displacements: displacements, into: &receive, root: root)
            try expect(receive == block(c.rank), "scatterv with displacements of \(what) from \(root)")
            var scatterInPlace = c.rank == root ? spread(block) : [T](repeating: filler, count: counts[c.rank])
            try c.world.scatterv(.inPlace(), counts: counts, displacements: displacements, into: &scatterInPlace, root: root)
            try expect(scatterInPlace == (c.rank == root ? spread(block) : block(c.rank)), "in-place scatterv of \(what) from \(root)")
        }
        try expect(try c.world.allGatherv(block(c.rank), counts: counts) == packed, "allGatherv of \(what)")
        var everywhere = spread { $0 == c.rank ? block(c.rank) : [T](repeating: filler, count: counts[$0]) }
        try c.world.allGatherv(.inPlace(), into: &everywhere, counts: counts, displacements: displacements)
        try expect(everywhere == spread(block), "in-place allGatherv with displacements of \(what)")

        // All-to-all-v: rank q sends (q + p + base) % 5 elements to rank p.
        func size(_ from: Int, _ to: Int) -> Int { base == 0 ? 0 : (from + to + base) % 5 }
        func piece(_ from: Int, _ to: Int) -> [T] { (0..<size(from, to)).map { T.make(seed(from, $0 + to * 100, base)) } }
        let sendCounts = (0..<n).map { size(c.rank, $0) }
        let receiveCounts = (0..<n).map { size($0, c.rank) }
        let received = try c.world.allToAllv((0..<n).flatMap { piece(c.rank, $0) }, sendCounts: sendCounts, receiveCounts: receiveCounts)
        try expect(received == (0..<n).flatMap { piece($0, c.rank) }, "allToAllv of \(what)")
        // In place, with symmetric sizes (the same counts both ways).
        let symmetric = (0..<n).map { (c.rank + $0 + base) % 4 }
        func symmetricPiece(_ from: Int, _ to: Int) -> [T] { (0..<((from + to + base) % 4)).map { T.make(seed(from, $0 + to * 100, base + 1)) } }
        var exchange = (0..<n).flatMap { symmetricPiece(c.rank, $0) }
        try c.world.allToAllv(.inPlace(), sendCounts: [], into: &exchange, receiveCounts: symmetric)
        try expect(exchange == (0..<n).flatMap { symmetricPiece($0, c.rank) }, "in-place allToAllv of \(what)")
    }
}

// MARK: User-defined operations

/// An affine map x ↦ a·x + b; composing them is associative but not commutative.
struct Affine: MessageElement, Equatable, CustomStringConvertible {
    var a: Int64
    var b: Int64
    static var datatype: Datatype { .contiguousBytes(of: Affine.self) }
    /// `self ∘ other`: apply `other`, then `self`.
    func after(_ other: Affine) -> Affine { Affine(a: a &* other.a, b: a &* other.b &+ b) }
    var description: String { "(\(a), \(b))" }
}

func userOperationChecks(_ c: Context) throws {
    let n = c.size
    let compose = ReductionOp<Affine>.custom { $0.after($1) }
    func affine(_ q: Int, _ i: Int) -> Affine { Affine(a: Int64(q % 3 + 1) * (i % 2 == 0 ? 1 : -1), b: Int64(q * 10 + i)) }
    for count in scenarioCounts {
        let mine = (0..<count).map { affine(c.rank, $0) }
        func prefix(_ last: Int) -> [Affine] {
            (0..<count).map { i in (1...max(last, 1)).reduce(affine(0, i)) { last >= $1 ? $0.after(affine($1, i)) : $0 } }
        }
        let expected = prefix(n - 1)
        try expect(try c.world.allReduce(mine, op: compose) == expected, "allReduce of \(count) affine maps (non-commutative)")
        for root in 0..<n {
            let result = try c.world.reduce(mine, op: compose, root: root)
            try expect(result == (c.rank == root ? expected : nil), "reduce of \(count) affine maps to \(root)")
        }
        try expect(try c.world.scan(mine, op: compose) == prefix(c.rank), "scan of \(count) affine maps on rank \(c.rank)")
        try expect(try c.world.exclusiveScan(mine, op: compose) == (c.rank == 0 ? nil : prefix(c.rank - 1)), "exclusiveScan of \(count) affine maps")
        let blocks = (0..<(count * n)).map { affine(c.rank, $0) }
        let whole = (0..<(count * n)).map { i in (1..<n).reduce(affine(0, i)) { $0.after(affine($1, i)) } }
        try expect(try c.world.reduceScatterBlock(blocks, op: compose) == Array(whole[(c.rank * count)..<((c.rank + 1) * count)]),
            "reduceScatterBlock of affine maps")
        let request = try c.world.immediateAllReduce(mine, op: compose)
        try expect(try request.wait() == expected, "immediateAllReduce of \(count) affine maps")

        // Commutative user operations, element and vector forms, on a scalar type.
        let values = (0..<count).map { Int64($0 * (c.rank + 1)) }
        let sum = (0..<count).map { Int64($0 * n * (n + 1) / 2) }
        let elementwise = ReductionOp<Int64>.custom(commutative: true) { $0 &+ $1 }
        let vector = ReductionOp<Int64>.custom(commutative: true, vector: { input, output in
            for i in output.indices { output[i] = Swift.max(input[i], output[i]) }
        })
        try expect(try c.world.allReduce(values, op: elementwise) == sum, "allReduce with a commutative Swift closure")
        try expect(try c.world.allReduce(values, op: vector) == (0..<count).map { Int64($0 * n) }, "allReduce with a vector Swift closure")

        // Value and index.
        let located = (0..<count).map { ValueIndex(Double(($0 + c.rank * 5) % 7), index: c.rank) }
        let lowest = (0..<count).map { i in
            (0..<n).map { ValueIndex(Double((i + $0 * 5) % 7), index: $0) }.min { ($0.value, $0.index) < ($1.value, $1.index) }!
        }
        let highest = (0..<count).map { i in
            (0..<n).map { ValueIndex(Double((i + $0 * 5) % 7), index: $0) }.min { ($0.value, -$0.index) > ($1.value, -$1.index) }!
        }
        let minLoc = try c.world.allReduce(located, op: .minLoc)
        try expect(minLoc == lowest, "allReduce(.minLoc) of \(count) (Double, index) pairs gave \(minLoc.prefix(4)), expected \(lowest.prefix(4))")
        let maxLoc = try c.world.allReduce(located, op: .maxLoc)
        try expect(maxLoc == highest, "allReduce(.maxLoc) of \(count) (Double, index) pairs gave \(maxLoc.prefix(4)), expected \(highest.prefix(4))")
        let small = try c.world.reduce(ValueIndex(Int32(c.rank % 2), index: c.rank), op: .maxLoc, root: n - 1)
        try expect(small == (c.rank == n - 1 ? ValueIndex(Int32(n > 1 ? 1 : 0), index: n > 1 ? 1 : 0) : nil), "reduce(.maxLoc) of one (Int32, index) pair")
    }
    // Structs move intact through the data-moving collectives too.
    let gathered = try c.world.allGather(Affine(a: Int64(c.rank), b: -Int64(c.rank)))
    try expect(gathered == (0..<n).map { Affine(a: Int64($0), b: -Int64($0)) }, "allGather of affine maps")
}

// MARK: Nonblocking

func nonblockingChecks(_ c: Context) throws {
    let n = c.size
    // Several collectives in flight on one communicator, completed in another order, with
    // point-to-point traffic in between.
    var barrier = try c.world.immediateBarrier()
    let broadcast = try c.world.immediateBroadcast(c.rank == 0 ? [1, 2, 3] : [0, 0, 0], root: 0)
    let reduceInput = MessageBuffer((0..<7).map { Int32($0 + c.rank) })
    let reduceOutput = MessageBuffer(repeating: Int32(0), count: 7)
    var reduce = try c.world.immediateReduce(reduceInput, into: reduceOutput, op: .sum, root: n - 1)
    let allReduce = try c.world.immediateAllReduce((0..<1000).map { Double($0 * c.rank) }, op: .sum)
    let gather = try c.world.immediateGather([UInt16(c.rank)], root: 0)
    try c.ringStep {
        try c.world.send(c.rank, to: c.next, tag: 5)
    } receive: {
        try expect(try c.world.receive(Int.self, from: c.previous, tag: 5) == c.previous, "point-to-point between nonblocking collectives")
    }
    do {
        // A buffer lent to a pending operation cannot be written, nor lent to a receive.
        try expectError(.buffer, "lending a MessageBuffer already lent to a reduce") {
            _ = try c.world.immediateAllReduce(.inPlace(), into: reduceInput, op: .sum)
        }
    }
    try expect(try allReduce.wait() == (0..<1000).map { Double($0 * n * (n - 1) / 2) }, "immediateAllReduce completed out of order")
    try expect(try gather.wait() == (c.rank == 0 ? (0..<n).map { UInt16($0) } : []), "immediateGather")
    try reduce.wait()
    if c.rank == n - 1 {
        try expect(reduceOutput.array == (0..<7).map { Int32($0 * n + n * (n - 1) / 2) }, "immediateReduce into a MessageBuffer")
    }
    try expect(try broadcast.wait() == [1, 2, 3], "immediateBroadcast")
    while try barrier.test() == nil {}

    // Every nonblocking form, one after another, in a request list.
    let counts = (0..<n).map { $0 + 1 }
    let values = (0..<(counts[c.rank])).map { Int64(c.rank * 10 + $0) }
    let scan = try c.world.immediateScan([Int64(c.rank + 1)], op: .sum)
    let exclusive = try c.world.immediateExclusiveScan([Int64(c.rank + 1)], op: .sum)
    let allGather = try c.world.immediateAllGather([Int8(truncatingIfNeeded: c.rank)])
    let allGatherv = try c.world.immediateAllGatherv(values, counts: counts)
    let gatherv = try c.world.immediateGatherv(values, counts: counts, root: 0)
    let scatter = try c.world.immediateScatter((0..<(2 * n)).map { Float($0) }, count: 2, root: n - 1)
    let scatterv = try c.world.immediateScatterv((0..<counts.reduce(0, +)).map { UInt32($0) }, counts: counts, root: 0)
    let allToAll = try c.world.immediateAllToAll((0..<n).map { UInt8(truncatingIfNeeded: c.rank &* 16 &+ $0) })
    let allToAllv = try c.world.immediateAllToAllv((0..<n).flatMap { [Int16](repeating: Int16(c.rank), count: $0) },
        sendCounts: Array(0..<n), receiveCounts: [Int](repeating: c.rank, count: n))
    let reduceScatterBlock = try c.world.immediateReduceScatterBlock((0..<(2 * n)).map { Int32($0) }, op: .sum)
    let reduceScatter = try c.world.immediateReduceScatter((0..<counts.reduce(0, +)).map { Int32($0) }, counts: counts, op: .max)
    let starts = counts.indices.map { counts.prefix($0).reduce(0, +) }
    try expect(try reduceScatter.wait() == (starts[c.rank]..<(starts[c.rank] + counts[c.rank])).map { Int32($0) }, "immediateReduceScatter")
    try expect(try reduceScatterBlock.wait() == [Int32(2 * c.rank * n), Int32((2 * c.rank + 1) * n)], "immediateReduceScatterBlock")
    try expect(try allToAllv.wait() == (0..<n).flatMap { [Int16](repeating: Int16($0), count: c.rank) }, "immediateAllToAllv")
    try expect(try allToAll.wait() == (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 16 &+ c.rank) }, "immediateAllToAll")
    try expect(try scatterv.wait() == (starts[c.rank]..<(starts[c.rank] + counts[c.rank])).map { UInt32($0) }, "immediateScatterv")
    try expect(try scatter.wait() == [Float(2 * c.rank), Float(2 * c.rank + 1)], "immediateScatter")
    let everyone = (0..<n).flatMap { q in (0..<counts[q]).map { Int64(q * 10 + $0) } }
    try expect(try gatherv.wait() == (c.rank == 0 ? everyone : []), "immediateGatherv")
    try expect(try allGatherv.wait() == everyone, "immediateAllGatherv")
    try expect(try allGather.wait() == (0..<n).map { Int8(truncatingIfNeeded: $0) }, "immediateAllGather")
    try expect(try exclusive.wait() == (c.rank == 0 ? [] : [Int64(c.rank * (c.rank + 1) / 2)]), "immediateExclusiveScan")
    try expect(try scan.wait() == [Int64((c.rank + 1) * (c.rank + 2) / 2)], "immediateScan")

    // MessageBuffer forms.
    let source = MessageBuffer((0..<n).map { Int32($0 + 100 * c.rank) })
    let target = MessageBuffer(repeating: Int32(0), count: n * n)
    try c.world.withRequests { list in
        _ = list.add(try c.world.immediateAllGather(source, into: target))
    }
    try expect(target.array == (0..<n).flatMap { q in (0..<n).map { Int32($0 + 100 * q) } }, "immediateAllGather between MessageBuffers")
    let inPlace = MessageBuffer((0..<n).map { Int32($0 + 10 * c.rank) })
    var exchange = try c.world.immediateAllToAll(.inPlace(), into: inPlace)
    try expectError(.buffer, "sending from a MessageBuffer lent to an in-place all-to-all") {
        _ = try c.world.immediateSend(inPlace, to: c.next)
    }
    try exchange.wait()
    try expect(inPlace.array == (0..<n).map { Int32(c.rank + 10 * $0) }, "immediateAllToAll in place")
    // A request dropped before completion waits for it.
    do { _ = try c.world.immediateAllReduce(.inPlace(), into: inPlace, op: .sum) }
    try expect(!inPlace.isLent, "a dropped request still holds its MessageBuffer")
}

// MARK: Mismatched arguments (shared memory)

func mismatchChecks(_ c: Context) throws {
    let n = c.size
    let last = n - 1
    func everyoneThrows(_ expected: MPIError.ErrorClass, _ what: String, _ body: () throws -> Void) throws {
        let error = try expectError(expected, what, body)
        try expect(error.message.contains("differ"), "\(what): the message does not say what differs: \(error.message)")
        // The job goes on: the next collective works.
        try expect(try c.world.allReduce(1, op: .sum) == n, "allReduce after \(what)")
    }
    for count in [4, 100_000] {
        let values = [Int32](repeating: 1, count: c.rank == last ? count + 1 : count)
        try everyoneThrows(.count, "allReduce of \(count) elements where one rank passes \(count + 1)") {
            _ = try c.world.allReduce(values, op: .sum)
        }
        try everyoneThrows(.count, "broadcast of \(count) elements where one rank passes \(count + 1)") {
            var buffer = values
            try c.world.broadcast(&buffer, root: 0)
        }
        try everyoneThrows(.root, "broadcast where rank 0 names another root") {
            var buffer = [Int32](repeating: 1, count: count)
            try c.world.broadcast(&buffer, root: c.rank == 0 ? 1 : 0)
        }
        try everyoneThrows(.root, "reduce where the last rank names another root") {
            _ = try c.world.reduce([Int32](repeating: 1, count: count), op: .sum, root: c.rank == last ? 0 : last)
        }
        try everyoneThrows(.notSame, "allReduce where rank 0 uses another operation") {
            _ = try c.world.allReduce([Int32](repeating: 1, count: count), op: c.rank == 0 ? .max : .sum)
        }
        try everyoneThrows(.notSame, "broadcast on rank 0, allReduce elsewhere") {
            var buffer = [Int32](repeating: 1, count: count)
            if c.rank == 0 { try c.world.broadcast(&buffer, root: 0) } else { try c.world.allReduce(.inPlace(), into: &buffer, op: .sum) }
        }
        try everyoneThrows(.count, "allGather of \(count) elements where one rank passes \(count + 1)") {
            _ = try c.world.allGather(values)
        }
        try everyoneThrows(.notSame, "allReduce of Int32 where one rank passes Float") {
            if c.rank == last { _ = try c.world.allReduce([Float](repeating: 1, count: count), op: .sum) }
            else { _ = try c.world.allReduce([Int32](repeating: 1, count: count), op: .sum) }
        }
    }
    try everyoneThrows(.notSame, "barrier on rank 0, allReduce elsewhere") {
        if c.rank == 0 { try c.world.barrier() } else { _ = try c.world.allReduce(7, op: .sum) }
    }
    try everyoneThrows(.count, "gatherv where the root expects one element less from the last rank") {
        let counts = (0..<n).map { $0 == last ? 2 : 3 }
        _ = try c.world.gatherv([Int64](repeating: 5, count: 3), counts: counts, root: 0)
    }
    try everyoneThrows(.count, "allToAllv where rank 0 sends the last rank more than it expects") {
        let sendCounts = (0..<n).map { c.rank == 0 && $0 == last ? 3 : 2 }
        _ = try c.world.allToAllv([UInt8](repeating: 1, count: sendCounts.reduce(0, +)), sendCounts: sendCounts,
            receiveCounts: [Int](repeating: 2, count: n))
    }
    try everyoneThrows(.count, "allGatherv where one rank passes other counts") {
        let counts = (0..<n).map { c.rank == last && $0 == 0 ? 2 : 1 }
        _ = try c.world.allGatherv([Int8](repeating: 1, count: counts[c.rank]), counts: counts)
    }
    try everyoneThrows(.count, "immediateAllReduce with different counts") {
        let request = try c.world.immediateAllReduce([Double](repeating: 1, count: c.rank == 0 ? 3 : 2), op: .sum)
        _ = try request.wait()
    }
}
