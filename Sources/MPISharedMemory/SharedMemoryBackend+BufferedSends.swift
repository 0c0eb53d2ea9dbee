import Glibc
import MPICore

// Buffered sends (MPI-4.1 §3.6) on shared memory. The attached space is an accounting of
// capacity: each buffered message is copied (packed) into memory of its own, charged its size
// plus the overhead against the space, and sent from the copy; the charge is returned once the
// send has completed, which the next buffered send, a detach or finalize finds out.

/// The attached space and the messages in it.
struct BufferedSpace {
    let capacity: Int
    var used = 0
    var inFlight: [(send: Int, storage: UnsafeMutableRawPointer, charge: Int)] = []
}

extension SharedMemoryBackend {
    /// What each buffered message is charged beyond its data, as `MPI_BSEND_OVERHEAD`.
    package var bufferedSendOverhead: Int { 96 }

    package func attachBuffer(capacity: Int) throws(MPIError) {
        lockEngine()
        defer { unlockEngine() }
        guard engine.pointee.active else { throw MPIError.finalized() }
        if let space = bufferedSpace {
            throw MPIError(.buffer, "a buffered-send space of \(space.capacity) bytes is attached already: detach it first")
        }
        bufferedSpace = BufferedSpace(capacity: capacity)
    }

    package func detachBuffer() throws(MPIError) -> Int {
        lockEngine()
        defer { unlockEngine() }
        guard engine.pointee.active else { throw MPIError.finalized() }
        return try detachInside()
    }

    /// Waits for every buffered message to leave, then detaches the space. Engine locked.
    func detachInside() throws(MPIError) -> Int {
        guard bufferedSpace != nil else { throw MPIError(.buffer, "no buffered-send space is attached") }
        // If the wait fails (a peer died), the copies stay: a peer may still be reading one.
        try engine.pointee.wait(for: .requests(count: bufferedSpace!.inFlight.count)) { _ in
            self.reclaimBufferedSends()
            return self.bufferedSpace!.inFlight.isEmpty
        }
        let capacity = bufferedSpace!.capacity
        bufferedSpace = nil
        return capacity
    }

    /// Returns the space of buffered messages whose sends have completed. Engine locked.
    func reclaimBufferedSends() {
        guard var space = bufferedSpace, !space.inFlight.isEmpty else { return }
        bufferedSpace = nil  // not two copies of the array while it changes
        space.inFlight.removeAll { message in
            if let index = engine.pointee.sendIndex(message.send) {
                guard engine.pointee.sendDone(index) else { return false }
                // A message to a rank that finalized without receiving it is lost, as MPI
                // allows for buffered sends whose error nobody can be told of.
                try? engine.pointee.retireSend(at: index)
            }
            Glibc.free(message.storage)
            space.used -= message.charge
            return true
        }
        bufferedSpace = space
    }

    /// Copies `count` elements of `type` at `buffer` into the attached space and starts sending
    /// them to world rank `peer`; returns at once. Engine locked.
    func bufferedSend(
        _ buffer: UnsafeRawPointer?, count: Int, type: Datatype, to peer: Int, context: UInt32, tag: Int
    ) throws(MPIError) {
        let bytes = try byteCount(count, type)
        guard bufferedSpace != nil else {
            throw MPIError(.buffer, "a buffered send of \(bytes) bytes to world rank \(peer) with tag \(tag), but no space is attached: Environment.attachBuffer(capacity:)")
        }
        reclaimBufferedSends()
        let charge = bytes + bufferedSendOverhead
        let space = bufferedSpace!
        guard space.used + charge <= space.capacity else {
            throw MPIError(.buffer, "a buffered send of \(bytes) bytes to world rank \(peer) with tag \(tag) needs \(charge) bytes of attached space, but only \(space.capacity - space.used) of \(space.capacity) are free (messages in flight: \(space.inFlight.count))")
        }
        guard let storage = malloc(max(bytes, 1)) else { throw MPIError(.noMemory, "could not allocate \(bytes) bytes for a buffered send") }
        if bytes > 0, let buffer {
            if type.isDense { memcpy(storage, buffer, bytes) } else { type.pack(buffer, count: count, into: storage) }
        }
        // The copy is packed: it travels as plain bytes, which the receiver's datatype unpacks.
        if engine.pointee.sendEagerIfRoom(storage, count: bytes, to: peer, context: context, tag: tag) {
            Glibc.free(storage)
            return
        }
        let id: Int
        do {
            id = try engine.pointee.startSend(storage, count: bytes, to: peer, context: context, tag: tag, synchronous: false)
        } catch {
            Glibc.free(storage)
            throw error
        }
        bufferedSpace!.used += charge
        bufferedSpace!.inFlight.append((id, storage, charge))
    }
}
