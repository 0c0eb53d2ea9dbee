#if OpenMPI
import CMPI
import MPICore

// Blocking point-to-point operations (MPI-4.1 chapter 3) on Open MPI.
//
// The hot path is one `MPI_*` call plus `MPI_Get_elements_x` for a receive's size: no Swift
// allocation, no string, no closure context on the heap. Messages over `Int32.max` elements go
// through a derived datatype (see `WireType`).

extension OpenMPIBackend {
    package func send(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype,
        to dest: Int, tag: Int, comm: CommHandle, mode: SendMode
    ) throws(MPIError) {
        let wire = try WireType(count: count, element: type)
        defer { wire.release() }
        switch mode {
        case .standard:
            let code = MPI_Send(buffer, wire.count, wire.datatype, mpiRank(dest), mpiTag(tag), comm.mpi)
            try check(code, "MPI_Send", sendContext(count: count, type: type, dest: dest, tag: tag))
        case .synchronous:
            let code = MPI_Ssend(buffer, wire.count, wire.datatype, mpiRank(dest), mpiTag(tag), comm.mpi)
            try check(code, "MPI_Ssend", sendContext(count: count, type: type, dest: dest, tag: tag))
        case .buffered:
            try checkBufferedSpace(count: count, type: type, dest: dest, tag: tag)
            let code = MPI_Bsend(buffer, wire.count, wire.datatype, mpiRank(dest), mpiTag(tag), comm.mpi)
            try check(code, "MPI_Bsend", bufferedContext(count: count, type: type, dest: dest, tag: tag))
        case .ready:
            let code = MPI_Rsend(buffer, wire.count, wire.datatype, mpiRank(dest), mpiTag(tag), comm.mpi)
            try check(code, "MPI_Rsend", sendContext(count: count, type: type, dest: dest, tag: tag))
        }
    }

    package func receive(
        into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from source: Int, tag: Int, comm: CommHandle
    ) throws(MPIError) -> Status {
        let wire = try WireType(count: count, element: type)
        defer { wire.release() }
        var status = MPI_Status()
        let code = MPI_Recv(buffer, wire.count, wire.datatype, mpiRank(source), mpiTag(tag), comm.mpi, &status)
        try check(
            code, "MPI_Recv",
            receiveContext(code: code, status: &status, count: count, type: type, source: source, tag: tag))
        return try makeStatus(&status, countingIn: wire.datatype, type: type)
    }

    package func sendReceive(
        _ sendBuffer: UnsafeRawPointer?, sendCount: Int, sendType: Datatype, to dest: Int, sendTag: Int,
        into receiveBuffer: UnsafeMutableRawPointer?, receiveCount: Int, receiveType: Datatype,
        from source: Int, receiveTag: Int, comm: CommHandle
    ) throws(MPIError) -> Status {
        let sendWire = try WireType(count: sendCount, element: sendType)
        defer { sendWire.release() }
        let receiveWire = try WireType(count: receiveCount, element: receiveType)
        defer { receiveWire.release() }
        var status = MPI_Status()
        let code = MPI_Sendrecv(
            sendBuffer, sendWire.count, sendWire.datatype, mpiRank(dest), mpiTag(sendTag),
            receiveBuffer, receiveWire.count, receiveWire.datatype, mpiRank(source), mpiTag(receiveTag),
            comm.mpi, &status)
        try check(
            code, "MPI_Sendrecv",
            sendContext(count: sendCount, type: sendType, dest: dest, tag: sendTag) + "; "
                + receiveContext(
                    code: code, status: &status, count: receiveCount, type: receiveType, source: source, tag: receiveTag))
        return try makeStatus(&status, countingIn: receiveWire.datatype, type: receiveType)
    }

    package func probe(from source: Int, tag: Int, comm: CommHandle, blocking: Bool) throws(MPIError) -> Status? {
        var status = MPI_Status()
        if blocking {
            try check(MPI_Probe(mpiRank(source), mpiTag(tag), comm.mpi, &status), "MPI_Probe", probeContext(source: source, tag: tag))
        } else {
            var found: Int32 = 0
            try check(
                MPI_Iprobe(mpiRank(source), mpiTag(tag), comm.mpi, &found, &status), "MPI_Iprobe",
                probeContext(source: source, tag: tag))
            if found == 0 { return nil }
        }
        let bytes = try elementCount(&status, cmpi_byte()) ?? 0
        return Status(source: swiftRank(status.MPI_SOURCE), tag: swiftTag(status.MPI_TAG), byteCount: bytes)
    }

    // MARK: Matched probes

