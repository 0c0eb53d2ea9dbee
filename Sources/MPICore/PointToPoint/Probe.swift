// Probes (MPI-4.1 §3.8): describe a matching message without receiving it.

extension Communicator {
    /// Waits for a matching message without receiving it and describes it (`MPI_Probe`).
    @inlinable
    public func probe(from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag) throws(MPIError) -> Status {
        guard try checkedPeers(source: source, tag: tag) else { return .null }
        guard let status = try backend.probe(from: source, tag: tag, comm: handle, blocking: true) else {
            throw MPIError(.intern, "blocking probe returned without a message")
        }
        return status
    }

    /// Describes a matching message if one has arrived, else returns `nil` (`MPI_Iprobe`).
    @inlinable
    public func immediateProbe(from source: Int = Communicator.anySource, tag: Int = Communicator.anyTag) throws(MPIError) -> Status? {
        guard try checkedPeers(source: source, tag: tag) else { return .null }
        return try backend.probe(from: source, tag: tag, comm: handle, blocking: false)
    }
}
