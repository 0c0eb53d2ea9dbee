import Glibc
import MPICore

/// One step of a collective schedule. The communication steps of a round start together; the
/// local steps after them run once all of them have completed. (So a local step between two
/// communication steps splits them into two rounds.)
enum CollectiveStep {
    /// Sends `bytes` at the pointer to world rank `world` with tag `tagBase + message`.
    case send(UnsafeRawPointer?, bytes: Int, world: Int, message: Int)
    /// Receives at most `bytes` into the pointer from communicator rank `peer` (world rank
    /// `world`); `exact` flags any other size as a mismatch.
    case receive(UnsafeMutableRawPointer?, bytes: Int, peer: Int, world: Int, message: Int, exact: Bool)
    case copy(UnsafeRawPointer, UnsafeMutableRawPointer, bytes: Int)
    /// A copy made while the round's messages are in flight (it belongs to the round, so it
    /// does not split it): this rank's own block, copied while peers read from this rank.
    case copyDuringRound(UnsafeRawPointer, UnsafeMutableRawPointer, bytes: Int)
    /// `output = input ∘ output` over `count` elements, with the schedule's reduction kernel.
    case reduce(UnsafeRawPointer, UnsafeMutableRawPointer, count: Int)
    /// Compares the signature `peer` sent (received at the pointer) with this rank's own.
    case compare(UnsafeRawPointer, peer: Int)
    /// Copies `bytes` from world rank `world`'s memory at the address stored at `slot` (received
    /// in an earlier round) plus `offset`; a failure sets `status` to 1.
    case pull(slot: UnsafeRawPointer, offset: Int, into: UnsafeMutableRawPointer, bytes: Int, world: Int, status: UnsafeMutablePointer<UInt8>)
    /// Copies `bytes` at the pointer into world rank `world`'s memory at the address stored at
    /// `slot` plus `offset`; a failure sets `status` to 1.
    case push(UnsafeRawPointer, slot: UnsafeRawPointer, offset: Int, bytes: Int, world: Int, status: UnsafeMutablePointer<UInt8>)
    /// Ends the schedule with an error if the status byte (this rank's, or one a peer sent about
    /// a copy it made for this rank) reports a failed copy.
    case checkStatus(UnsafeRawPointer, peer: Int)
    /// Ends the schedule with an error if any rank reported a mismatch (every rank knows by now).
    case checkpoint
    /// Nothing: ends a round, so the communication after it waits for the one before.
    case endRound

    var communicates: Bool {
        switch self {
        case .send, .receive, .copyDuringRound: true
        default: false
        }
    }
}

/// A posted receive of a collective round, not yet complete.
struct PendingCollectiveReceive {
    /// The engine's id of the receive.
    let id: Int
    let bytes: Int
    let exact: Bool
    /// Communicator rank of the sender.
    let peer: Int
}

/// A collective operation in progress on the shared-memory engine: rounds of point-to-point
/// messages on the communicator's collective context, each followed by local work (copies,
/// reductions, signature checks).
///
/// The same schedule serves blocking calls (run to completion on the spot) and nonblocking ones
/// (advanced by every progress of the engine, so they move while the rank waits for anything).
/// Schedules are recycled: their step list and scratch memory are kept for the next operation.
/// A schedule is only ever touched under the engine (one thread at a time), so its properties
/// skip the run-time exclusivity checks, which cost more than the work on the small-message path.
final class CollectiveSchedule {
    @exclusivity(unchecked) var id = 0
    @exclusivity(unchecked) var steps = Slab<CollectiveStep>(capacity: 32)
    @exclusivity(unchecked) var position = 0
    /// Whether the communication steps before `position` have been started and not all completed.
    @exclusivity(unchecked) var roundOpen = false
    /// Engine ids of this round's sends and receives not yet complete.
    @exclusivity(unchecked) var sends = Slab<Int>(capacity: 8)
    @exclusivity(unchecked) var receives = Slab<PendingCollectiveReceive>(capacity: 8)
    @exclusivity(unchecked) var done = false
    @exclusivity(unchecked) var failure: MPIError?
    /// Ended by an error in the middle of a round, with messages possibly still bound for its
    /// scratch memory.
    @exclusivity(unchecked) var abandoned = false
    /// The plan of a persistent collective, run again at each start instead of recycled.
    @exclusivity(unchecked) var isPersistent = false
    /// A persistent plan's status bytes, cleared at each start.
    @exclusivity(unchecked) private var statusBytes: [UnsafeMutablePointer<UInt8>] = []

