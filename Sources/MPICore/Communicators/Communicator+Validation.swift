extension Communicator {
    /// Checks that MPI is active, the tag and the destination; false for the null process.
    @inlinable
    package func checkedPeers(destination dest: Int, tag: Int) throws(MPIError) -> Bool {
        try checkActive()
        try checkSendTag(tag)
        return try validDestination(dest)
    }

    /// Checks that MPI is active, the tag and the source; false for the null process.
    @inlinable
    package func checkedPeers(source: Int, tag: Int) throws(MPIError) -> Bool {
        try checkActive()
        try checkReceiveTag(tag)
        return try validSource(source)
    }

    /// Checks a destination rank; returns false for the null process (nothing to do).
    @inlinable
    package func validDestination(_ dest: Int) throws(MPIError) -> Bool {
        if dest == Communicator.nullProcess { return false }
        guard dest >= 0 && dest < size else {
            throw MPIError(.rank, "invalid destination rank \(dest): communicator has \(size) rank\(size == 1 ? "" : "s") (valid 0...\(size - 1) or nullProcess)")
        }
        return true
    }

    /// Checks a source rank (the any-source wildcard allowed); false for the null process.
    @inlinable
    package func validSource(_ source: Int) throws(MPIError) -> Bool {
        if source == Communicator.nullProcess { return false }
        guard source == Communicator.anySource || (source >= 0 && source < size) else {
            throw MPIError(.rank, "invalid source rank \(source): communicator has \(size) rank\(size == 1 ? "" : "s") (valid 0...\(size - 1), anySource or nullProcess)")
        }
        return true
    }

    @inlinable
    package func checkSendTag(_ tag: Int) throws(MPIError) {
        guard tag >= 0 && tag <= backend.tagUpperBound else {
            throw MPIError(.tag, "invalid send tag \(tag): tags are 0...\(backend.tagUpperBound)")
        }
    }

    @inlinable
    package func checkReceiveTag(_ tag: Int) throws(MPIError) {
        guard tag == Communicator.anyTag || (tag >= 0 && tag <= backend.tagUpperBound) else {
            throw MPIError(.tag, "invalid receive tag \(tag): tags are 0...\(backend.tagUpperBound) or anyTag")
        }
    }

    @inlinable
    package func checkCount(_ count: Int) throws(MPIError) {
        guard count >= 0 else { throw MPIError(.count, "invalid count \(count): counts must not be negative") }
    }
}
