// Accumulate-family operations: element-wise atomic against each other on the same target
// elements with the same element type and operation (MPI-4.1 §12.7.1), not against puts.

extension Window {
    /// Combines `values` into `target`'s window from element `displacement` on:
    /// `target[i] = values[i] ∘ target[i]` (`MPI_Accumulate`). `op` is a predefined operation
    /// (`.sum`, `.max`, …, `.replace`, `.noOp`); other than `.replace`/`.noOp` it needs a
    /// predefined element type. Completes like ``put(_:to:at:)``.
    @inlinable
    public func accumulate<Values: SendBuffer<Element>>(
        _ values: Values, to target: Int, at displacement: Int = 0, op: ReductionOp<Element>
    ) throws(MPIError) {
        try checkAccumulate(op, "accumulate")
        let lent = try values.lendForSending()
        try issue("accumulate", target: target, displacement: displacement, count: lent.elements.count, loan: lent.loan.loan) { () throws(MPIError) in
            _ = try backend.accumulate(
                UnsafeRawPointer(lent.elements.baseAddress), count: lent.elements.count, type: Element.datatype,
                target: target, displacement: displacement, op: op.reduction, window: handle, request: false)
        }
    }

    /// An accumulate whose request completes when `values` may be reused (`MPI_Raccumulate`).
    /// Only inside a passive-target epoch.
    @inlinable
    public func immediateAccumulate<Values: SendBuffer<Element>>(
        _ values: Values, to target: Int, at displacement: Int = 0, op: ReductionOp<Element>
    ) throws(MPIError) -> Request {
        try checkAccumulate(op, "immediateAccumulate")
        let lent = try values.lendForSending()
        return try issueRequest("immediateAccumulate", target: target, displacement: displacement, count: lent.elements.count, loan: lent.loan.loan) {
            () throws(MPIError) -> RequestHandle? in
            try backend.accumulate(
                UnsafeRawPointer(lent.elements.baseAddress), count: lent.elements.count, type: Element.datatype,
                target: target, displacement: displacement, op: op.reduction, window: handle, request: true)
        }
    }

    /// Reads `result.count` elements of `target`'s window from `displacement` on into `result`
    /// and combines `values` into them, as one atomic step per element (`MPI_Get_accumulate`).
    /// `values` holds as many elements as `result` (with `.noOp` it is not read). Completes like
    /// ``get(into:from:at:)``.
    @inlinable
    public func getAccumulate<Values: SendBuffer<Element>, Result: LendableReceiveBuffer<Element>>(
        _ values: Values, into result: Result, from target: Int, at displacement: Int = 0, op: ReductionOp<Element>
    ) throws(MPIError) {
        try checkAccumulate(op, "getAccumulate")
        let lent = try values.lendForSending()
        let output: (elements: UnsafeMutableBufferPointer<Element>, loan: BufferLoan)
        do { output = try result.lendForReceiving() } catch { lent.loan.loan.end(); throw error }
        guard lent.elements.count == output.elements.count else {
            lent.loan.loan.end(); output.loan.loan.end()
            throw MPIError(.count, "getAccumulate of \(lent.elements.count) values into a result of \(output.elements.count) elements: they must match")
        }
        try issue("getAccumulate", target: target, displacement: displacement, count: output.elements.count, loan: lent.loan.loan, output.loan.loan) {
            () throws(MPIError) in
            _ = try backend.getAccumulate(
                UnsafeRawPointer(lent.elements.baseAddress), into: UnsafeMutableRawPointer(output.elements.baseAddress),
                count: output.elements.count, type: Element.datatype, target: target, displacement: displacement,
                op: op.reduction, window: handle, request: false)
        }
    }

    /// A get-accumulate whose request completes when `result` holds the old values
    /// (`MPI_Rget_accumulate`). Only inside a passive-target epoch.
    @inlinable
    public func immediateGetAccumulate<Values: SendBuffer<Element>, Result: LendableReceiveBuffer<Element>>(
        _ values: Values, into result: Result, from target: Int, at displacement: Int = 0, op: ReductionOp<Element>
    ) throws(MPIError) -> Request {
        try checkAccumulate(op, "immediateGetAccumulate")
        let lent = try values.lendForSending()
        let output: (elements: UnsafeMutableBufferPointer<Element>, loan: BufferLoan)
        do { output = try result.lendForReceiving() } catch { lent.loan.loan.end(); throw error }
        guard lent.elements.count == output.elements.count else {
            lent.loan.loan.end(); output.loan.loan.end()
            throw MPIError(.count, "immediateGetAccumulate of \(lent.elements.count) values into a result of \(output.elements.count) elements: they must match")
        }
        return try issueRequest("immediateGetAccumulate", target: target, displacement: displacement, count: output.elements.count,
            loan: lent.loan.loan, output.loan.loan) { () throws(MPIError) -> RequestHandle? in
            try backend.getAccumulate(
                UnsafeRawPointer(lent.elements.baseAddress), into: UnsafeMutableRawPointer(output.elements.baseAddress),
                count: output.elements.count, type: Element.datatype, target: target, displacement: displacement,
                op: op.reduction, window: handle, request: true)
        }
    }