    @exclusivity(unchecked) var context: UInt32 = 0
    @exclusivity(unchecked) var tagBase = 0
    /// World rank of each communicator rank.
    @exclusivity(unchecked) var members: [Int] = []
    @exclusivity(unchecked) var rank = 0
    @exclusivity(unchecked) var size = 0
    @exclusivity(unchecked) var kernel: Reduction.Kernel?
    /// Whether the reduction may combine operands in any order.
    @exclusivity(unchecked) var commutative = false
    /// Whether the ranks can copy from (and into) each other's memory directly.
    @exclusivity(unchecked) var crossMemory = false

    /// This rank's own arguments.
    @exclusivity(unchecked) var mine = CollectiveSignature(CollectiveFields(.barrier, type: .byte))
    /// The signature this rank sends: its own values and every mismatch it knows of.
    @exclusivity(unchecked) var signature: UnsafeMutablePointer<CollectiveSignature>
    /// The first mismatch this rank found itself.
    @exclusivity(unchecked) var seen: CollectiveMismatch?

    /// Scratch memory: chunks handed out in 64-byte-aligned pieces, kept across operations.
    @exclusivity(unchecked) private var chunks: [(base: UnsafeMutableRawPointer, bytes: Int)] = []
    @exclusivity(unchecked) private var chunk = 0
    @exclusivity(unchecked) private var offset = 0

    private static let chunkBytes = 64 << 10
    /// Scratch kept by a recycled schedule; more is freed.
    private static let keptBytes = 64 << 20

    init() {
        let base = UnsafeMutableRawPointer.allocate(byteCount: CollectiveSchedule.chunkBytes, alignment: 64)
        chunks.append((base, CollectiveSchedule.chunkBytes))
        signature = base.bindMemory(to: CollectiveSignature.self, capacity: 1)
    }

    deinit {
        for chunk in chunks { chunk.base.deallocate() }
        steps.deallocate()
        sends.deallocate()
        receives.deallocate()
    }

    /// Makes the schedule ready for a new operation.
    func reset(id: Int, context: UInt32, tagBase: Int, members: UnsafeBufferPointer<Int>, rank: Int, crossMemory: Bool, operation: CollectiveFields) {
        steps.removeAll()
        abandoned = false
        clearRun(id: id)
        self.context = context
        self.tagBase = tagBase
        // A reused schedule usually serves the same communicator: copy the group only when it
        // changed, so a collective allocates nothing.
        if !self.members.elementsEqual(members) { self.members = Array(members) }
        self.rank = rank
        size = members.count
        kernel = operation.reduction?.kernel
        commutative = operation.reduction?.isCommutative ?? false
        self.crossMemory = crossMemory
        mine = CollectiveSignature(operation)
        if chunks.count > 1 || chunks.first.map({ $0.bytes > CollectiveSchedule.chunkBytes }) ?? false {
            var kept = 0
            chunks.removeAll { chunk in
                kept += chunk.bytes
                if kept > CollectiveSchedule.keptBytes && chunk.bytes > CollectiveSchedule.chunkBytes {
                    chunk.base.deallocate()
                    return true
                }
                return false
            }
        }
        chunk = 0
        offset = 0
        statusBytes.removeAll(keepingCapacity: true)
        signature = allocate(CollectiveSignature.size).bindMemory(to: CollectiveSignature.self, capacity: 1)
        signature.initialize(to: mine)
    }

    /// Makes a persistent plan ready to run again as activation `id`: the same steps, buffers and
    /// scratch, with the run's state, this rank's signature and the copy statuses as planned.
    func restart(id: Int) {
        clearRun(id: id)
        signature.initialize(to: mine)
        for status in statusBytes { status.pointee = 0 }
    }

    /// The state of one run, as at its start.
    private func clearRun(id: Int) {
        self.id = id
        position = 0
        roundOpen = false
        sends.removeAll()
        receives.removeAll()
        done = false
        failure = nil
        seen = nil
    }