    package func matchedProbe(from source: Int, tag: Int, comm: CommHandle, blocking: Bool) throws(MPIError) -> (MessageHandle, Status)? {
        var status = MPI_Status()
        var message: MPI_Message? = nil
        if blocking {
            try check(MPI_Mprobe(mpiRank(source), mpiTag(tag), comm.mpi, &message, &status), "MPI_Mprobe", probeContext(source: source, tag: tag))
        } else {
            var found: Int32 = 0
            try check(
                MPI_Improbe(mpiRank(source), mpiTag(tag), comm.mpi, &found, &message, &status), "MPI_Improbe",
                probeContext(source: source, tag: tag))
            if found == 0 { return nil }
        }
        let bytes = try elementCount(&status, cmpi_byte()) ?? 0
        return (MessageHandle(raw: UInt(bitPattern: message)),
            Status(source: swiftRank(status.MPI_SOURCE), tag: swiftTag(status.MPI_TAG), byteCount: bytes))
    }

    package func matchedReceive(
        _ message: MessageHandle, into buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype
    ) throws(MPIError) -> Status {
        let wire = try WireType(count: count, element: type)
        defer { wire.release() }
        var status = MPI_Status()
        var handle = MPI_Message(bitPattern: message.raw)
        let code = MPI_Mrecv(buffer, wire.count, wire.datatype, &handle, &status)
        try check(
            code, "MPI_Mrecv",
            receiveContext(code: code, status: &status, count: count, type: type, source: Communicator.anySource, tag: Communicator.anyTag))
        return try makeStatus(&status, countingIn: wire.datatype, type: type)
    }

    // MARK: Status

    /// The public status of a completed receive: its size is the number of basic elements
    /// received (`MPI_Get_elements_x`, a 64-bit count, in `datatype`, the receive's wire type or
    /// its element type) times the size of a basic element (1 for a run of bytes).
    @inline(__always)
    func makeStatus(_ status: inout MPI_Status, countingIn datatype: MPI_Datatype, type: Datatype) throws(MPIError) -> Status {
        let bytes: Int
        if type.isPrimitive, let elements = try elementCount(&status, datatype) {
            bytes = elements * type.builtin.size
        } else {
            bytes = try elementCount(&status, cmpi_byte()) ?? 0
        }
        return Status(source: swiftRank(status.MPI_SOURCE), tag: swiftTag(status.MPI_TAG), byteCount: bytes)
    }

    /// Basic elements of `type` in the message `status` describes, `nil` when the message is not
    /// a whole number of them (`MPI_UNDEFINED`).
    @inline(__always)
    func elementCount(_ status: inout MPI_Status, _ type: MPI_Datatype) throws(MPIError) -> Int? {
        var elements: MPI_Count = 0
        try check(MPI_Get_elements_x(&status, type, &elements), "MPI_Get_elements_x")
        return elements == MPI_Count(MPI_UNDEFINED) ? nil : Int(elements)
    }

    // MARK: Error context (built only when a call failed)

    func sendContext(count: Int, type: Datatype, dest: Int, tag: Int) -> String {
        "sending \(count) \(type) elements (\(count * type.size) bytes) to rank \(dest) with tag \(tag)"
    }

    private func probeContext(source: Int, tag: Int) -> String {
        "probing for a message from \(describeSource(source)) with \(describeTag(tag))"
    }

    /// Says what the failed receive expected and, for a truncation, how large the message was:
    /// `MPI_Get_elements_x` on the status gives the message's full size.
    func receiveContext(
        code: Int32, status: inout MPI_Status, count: Int, type: Datatype, source: Int, tag: Int
    ) -> String {
        let capacity = count * type.size
        var errorClass: Int32 = 0
        if MPI_Error_class(code, &errorClass) == MPI_SUCCESS && errorClass == MPI_ERR_TRUNCATE {
            let bytes: Int? =
                if type.isPrimitive, let elements = try? elementCount(&status, type.builtin.mpi) { elements * type.builtin.size }
                else { (try? elementCount(&status, cmpi_byte())) ?? nil }
            let size = bytes.map { "\($0) bytes" } ?? "unknown size"
            return "message of \(size) from rank \(swiftRank(status.MPI_SOURCE)) with tag \(swiftTag(status.MPI_TAG)) "
                + "does not fit the receive buffer of \(capacity) bytes (\(count) \(type) elements)"
        }
        return postContext(count: count, type: type, source: source, tag: tag)
    }

    func postContext(count: Int, type: Datatype, source: Int, tag: Int) -> String {
        "receiving up to \(count) \(type) elements (\(count * type.size) bytes) from \(describeSource(source)) with \(describeTag(tag))"
    }

    private func describeSource(_ source: Int) -> String {
        source == Communicator.anySource ? "any source" : "rank \(source)"
    }

    private func describeTag(_ tag: Int) -> String {
        tag == Communicator.anyTag ? "any tag" : "tag \(tag)"
    }
}
#endif
