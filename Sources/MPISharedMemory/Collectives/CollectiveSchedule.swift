import Glibc
import MPICore

/// One step of a collective schedule. The communication steps of a round start together; the
/// local steps after them run once all of them have completed. (So a local step between two
/// communication steps splits them into two rounds.)
enum CollectiveStep {
    /// Sends `bytes` at the pointer to communicator rank `peer` with tag `tagBase + message`.
    case send(UnsafeRawPointer?, bytes: Int, peer: Int, message: Int)
    /// Receives at most `bytes` into the pointer; `exact` flags any other size as a mismatch.
    case receive(UnsafeMutableRawPointer?, bytes: Int, peer: Int, message: Int, exact: Bool)
    case copy(UnsafeRawPointer, UnsafeMutableRawPointer, bytes: Int)
    /// `output = input ∘ output` over `count` elements, with the schedule's reduction kernel.
    case reduce(UnsafeRawPointer, UnsafeMutableRawPointer, count: Int)
    /// Compares the signature `peer` sent (received at the pointer) with this rank's own.
    case compare(UnsafeRawPointer, peer: Int)
    /// Ends the schedule with an error if any rank reported a mismatch (every rank knows by now).
    case checkpoint

    var communicates: Bool {
        switch self {
        case .send, .receive: true
        default: false
        }
    }
}

/// A collective operation in progress on the shared-memory engine: rounds of point-to-point
/// messages on the communicator's collective context, each followed by local work (copies,
/// reductions, signature checks).
///
/// The same schedule serves blocking calls (run to completion on the spot) and nonblocking ones
/// (advanced by every progress of the engine, so they move while the rank waits for anything).
/// Schedules are recycled: their step list and scratch memory are kept for the next operation.
final class CollectiveSchedule {
    var id = 0
    var steps: [CollectiveStep] = []
    var position = 0
    /// Whether the communication steps before `position` have been started and not all completed.
    var roundOpen = false
    /// Engine ids of this round's sends and receives not yet complete.
    var sends: [Int] = []
    var receives: [(id: Int, bytes: Int, exact: Bool, peer: Int)] = []
    var done = false
    var failure: MPIError?
    /// Ended by an error in the middle of a round, with messages possibly still bound for its
    /// scratch memory.
    var abandoned = false

    var context: UInt32 = 0
    var tagBase = 0
    /// World rank of each communicator rank.
    var members: [Int] = []
    var rank = 0
    var size = 0
    var kernel: Reduction.Kernel?

    /// This rank's own arguments.
    var mine = CollectiveSignature(Collective(.barrier, type: .byte))
    /// The signature this rank sends: its own values and every mismatch it knows of.
    var signature: UnsafeMutablePointer<CollectiveSignature>
    /// The first mismatch this rank found itself.
    var seen: CollectiveMismatch?

    /// Scratch memory: chunks handed out in 64-byte-aligned pieces, kept across operations.
    private var chunks: [(base: UnsafeMutableRawPointer, bytes: Int)] = []
    private var chunk = 0
    private var offset = 0

    private static let chunkBytes = 64 << 10
    /// Scratch kept by a recycled schedule; more is freed.
    private static let keptBytes = 1 << 20

    init() {
        let base = UnsafeMutableRawPointer.allocate(byteCount: CollectiveSchedule.chunkBytes, alignment: 64)
        chunks.append((base, CollectiveSchedule.chunkBytes))
        signature = base.bindMemory(to: CollectiveSignature.self, capacity: 1)
    }

    deinit {
        for chunk in chunks { chunk.base.deallocate() }
    }

    /// Makes the schedule ready for a new operation.
    func reset(id: Int, context: UInt32, tagBase: Int, members: UnsafeBufferPointer<Int>, rank: Int, operation: Collective) {
        self.id = id
        steps.removeAll(keepingCapacity: true)
        position = 0
        roundOpen = false
        sends.removeAll(keepingCapacity: true)
        receives.removeAll(keepingCapacity: true)
        done = false
        failure = nil
        abandoned = false
        self.context = context
        self.tagBase = tagBase
        // A reused schedule usually serves the same communicator: copy the group only when it
        // changed, so a collective allocates nothing.
        if !self.members.elementsEqual(members) { self.members = Array(members) }
        self.rank = rank
        size = members.count
        kernel = operation.reduction?.kernel
        mine = CollectiveSignature(operation)
        seen = nil
        var kept = 0
        chunks.removeAll { chunk in
            kept += chunk.bytes
            if kept > CollectiveSchedule.keptBytes && chunk.bytes > CollectiveSchedule.chunkBytes {
                chunk.base.deallocate()
                return true
            }
            return false
        }
        chunk = 0
        offset = 0
        signature = allocate(CollectiveSignature.size).bindMemory(to: CollectiveSignature.self, capacity: 1)
        signature.initialize(to: mine)
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
        steps.append(.send(buffer, bytes: bytes, peer: peer, message: message))
    }

    func receive(_ buffer: UnsafeMutableRawPointer?, _ bytes: Int, from peer: Int, message: Int, exact: Bool = true) {
        steps.append(.receive(buffer, bytes: bytes, peer: peer, message: message, exact: exact))
    }

    func copy(_ source: UnsafeRawPointer?, to destination: UnsafeMutableRawPointer?, bytes: Int) {
        guard bytes > 0, let source, let destination, source != UnsafeRawPointer(destination) else { return }
        steps.append(.copy(source, destination, bytes: bytes))
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
