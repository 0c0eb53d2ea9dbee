extension Window {
    /// Writes `values` into `target`'s window from element `displacement` on (`MPI_Put`). The
    /// write is complete at the target after the epoch's closing call or a flush; until the
    /// origin has completed it, a ``MessageBuffer`` sent from stays locked for writing (an array
    /// or value is copied first). `target` may be ``Communicator/nullProcess`` (nothing happens).
    @inlinable
    public func put<Values: SendBuffer<Element>>(_ values: Values, to target: Int, at displacement: Int = 0) throws(MPIError) {
        let lent = try values.lendForSending()
        try issue("put", target: target, displacement: displacement, count: lent.elements.count, loan: lent.loan.loan) { () throws(MPIError) in
            if copyDirectly(UnsafeMutableRawPointer(mutating: lent.elements.baseAddress), bytes: lent.elements.count * MemoryLayout<Element>.stride,
                target: target, displacement: displacement, put: true) { return }
            _ = try backend.put(
                UnsafeRawPointer(lent.elements.baseAddress), count: lent.elements.count, type: Element.datatype,
                target: target, displacement: displacement, window: handle, request: false)
        }
    }

    /// A put whose request completes when `values` may be reused (`MPI_Rput`); the write is
    /// complete at the target after a flush or the unlock. Only inside a passive-target epoch
    /// (``lock(rank:_:_:)`` or ``lockAll(_:)``).
    @inlinable
    public func immediatePut<Values: SendBuffer<Element>>(_ values: Values, to target: Int, at displacement: Int = 0) throws(MPIError) -> Request {
        let lent = try values.lendForSending()
        return try issueRequest("immediatePut", target: target, displacement: displacement, count: lent.elements.count, loan: lent.loan.loan) {
            () throws(MPIError) -> RequestHandle? in
            try backend.put(
                UnsafeRawPointer(lent.elements.baseAddress), count: lent.elements.count, type: Element.datatype,
                target: target, displacement: displacement, window: handle, request: true)
        }
    }
}
