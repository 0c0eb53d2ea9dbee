extension Window {
    /// Reads `buffer.count` elements of `target`'s window from element `displacement` on into
    /// `buffer` (`MPI_Get`). The data is there once the epoch's closing call or a (local) flush
    /// has returned; until then a ``MessageBuffer`` read into is locked (reading it traps).
    @inlinable
    public func get<Buffer: LendableReceiveBuffer<Element>>(into buffer: Buffer, from target: Int, at displacement: Int = 0) throws(MPIError) {
        let lent = try buffer.lendForReceiving()
        try issue("get", target: target, displacement: displacement, count: lent.elements.count, loan: lent.loan.loan) { () throws(MPIError) in
            if copyDirectly(UnsafeMutableRawPointer(lent.elements.baseAddress), bytes: lent.elements.count * MemoryLayout<Element>.stride,
                target: target, displacement: displacement, put: false) { return }
            _ = try backend.get(
                into: UnsafeMutableRawPointer(lent.elements.baseAddress), count: lent.elements.count, type: Element.datatype,
                target: target, displacement: displacement, window: handle, request: false)
        }
    }

    /// `count` elements of `target`'s window from element `displacement` on, as a new array:
    /// a get completed at once with a local flush, so only inside a passive-target epoch
    /// (``lock(rank:_:_:)`` or ``lockAll(_:)``). The null process gives an empty array.
    @inlinable
    public func get(count: Int, from target: Int, at displacement: Int = 0) throws(MPIError) -> [Element] {
        guard count > 0 else {
            _ = try checkTarget("get", target: target, displacement: displacement, count: count)
            return []
        }
        var done = false
        let values = try [Element](unsafeUninitializedCapacity: count) { (elements, initialized) throws(MPIError) in
            done = try issueAndFlush("get", target: target, displacement: displacement, count: count) { () throws(MPIError) in
                _ = try backend.get(
                    into: UnsafeMutableRawPointer(elements.baseAddress), count: count, type: Element.datatype,
                    target: target, displacement: displacement, window: handle, request: false)
            }
            initialized = done ? count : 0
        }
        return values
    }

    /// A get whose request completes when the data is in `buffer` (`MPI_Rget`). Only inside a
    /// passive-target epoch.
    @inlinable
    public func immediateGet<Buffer: LendableReceiveBuffer<Element>>(into buffer: Buffer, from target: Int, at displacement: Int = 0) throws(MPIError) -> Request {
        let lent = try buffer.lendForReceiving()
        return try issueRequest("immediateGet", target: target, displacement: displacement, count: lent.elements.count, loan: lent.loan.loan) {
            () throws(MPIError) -> RequestHandle? in
            try backend.get(
                into: UnsafeMutableRawPointer(lent.elements.baseAddress), count: lent.elements.count, type: Element.datatype,
                target: target, displacement: displacement, window: handle, request: true)
        }
    }
}
