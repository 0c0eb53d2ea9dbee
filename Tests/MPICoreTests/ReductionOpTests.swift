import MPICore
import Testing

@Suite("Reduction kernels")
struct ReductionOpTests {
    /// `input ∘ output` through the operation's kernel, as a backend applies it.
    private func apply<T: MessageElement>(_ op: ReductionOp<T>, _ input: [T], _ output: [T]) -> [T] {
        var result = output
        input.withUnsafeBytes { input in
            result.withUnsafeMutableBytes { output in
                op.reduction.kernel(input.baseAddress!, output.baseAddress!, input.count / MemoryLayout<T>.stride)
            }
        }
        return result
    }

    @Test func reduceLocalCombinesInputIntoOutput() throws {
        var output = [10, 20, 30]
        try ReductionOp<Int>.sum.reduceLocal([1, 2, 3], into: &output)
        #expect(output == [11, 22, 33])
        try ReductionOp<Int>.max.reduceLocal([40, 0, 31], into: &output)
        #expect(output == [40, 22, 33])
        // The input is the left operand: a non-commutative operation shows the order.
        var text = [Int32(1), 2]
        try ReductionOp<Int32>.custom { a, b in a * 10 + b }.reduceLocal([7, 8], into: &text)
        #expect(text == [71, 82])
        var empty: [Double] = []
        try ReductionOp<Double>.sum.reduceLocal([], into: &empty)
        #expect(throws: MPIError.self) { try ReductionOp<Int>.sum.reduceLocal([1], into: &output) }
    }

    @Test func integerArithmeticWraps() {
        #expect(apply(ReductionOp<Int8>.sum, [100, -128, 1], [100, -1, 2]) == [-56, 127, 3])
        #expect(apply(ReductionOp<UInt16>.sum, [60000], [60000]) == [54464])
        #expect(apply(ReductionOp<Int32>.product, [65536], [65536]) == [0])
        #expect(apply(ReductionOp<Int>.min, [3, -4], [2, 9]) == [2, -4])
        #expect(apply(ReductionOp<UInt64>.max, [3, .max], [2, 9]) == [3, .max])
    }

    @Test func logicalOperationsGiveZeroOrOne() {
        #expect(apply(ReductionOp<Int16>.logicalAnd, [5, 0, 7, 0], [3, 3, 0, 0]) == [1, 0, 0, 0])
        #expect(apply(ReductionOp<Int16>.logicalOr, [5, 0, 7, 0], [3, 3, 0, 0]) == [1, 1, 1, 0])
        #expect(apply(ReductionOp<Int16>.logicalXor, [5, 0, 7, 0], [3, 3, 0, 0]) == [0, 1, 1, 0])
        #expect(apply(ReductionOp<Bool>.logicalAnd, [true, true, false], [true, false, false]) == [true, false, false])
        #expect(apply(ReductionOp<Bool>.logicalOr, [true, true, false], [true, false, false]) == [true, true, false])
        #expect(apply(ReductionOp<Bool>.logicalXor, [true, true, false], [true, false, false]) == [false, true, false])
    }

    @Test func bitwiseOperations() {
        #expect(apply(ReductionOp<UInt8>.bitwiseAnd, [0b1100], [0b1010]) == [0b1000])
        #expect(apply(ReductionOp<UInt8>.bitwiseOr, [0b1100], [0b1010]) == [0b1110])
        #expect(apply(ReductionOp<UInt8>.bitwiseXor, [0b1100], [0b1010]) == [0b0110])
    }

    @Test func floatingPoint() {
        #expect(apply(ReductionOp<Double>.sum, [0.5, -1], [0.25, 4]) == [0.75, 3])
        #expect(apply(ReductionOp<Float>.product, [3], [0.5]) == [1.5])
        #expect(apply(ReductionOp<Double>.min, [1, -0.5], [2, 3]) == [1, -0.5])
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        #expect(apply(ReductionOp<Float16>.sum, [1.5, 2048], [0.25, 1]) == [1.75, 2048])
        #endif
    }

    @Test func locationsPreferTheSmallestIndexAmongEqualValues() {
        let left = [ValueIndex(1.0, index: 4), ValueIndex(2.0, index: 4), ValueIndex(3.0, index: 0)]
        let right = [ValueIndex(1.0, index: 2), ValueIndex(1.0, index: 9), ValueIndex(5.0, index: 1)]
        #expect(apply(ReductionOp<ValueIndex<Double>>.minLoc, left, right) == [ValueIndex(1.0, index: 2), ValueIndex(1.0, index: 9), ValueIndex(3.0, index: 0)])
        #expect(apply(ReductionOp<ValueIndex<Double>>.maxLoc, left, right) == [ValueIndex(1.0, index: 2), ValueIndex(2.0, index: 4), ValueIndex(5.0, index: 1)])
        #expect(ValueIndex<Int32>.datatype.size == MemoryLayout<ValueIndex<Int32>>.stride)
    }

    @Test func userDefinedOperationsKeepTheOperandOrder() {
        // (a, b) ↦ a·10 + b is not commutative: the left operand must be the input.
        let digits = ReductionOp<Int>.custom { $0 * 10 + $1 }
        #expect(apply(digits, [1, 2], [3, 4]) == [13, 24])
        #expect(!digits.isCommutative)
        let vector = ReductionOp<Int>.custom(commutative: true, vector: { input, output in
            for i in output.indices { output[i] = input[i] - output[i] }
        })
        #expect(apply(vector, [10, 20], [1, 2]) == [9, 18])
        #expect(vector.isCommutative)
        #expect(ReductionOp<Int>.sum.isCommutative)
    }

    @Test func predefinedOperationsSayWhatTheyAre() {
        #expect(ReductionOp<Int32>.sum.reduction.builtin == .sum)
        #expect(ReductionOp<Bool>.logicalXor.reduction.builtin == .logicalXor)
        #expect(ReductionOp<ValueIndex<Float>>.maxLoc.reduction.builtin == .maximumLocation)
        #expect(ReductionOp<Int>.custom { $0 &+ $1 }.reduction.builtin == nil)
    }

    @Test func contiguousBytesDatatypes() {
        #expect(Datatype.contiguousBytes(1) == .byte)
        #expect(Datatype.contiguousBytes(12).size == 12)
        #expect(Datatype.contiguousBytes(12).description == "bytes(12)")
        #expect(Datatype.contiguousBytes(of: (Int64, Int32).self).size == 16)
    }
}
