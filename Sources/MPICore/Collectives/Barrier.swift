// Barrier (MPI-4.1 §6.3): blocking, immediate (`MPI_Ibarrier`) and `async`.

extension Communicator {
    /// Blocks until every process of the communicator has called it (`MPI_Barrier`).
    public func barrier() throws(MPIError) {
        try checkActive()
        try backend.barrier(handle)
    }

    /// Starts a barrier: the request completes once every rank has started it (`MPI_Ibarrier`).
    public func immediateBarrier() throws(MPIError) -> Request {
        try startCollective(InPlace<UInt8>(), UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0),
            roles: CollectiveRoles(sends: false, receives: false), origin: RequestOrigin(.barrier)) {
            (_, _, submit) throws(MPIError) in try submit(.barrier)
        }
    }
}
