#if OpenMPI
import CMPI
import MPICore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Buffered sends' space (`MPI_Buffer_attach`/`detach`): the memory is the binding's, malloc-ed
// on attach and freed once Open MPI has handed it back.

/// `free`, which inside the backend would name its communicator-freeing method.
private func releaseSpace(_ memory: UnsafeMutableRawPointer?) { free(memory) }

extension OpenMPIBackend {
    /// The attached space, as an address and a capacity, or nil.
    static let attachedSpace = Mutex<(address: UInt, capacity: Int)?>(nil)

    package var bufferedSendOverhead: Int { Int(MPI_BSEND_OVERHEAD) }

    package func attachBuffer(capacity: Int) throws(MPIError) {
        guard isActive else { throw MPIError.finalized() }
        guard let size = Int32(exactly: capacity) else {
            throw MPIError(.count, "a buffered-send space of \(capacity) bytes exceeds Open MPI's int range")
        }
        try Self.attachedSpace.withLock { (space) throws(MPIError) in
            if let space {
                throw MPIError(.buffer, "a buffered-send space of \(space.capacity) bytes is attached already: detach it first")
            }
            guard let memory = malloc(max(capacity, 1)) else { throw MPIError(.noMemory, "could not allocate \(capacity) bytes for buffered sends") }
            let code = MPI_Buffer_attach(memory, size)
            if code != MPI_SUCCESS { releaseSpace(memory) }
            try check(code, "MPI_Buffer_attach", "\(capacity) bytes")
            space = (UInt(bitPattern: memory), capacity)
        }
    }

    package func detachBuffer() throws(MPIError) -> Int {
        guard isActive else { throw MPIError.finalized() }
        return try Self.attachedSpace.withLock { (space) throws(MPIError) -> Int in
            guard let attached = space else { throw MPIError(.buffer, "no buffered-send space is attached") }
            var address: UnsafeMutableRawPointer?
            var size: Int32 = 0
            // MPI_Buffer_detach takes the address of a pointer, as void*.
            try withUnsafeMutablePointer(to: &address) { (pointer) throws(MPIError) in
                try check(MPI_Buffer_detach(pointer, &size), "MPI_Buffer_detach")
            }
            releaseSpace(UnsafeMutableRawPointer(bitPattern: attached.address))
            space = nil
            return attached.capacity
        }
    }

    /// Throws `.buffer` when no space is attached or the message could never fit it. Open MPI
    /// sends a small buffered message straight away when it can, without the space, so it
    /// would accept what MPI calls an error on one run and fail it on another; checked here,
    /// both backends fail it every time.
    func checkBufferedSpace(count: Int, type: Datatype, dest: Int, tag: Int) throws(MPIError) {
        let needed = count * type.size + bufferedSendOverhead
        let capacity = Self.attachedSpace.withLock { $0?.capacity }
        guard let capacity, needed <= capacity else {
            throw MPIError(.buffer, bufferedContext(count: count, type: type, dest: dest, tag: tag))
        }
    }

    /// What a failed buffered send says: the message's needs against the attached space.
    func bufferedContext(count: Int, type: Datatype, dest: Int, tag: Int) -> String {
        let space = Self.attachedSpace.withLock { $0?.capacity }
        return sendContext(count: count, type: type, dest: dest, tag: tag)
            + " in buffered mode, needing \(count * type.size + bufferedSendOverhead) bytes of attached space ("
            + (space.map { "\($0) bytes attached; messages still in flight take their part" } ?? "none attached: Environment.attachBuffer(capacity:)") + ")"
    }
}
#endif
