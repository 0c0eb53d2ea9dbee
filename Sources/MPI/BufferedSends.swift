// Buffered sends' space (MPI-4.1 §3.6): `SendMode.buffered` copies each message into it.

extension Environment {
    /// Attaches `capacity` bytes for buffered sends (`MPI_Buffer_attach`), which the library
    /// allocates and owns. Each buffered message takes its packed size plus
    /// ``bufferedSendOverhead()`` until it has left; size the space for the messages that may be
    /// in flight at once.
    ///
    /// ```swift
    /// try Environment.attachBuffer(capacity: 10 * (1024 * 8 + Environment.bufferedSendOverhead()))
    /// try world.send(values, to: 1, mode: .buffered)   // returns at once
    /// _ = try Environment.detachBuffer()               // waits for the messages to leave
    /// ```
    ///
    /// - Throws: `MPIError(.buffer)` when space is attached already, `MPIError(.count)` for a
    ///   negative capacity (or, on Open MPI, one beyond its `Int32` range).
    public static func attachBuffer(capacity: Int) throws(MPIError) {
        guard capacity >= 0 else { throw MPIError(.count, "a buffered-send space of \(capacity) bytes: the capacity must be at least 0") }
        try Runtime.activeBackend().attachBuffer(capacity: capacity)
    }

    /// Waits until every buffered message has left the attached space, detaches it and returns
    /// its capacity (`MPI_Buffer_detach`). Finalizing detaches it too.
    ///
    /// - Throws: `MPIError(.buffer)` when no space is attached.
    @discardableResult
    public static func detachBuffer() throws(MPIError) -> Int {
        try Runtime.activeBackend().detachBuffer()
    }

    /// Bytes of attached space a buffered send takes beyond its data (`MPI_BSEND_OVERHEAD`).
    public static func bufferedSendOverhead() throws(MPIError) -> Int {
        try Runtime.activeBackend().bufferedSendOverhead
    }
}
