// A reduction applied on one process (MPI-4.1 §6.9.7, `MPI_Reduce_local`).

extension ReductionOp {
    /// Combines `input` into `output` element by element, `output[i] = input[i] ∘ output[i]`
    /// (`MPI_Reduce_local`: `input` is the left operand, as a lower rank's value is in a
    /// reduction). No communication; MPI need not be initialized.
    ///
    /// - Throws: `MPIError(.count)` when the arrays differ in length.
    @inlinable
    public func reduceLocal(_ input: [Element], into output: inout [Element]) throws(MPIError) {
        guard input.count == output.count else {
            throw MPIError(.count, "reduceLocal of \(input.count) elements into \(output.count)")
        }
        guard !input.isEmpty else { return }
        let kernel = reduction.kernel
        input.withUnsafeBytes { from in
            output.withUnsafeMutableBytes { into in kernel(from.baseAddress!, into.baseAddress!, input.count) }
        }
    }
}