    /// `bytes` of scratch, 64-byte aligned, valid until the schedule is reset.
    func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        let rounded = (max(bytes, 1) + 63) & ~63
        while chunk < chunks.count {
            if offset + rounded <= chunks[chunk].bytes {
                defer { offset += rounded }
                return chunks[chunk].base + offset
            }
            chunk += 1
            offset = 0
        }
        let size = max(rounded, CollectiveSchedule.chunkBytes)
        chunks.append((.allocate(byteCount: size, alignment: 64), size))
        offset = rounded
        return chunks[chunk].base
    }

    /// Puts this rank's signature at `slot` (16 bytes), where sends will read it.
    func placeSignature(at slot: UnsafeMutableRawPointer) {
        signature = slot.bindMemory(to: CollectiveSignature.self, capacity: 1)
        signature.initialize(to: mine)
    }

    // MARK: Building

    func send(_ buffer: UnsafeRawPointer?, _ bytes: Int, to peer: Int, message: Int) {
        steps.append(.send(buffer, bytes: bytes, world: members[peer], message: message))
    }

    func receive(_ buffer: UnsafeMutableRawPointer?, _ bytes: Int, from peer: Int, message: Int, exact: Bool = true) {
        steps.append(.receive(buffer, bytes: bytes, peer: peer, world: members[peer], message: message, exact: exact))
    }

    func copy(_ source: UnsafeRawPointer?, to destination: UnsafeMutableRawPointer?, bytes: Int) {
        guard bytes > 0, let source, let destination, source != UnsafeRawPointer(destination) else { return }
        steps.append(.copy(source, destination, bytes: bytes))
    }

    func copyDuringRound(_ source: UnsafeRawPointer?, to destination: UnsafeMutableRawPointer?, bytes: Int) {
        guard bytes > 0, let source, let destination, source != UnsafeRawPointer(destination) else { return }
        steps.append(.copyDuringRound(source, destination, bytes: bytes))
    }

    func reduce(_ input: UnsafeRawPointer?, into output: UnsafeMutableRawPointer?, count: Int) {
        guard count > 0, let input, let output else { return }
        steps.append(.reduce(input, output, count: count))
    }

    func compare(_ received: UnsafeRawPointer, from peer: Int) {
        steps.append(.compare(received, peer: peer))
    }

    func checkpoint() {
        steps.append(.checkpoint)
    }

    func endRound() {
        steps.append(.endRound)
    }

    /// A pointer-sized slot of scratch holding `address`, to send to a peer.
    func addressSlot(_ address: UnsafeRawPointer?) -> UnsafeMutableRawPointer {
        let slot = allocate(MemoryLayout<UInt>.size)
        slot.storeBytes(of: UInt(bitPattern: address), as: UInt.self)
        return slot
    }

    /// A status byte (0: fine) in scratch.
    func statusByte() -> UnsafeMutablePointer<UInt8> {
        let status = allocate(1).bindMemory(to: UInt8.self, capacity: 1)
        status.initialize(to: 0)
        if isPersistent { statusBytes.append(status) }
        return status
    }

    // MARK: Running

    /// Compares a received signature with this rank's and merges what the sender knew.
    func merge(_ received: UnsafeRawPointer, from peer: Int) {
        let theirs = received.loadUnaligned(as: CollectiveSignature.self)
        let found = mine.differences(from: theirs)
        if found != 0 && seen == nil { seen = CollectiveMismatch(peer: peer, theirs: theirs) }
        signature.pointee.flags |= found | (theirs.flags & CollectiveSignature.mismatches)
    }

    /// Records a message of `received` bytes where exactly `expected` were due.
    func sizeMismatch(from peer: Int, expected: Int, received: Int) {
        if seen == nil { seen = CollectiveMismatch(peer: peer, theirs: mine, bytes: (expected, received)) }
        signature.pointee.flags |= CollectiveSignature.sizeDiffers
    }

    /// At a checkpoint: whether a mismatch is known, and if so ends the schedule with it.
    func stopIfMismatched() {
        let flags = signature.pointee.flags & CollectiveSignature.mismatches
        guard flags != 0 else { return }
        failure = CollectiveSignature.error(flags: flags, mine: mine, seen: seen, rank: rank)
        done = true
    }
}