    /// Combines `value` into element `displacement` of `target`'s window and returns the element
    /// as it was, atomically (`MPI_Fetch_and_op`, completed with a local flush before it returns):
    /// only inside a passive-target epoch. `fetchAndOp(1, from: 0, at: 0, op: .sum)` is a
    /// shared counter's fetch-and-increment. With the null process it returns `value`.
    @inlinable
    public func fetchAndOp(_ value: Element, from target: Int, at displacement: Int = 0, op: ReductionOp<Element>) throws(MPIError) -> Element {
        try checkAccumulate(op, "fetchAndOp")
        var operand = value
        var old = value
        _ = try withUnsafeMutablePointer(to: &old) { (result) throws(MPIError) -> Bool in
            try withUnsafePointer(to: &operand) { (origin) throws(MPIError) -> Bool in
                try issueAndFlush("fetchAndOp", target: target, displacement: displacement, count: 1) { () throws(MPIError) in
                    _ = try backend.getAccumulate(
                        UnsafeRawPointer(origin), into: UnsafeMutableRawPointer(result), count: 1, type: Element.datatype,
                        target: target, displacement: displacement, op: op.reduction, window: handle, request: false)
                }
            }
        }
        return old
    }

    /// Replaces element `displacement` of `target`'s window with `desired` if it equals
    /// `expected`, and returns the element as it was, atomically (`MPI_Compare_and_swap`,
    /// completed with a local flush before it returns): only inside a passive-target epoch.
    /// `Element` must be an integer type or `Bool` (as MPI requires). With the null process it
    /// returns `expected`.
    @inlinable
    public func compareAndSwap(_ desired: Element, ifEqualTo expected: Element, from target: Int, at displacement: Int = 0) throws(MPIError) -> Element {
        try checkCompareAndSwap()
        var value = desired, compare = expected, old = expected
        _ = try withUnsafeMutablePointer(to: &old) { (result) throws(MPIError) -> Bool in
            try withUnsafePointer(to: &value) { (origin) throws(MPIError) -> Bool in
                try withUnsafePointer(to: &compare) { (comparand) throws(MPIError) -> Bool in
                    try issueAndFlush("compareAndSwap", target: target, displacement: displacement, count: 1) { () throws(MPIError) in
                        try backend.compareAndSwap(
                            UnsafeRawPointer(origin), compare: UnsafeRawPointer(comparand), into: UnsafeMutableRawPointer(result),
                            type: Element.datatype, target: target, displacement: displacement, window: handle)
                    }
                }
            }
        }
        return old
    }

    /// A compare-and-swap in any epoch: `result` (one element) gets the old element once the
    /// epoch's closing call or a flush has returned (`MPI_Compare_and_swap`).
    @inlinable
    public func compareAndSwap<Result: LendableReceiveBuffer<Element>>(
        _ desired: Element, ifEqualTo expected: Element, into result: Result, from target: Int, at displacement: Int = 0
    ) throws(MPIError) {
        try checkCompareAndSwap()
        let output = try result.lendForReceiving()
        guard output.elements.count == 1 else {
            output.loan.loan.end()
            throw MPIError(.count, "compareAndSwap needs a result of one element, got \(output.elements.count)")
        }
        let operands = [desired, expected].withUnsafeBufferPointer { ownedCopy($0) }
        try issue("compareAndSwap", target: target, displacement: displacement, count: 1, loan: operands.loan.loan, output.loan.loan) {
            () throws(MPIError) in
            try backend.compareAndSwap(
                UnsafeRawPointer(operands.elements.baseAddress!), compare: UnsafeRawPointer(operands.elements.baseAddress! + 1),
                into: UnsafeMutableRawPointer(output.elements.baseAddress!), type: Element.datatype,
                target: target, displacement: displacement, window: handle)
        }
    }

    @usableFromInline
    func checkCompareAndSwap() throws(MPIError) {
        let type = Element.datatype
        let integral: Set<Datatype.Builtin> = [.int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .bool, .byte]
        guard type.isPrimitive && type.run == 1 && integral.contains(type.builtin) else {
            throw MPIError(.type, "compareAndSwap needs an integer or Bool element (MPI allows no other); \(Element.self) travels as \(type)")
        }
    }
}
