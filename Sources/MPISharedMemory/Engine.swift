import CLinuxSystem
import Glibc
import MPICore
import Synchronization

/// A communicator as the engine sees it: its context ids and its group in world ranks.
///
/// The rank tables live in memory this value owns until `deallocate()` (when the communicator
/// is freed), so copying an info on the message path costs no reference counting.
struct CommunicatorInfo {
    /// Context id for point-to-point traffic; collective traffic uses `context + 1`.
    let context: UInt32
    /// World rank of each member, in communicator rank order.
    let members: UnsafeBufferPointer<Int>
    /// Communicator rank of each world rank, or -1 for non-members.
    let rankOfWorld: UnsafeBufferPointer<Int>
    let rank: Int
    /// Collective operations started on the communicator so far; numbers their messages' tags.
    var collectiveSequence = 0

    init(context: UInt32, members: [Int], worldSize: Int, worldRank: Int) {
        self.context = context
        let memberTable = UnsafeMutableBufferPointer<Int>.allocate(capacity: members.count)
        _ = memberTable.initialize(fromContentsOf: members)
        self.members = UnsafeBufferPointer(memberTable)
        let rankTable = UnsafeMutableBufferPointer<Int>.allocate(capacity: worldSize)
        rankTable.initialize(repeating: -1)
        for (rank, world) in members.enumerated() { rankTable[world] = rank }
        self.rankOfWorld = UnsafeBufferPointer(rankTable)
        self.rank = rankTable[worldRank]
    }

    /// The members as an array, for comparisons.
    var memberList: [Int] { Array(members) }

    func deallocate() {
        members.deallocate()
        rankOfWorld.deallocate()
    }
}

/// The shared-memory transport's mutable state and its progress engine. It lives at a fixed
/// address (allocated once by the backend), so its methods mutate it in place without dynamic
/// exclusivity checks or copies on the hot path.
struct Engine {
    let segment: JobSegment
    let rank: Int
    let size: Int
    let useCrossMemory: Bool
    /// Messages of more bytes than this go by single copy (ready-to-send) when possible.
    let eagerLimit: Int
    /// False once the backend is finalized (read on every call).
    var active = true
    let producers: UnsafeMutablePointer<RingProducer>
    let consumers: UnsafeMutablePointer<RingConsumer>
    /// Rank 0's wake word; rank r's is `JobSegment.slotBytes × r` bytes further.
    let wakeWords: UnsafeMutablePointer<Atomic<UInt32>>
    let fragmentTargets: UnsafeMutablePointer<FragmentTarget>
    /// Rank 0's fragment pool; rank r's is `poolStride * r` bytes further.
    let poolBase: UnsafeMutableRawPointer
    let poolStride: Int
    /// Chunks per pool (0 when the rings carry every fragment).
    let poolChunks: Int
    /// Where the search for a free chunk of this rank's pool starts.
    var poolCursor = 0
    let peerPids: [pid_t]
    /// The waiting policy each wait starts from (copied, so waits on several threads never share one).
    let backoffTemplate: Backoff
    /// Held by whichever thread is inside the engine, when the process asked for
    /// `ThreadLevel.multiple`; released while a wait idles.
    var lock: UnsafeMutablePointer<pthread_mutex_t>? = nil

    var posted = Slab<PostedReceive>(capacity: 64)
    /// Every posted receive before this index has matched, so matching starts here.
    var firstUnmatched = 0
    var unexpected = Slab<UnexpectedMessage>(capacity: 64)
    /// Spare buffers for unexpected messages, by size class (4 KiB, 8 KiB, … 4 MiB: class `c`
    /// holds buffers of 4 KiB << c), so a stream of messages that arrive before their receives
    /// allocates nothing — and does not make malloc give pages back to the kernel and fault them
    /// in again at every message (measured: bibw at 64 KiB took 5x longer that way). Each class
    /// keeps at most `pooledBytesPerClass` bytes (at least two buffers).
    var pooledBuffers: [Slab<UnsafeMutableRawPointer>] = (0...Engine.largestPooledClass).map { _ in Slab(capacity: 4) }
    static let smallestPooledShift = 12
    static let largestPooledClass = 10
    static let pooledBytesPerClass = 8 << 20
    /// Sends not yet complete: queued behind others to the same rank, blocked on a full ring, or
    /// waiting for an acknowledgement. In posting order.
    var pendingSends = Slab<PendingSend>(capacity: 64)
    /// Scratch for `advanceSends`: whether an earlier send to each rank is still being written.
    let lineBlocked: UnsafeMutablePointer<Bool>
    var persistents = Slab<PersistentRequest>(capacity: 8)
    /// Acknowledgements not yet written because the ring back to their sender was full.
    var pendingAcknowledgements = Slab<(destination: Int, cookie: UInt64)>(capacity: 16)
    var nextID = 1
    var nextCookie: UInt64 = 1
    var communicators: [CommunicatorInfo?] = []
    /// Freed communicators whose tables pending receives still need (their statuses name
    /// sources by communicator rank); released once none refers to them.
    var retiredCommunicators: [Int] = []
    /// Nonblocking collectives in progress, advanced by every `progress()`.
    var collectives: [CollectiveSchedule] = []
    /// Finished schedules kept for reuse.
    var spareSchedules: [CollectiveSchedule] = []
    /// Staging of nonblocking collectives on packed-travelling datatypes, by schedule id.
    var stagedCollectives: [Int: CollectiveStaging] = [:]
    /// Persistent collectives (MPI-4.1 §6.13) by request id.
    var persistentCollectives: [Int: PersistentCollective] = [:]
    /// World ranks seen to have finalized (they send and receive nothing more), and how many.
    let finalizedPeers: UnsafeMutablePointer<Bool>
    var finalizedCount = 0
    /// Whether this rank has said where it is stuck (see `reportIfAsked`).
    var hasReported = false

    init(segment: JobSegment, rank: Int, useCrossMemory: Bool, peerPids: [pid_t], oversubscribed: Bool) {
        self.segment = segment
        self.rank = rank
        self.size = segment.ranks
        self.useCrossMemory = useCrossMemory
        self.peerPids = peerPids
        self.eagerLimit = useCrossMemory ? (segment.singleCopyThreshold ?? CrossMemory.defaultSingleCopyThreshold) : Int.max
        producers = .allocate(capacity: segment.ranks)
        consumers = .allocate(capacity: segment.ranks)
        fragmentTargets = .allocate(capacity: segment.ranks)
        lineBlocked = .allocate(capacity: segment.ranks)
        lineBlocked.initialize(repeating: false, count: segment.ranks)
        finalizedPeers = .allocate(capacity: segment.ranks)
        finalizedPeers.initialize(repeating: false, count: segment.ranks)
        poolBase = segment.pool(of: 0)
        poolStride = JobSegment.poolBytes(ringBytes: segment.ringBytes)
        poolChunks = segment.poolChunks
        for peer in 0..<segment.ranks {
            (producers + peer).initialize(to: RingProducer(ring: segment.ring(from: rank, to: peer), capacity: segment.ringBytes))
            (consumers + peer).initialize(to: RingConsumer(ring: segment.ring(from: peer, to: rank), capacity: segment.ringBytes))
            (fragmentTargets + peer).initialize(to: .none)
        }
        wakeWords = segment.slotWake(0)
        backoffTemplate = Backoff(
            oversubscribed: oversubscribed, segment: segment, wakeWord: segment.name == nil ? nil : segment.slotWake(rank),
            incoming: consumers, incomingCount: segment.ranks)
        communicators.append(
            CommunicatorInfo(context: 0, members: Array(0..<size), worldSize: size, worldRank: rank))
        communicators.append(CommunicatorInfo(context: 2, members: [rank], worldSize: size, worldRank: rank))
    }

    // MARK: Waking

    /// Wakes `destination` if it sleeps on its wake word (`Backoff`), after a record for it was
    /// published. Costs one load of a line the sleeper alone writes when nobody sleeps. (Without
    /// a fence between the publish and that load a wake can be missed in a window of a few
    /// instructions; the sleeper's timeout bounds what that costs.)
    @inline(__always)
    func wake(_ destination: Int) {
        let word = UnsafeMutableRawPointer(wakeWords).advanced(by: destination * JobSegment.slotBytes)
            .assumingMemoryBound(to: Atomic<UInt32>.self)
        if word.pointee.load(ordering: .relaxed) != 0 && word.pointee.exchange(0, ordering: .relaxed) != 0 {
            _ = swiftmpi_futex_wake(UnsafeMutableRawPointer(word).assumingMemoryBound(to: UInt32.self), Int32.max)
        }
    }

    // MARK: Progress

    /// Handles every record that has arrived; returns whether there was any.
    @inline(__always)
    mutating func progress() throws(MPIError) -> Bool {
        if !pendingAcknowledgements.isEmpty { flushAcknowledgements() }
        var any = false
        if !pendingSends.isEmpty { any = try advanceSends() }
        var source = 0
        while source < size {
            while let record = consumers[source].peek() {
                try handle(record, from: source)
                any = true
            }
            source &+= 1
        }
        if !collectives.isEmpty && advanceCollectives() { any = true }
        return any
    }

    /// Waits, progressing, until `done` holds.
    @inline(__always)
    mutating func wait(for call: BlockedCall, until done: (inout Engine) -> Bool) throws(MPIError) {
        var backoff = backoffTemplate
        while !done(&self) {
            if try progress() { backoff.reset() } else { try idle(&backoff, in: call) }
        }
    }

    /// One idle step of a wait; other threads may use the engine meanwhile. Every so often it
    /// also ends the operations that ranks which have finalized leave waiting forever.
    @inline(__always)
    mutating func idle(_ backoff: inout Backoff, in call: BlockedCall) throws(MPIError) {
        let check: Bool
        if let lock {
            pthread_mutex_unlock(lock)
            defer { pthread_mutex_lock(lock) }
            check = try backoff.idle()
        } else {
            check = try backoff.idle()
        }
        if check {
            try failOperationsOnFinalizedPeers()
            reportIfAsked(call)
        }
    }

    private mutating func handle(_ record: UnsafeMutableRawPointer, from source: Int) throws(MPIError) {
        let kind = Record.Kind(rawValue: record.load(fromByteOffset: Record.kindOffset, as: UInt8.self))
        switch kind {
        case .eager:
            let context = record.load(fromByteOffset: Record.contextOffset, as: UInt32.self)
            let tag = Int(record.load(fromByteOffset: Record.tagOffset, as: Int32.self))
            let total = Int(record.load(fromByteOffset: Record.totalOffset, as: UInt64.self))
            let fragment = Int(record.load(fromByteOffset: Record.fragmentOffset, as: UInt32.self))
            let flags = record.load(fromByteOffset: Record.flagsOffset, as: UInt8.self)
            let cookie = record.load(fromByteOffset: Record.cookieOffset, as: UInt64.self)
            let (payload, recordSize) = try payload(of: record, from: source, fragment: fragment, flags: flags)
            if let index = postedIndex(context: context, source: source, tag: tag) {
                posted[index].matched = true
                posted[index].matchedSource = source
                posted[index].matchedTag = tag
                posted[index].total = total
                deliver(payload, count: fragment, toPosted: index)
                if posted[index].done {
                    fragmentTargets[source] = .none
                } else {
                    fragmentTargets[source] = .posted(id: posted[index].id)
                }
                if flags & Record.needsAcknowledgement != 0 { acknowledge(cookie, to: source) }
            } else {
                let buffer = unexpectedBuffer(total)
                buffer.copyMemory(from: payload, byteCount: fragment)
                let id = takeID()
                unexpected.append(UnexpectedMessage(
                    id: id, source: source, context: context, tag: tag, total: total, kind: .eager,
                    cookie: cookie, needsAcknowledgement: flags & Record.needsAcknowledgement != 0,
                    buffer: buffer, arrived: fragment))
                fragmentTargets[source] = fragment == total ? .none : .unexpected(id: id)
            }
            releasePayload(payload, from: source, flags: flags)
            consumers[source].release(record, size: recordSize)
        case .fragment:
            let fragment = Int(record.load(fromByteOffset: Record.fragmentOffset, as: UInt32.self))
            let flags = record.load(fromByteOffset: Record.flagsOffset, as: UInt8.self)
            let (payload, recordSize) = try payload(of: record, from: source, fragment: fragment, flags: flags)
            switch fragmentTargets[source] {
            case .posted(let id):
                if let index = posted.firstIndex(where: { $0.id == id }) {
                    deliver(payload, count: fragment, toPosted: index)
                    if posted[index].done { fragmentTargets[source] = .none }
                }
            case .unexpected(let id):
                if let index = unexpected.firstIndex(where: { $0.id == id }) {
                    let offset = unexpected[index].arrived
                    (unexpected[index].buffer! + offset).copyMemory(from: payload, byteCount: fragment)
                    unexpected[index].arrived += fragment
                    if unexpected[index].complete { fragmentTargets[source] = .none }
                }
            case .none:
                throw MPIError(.intern, "fragment from rank \(source) without a message in progress")
            }
            releasePayload(payload, from: source, flags: flags)
            consumers[source].release(record, size: recordSize)
        case .readyToSend:
            let context = record.load(fromByteOffset: Record.contextOffset, as: UInt32.self)
            let tag = Int(record.load(fromByteOffset: Record.tagOffset, as: Int32.self))
            let total = Int(record.load(fromByteOffset: Record.totalOffset, as: UInt64.self))
            let cookie = record.load(fromByteOffset: Record.cookieOffset, as: UInt64.self)
            let address = record.load(fromByteOffset: Record.headerBytes, as: UInt.self)
            consumers[source].release(record, size: Record.size(payload: 8))
            if let index = postedIndex(context: context, source: source, tag: tag) {
                posted[index].matched = true
                posted[index].matchedSource = source
                posted[index].matchedTag = tag
                posted[index].total = total
                pull(from: source, address: address, total: total, cookie: cookie, intoPosted: index)
            } else {
                unexpected.append(UnexpectedMessage(
                    id: takeID(), source: source, context: context, tag: tag, total: total, kind: .readyToSend,
                    cookie: cookie, needsAcknowledgement: true, buffer: nil, arrived: 0, remoteAddress: address))
            }
        case .acknowledge:
            let cookie = record.load(fromByteOffset: Record.cookieOffset, as: UInt64.self)
            consumers[source].release(record, size: Record.size(payload: 0))
            if let index = pendingSends.firstIndex(where: { $0.cookie == cookie && $0.started }) {
                pendingSends[index].acknowledged = true
            }
        case .skip:
            consumers[source].releaseSkip(record)
        case nil:
            throw MPIError(.intern, "corrupt record from rank \(source) in the job segment")
        }
    }

    /// Where the payload of eager or fragment record `record` from `source` is — in the record
    /// itself, or in a chunk of the sender's pool — and how many ring bytes the record occupies.
    @inline(__always)
    private func payload(
        of record: UnsafeMutableRawPointer, from source: Int, fragment: Int, flags: UInt8
    ) throws(MPIError) -> (UnsafeRawPointer, Int) {
        guard flags & Record.pooled != 0 else {
            return (UnsafeRawPointer(record + Record.headerBytes), Record.size(payload: fragment))
        }
        let chunk = Int(record.load(fromByteOffset: Record.headerBytes, as: UInt32.self))
        guard chunk < poolChunks, fragment <= JobSegment.chunkPayloadBytes else {
            throw MPIError(.intern, "corrupt pool reference from rank \(source) in the job segment")
        }
        return (UnsafeRawPointer(chunkAddress(chunk, of: source) + JobSegment.chunkHeaderBytes), Record.pooledSize)
    }

    /// Hands a pool chunk whose payload has been copied back to its sender.
    @inline(__always)
    private func releasePayload(_ payload: UnsafeRawPointer, from source: Int, flags: UInt8) {
        guard flags & Record.pooled != 0 else { return }
        let chunk = UnsafeMutableRawPointer(mutating: payload) - JobSegment.chunkHeaderBytes
        JobSegment.atomic(chunk).pointee.store(0, ordering: .releasing)
    }

    /// Chunk `index` of rank `owner`'s pool; its first word is 1 while a fragment is in it.
    @inline(__always)
    private func chunkAddress(_ index: Int, of owner: Int) -> UnsafeMutableRawPointer {
        poolBase + owner &* poolStride + index &* JobSegment.chunkBytes
    }

    /// A chunk of this rank's pool that no receiver holds, searching on from the last one used.
    @inline(__always)
    private func freeChunk() -> Int? {
        var chunk = poolCursor
        var tried = 0
        while tried < poolChunks {
            if JobSegment.atomic(chunkAddress(chunk, of: rank)).pointee.load(ordering: .acquiring) == 0 { return chunk }
            chunk = nextChunk(after: chunk)
            tried &+= 1
        }
        return nil
    }

    /// The chunk after `chunk` in this rank's pool, wrapping around.
    @inline(__always)
    private func nextChunk(after chunk: Int) -> Int { chunk &+ 1 == poolChunks ? 0 : chunk &+ 1 }

    /// The first posted receive that is still unmatched and accepts the message. (The loop reads
    /// single fields through a pointer into the slab: indexing `posted`, or calling a method on an
    /// element, copies the whole engine or element per step in debug builds, which made a few
    /// thousand outstanding receives take seconds.)
    @inline(__always)
    private mutating func postedIndex(context: UInt32, source: Int, tag: Int) -> Int? {
        // The hint holds only if every removal went through `removePosted`.
        assert(firstUnmatched <= posted.count && (firstUnmatched == 0 || posted[firstUnmatched - 1].matched),
            "posted receives were removed without removePosted")
        while firstUnmatched < posted.count && posted[firstUnmatched].matched { firstUnmatched &+= 1 }
        let receives = posted.base
        let count = posted.count
        var index = firstUnmatched
        while index < count {
            let receive = receives + index
            if !receive.pointee.matched && receive.pointee.context == context
                && (receive.pointee.source < 0 || receive.pointee.source == source)
                && (receive.pointee.tag < 0 || receive.pointee.tag == tag) {
                return index
            }
            index &+= 1
        }
        return nil
    }

    /// Copies the next `count` bytes of a message into a posted receive, dropping what does not
    /// fit (the receive then fails with a truncation error).
    @inline(__always)
    private mutating func deliver(_ payload: UnsafeRawPointer, count: Int, toPosted index: Int) {
        let offset = posted[index].arrived
        let room = max(0, posted[index].capacity - offset)
        if count > 0 && room > 0 {
            if posted[index].layout != 0 {
                Engine.copyPacked(
                    layout: posted[index].layout, range: offset, length: min(count, room), user: posted[index].buffer!,
                    packed: UnsafeMutableRawPointer(mutating: payload), unpacking: true)
            } else {
                (posted[index].buffer! + offset).copyMemory(from: payload, byteCount: min(count, room))
            }
        }
        posted[index].arrived = offset + count
        if posted[index].arrived >= posted[index].total { finish(index) }
    }

    private mutating func finish(_ index: Int) {
        if posted[index].total > posted[index].capacity && posted[index].failure == nil {
            posted[index].failure = .truncated(message: posted[index].total, buffer: posted[index].capacity)
        }
        posted[index].done = true
    }

    /// Copies a ready-to-send message straight from the sender, then acknowledges it.
    private mutating func pull(from source: Int, address: UInt, total: Int, cookie: UInt64, intoPosted index: Int) {
        let count = min(total, posted[index].capacity)
        if count > 0 && posted[index].layout != 0 {
            let layout = DatatypeRegistry.layout(posted[index].layout)
            // The sender's bytes are contiguous, the receive's data positions are not: read in
            // chunks and scatter each one.
            let chunk = min(count, 256 << 10)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 64)
            defer { scratch.deallocate() }
            var done = 0
            while done < count {
                let length = min(chunk, count - done)
                let status = CrossMemory.read(from: peerPids[source], remote: address + UInt(done), into: scratch, count: length)
                if status != 0 {
                    posted[index].failure = .copyFailed(errno: status, bytes: count)
                    break
                }
                layout.copyPacked(range: done, length: length, user: posted[index].buffer!, packed: scratch, unpacking: true)
                done += length
            }
        } else if count > 0 {
            let status = CrossMemory.read(
                from: peerPids[source], remote: address, into: posted[index].buffer!, count: count)
            if status != 0 { posted[index].failure = .copyFailed(errno: status, bytes: count) }
        }
        posted[index].arrived = total
        finish(index)
        acknowledge(cookie, to: source)
    }

    // MARK: Sending

    /// A new operation id (receives, sends, schedules and persistent collectives share them).
    mutating func takeID() -> Int {
        defer { nextID &+= 1 }
        return nextID
    }

    @inline(__always)
    private func writeHeader(
        _ record: UnsafeMutableRawPointer, kind: Record.Kind, context: UInt32, tag: Int, total: Int,
        fragment: Int, flags: UInt8, cookie: UInt64
    ) {
        record.storeBytes(of: UInt64(total), toByteOffset: Record.totalOffset, as: UInt64.self)
        record.storeBytes(of: context, toByteOffset: Record.contextOffset, as: UInt32.self)
        record.storeBytes(of: Int32(truncatingIfNeeded: tag), toByteOffset: Record.tagOffset, as: Int32.self)
        record.storeBytes(of: UInt32(fragment), toByteOffset: Record.fragmentOffset, as: UInt32.self)
        record.storeBytes(of: kind.rawValue, toByteOffset: Record.kindOffset, as: UInt8.self)
        record.storeBytes(of: flags, toByteOffset: Record.flagsOffset, as: UInt8.self)
        record.storeBytes(of: cookie, toByteOffset: Record.cookieOffset, as: UInt64.self)
    }

    /// Sends `count` bytes to world rank `destination`; returns once the buffer may be reused
    /// (and, when `synchronous`, once the receiver has matched the message).
    ///
    /// With a `layout` (a datatype whose data does not fill its extent), `bytes` is the caller's
    /// elements and `count` the packed size: each fragment is gathered as it is written, so
    /// packing on this rank overlaps unpacking on the receiver, and no single-copy read is offered.
    mutating func send(
        _ bytes: UnsafeRawPointer?, count: Int, to destination: Int, context: UInt32, tag: Int, synchronous: Bool,
        layout: UInt32 = 0
    ) throws(MPIError) {
        // Fast path: nothing queued, so this message may go straight into the ring.
        if pendingSends.isEmpty && !synchronous && !usesRendezvous(count, to: destination, layout: layout) {
            try writeEager(bytes, count: count, to: destination, context: context, tag: tag, flags: 0, cookie: 0, layout: layout)
            return
        }
        let id = try startSend(
            bytes, count: count, to: destination, context: context, tag: tag, synchronous: synchronous, layout: layout)
        try completeSend(id)
    }

    @inline(__always)
    func usesRendezvous(_ count: Int, to destination: Int, layout: UInt32 = 0) -> Bool {
        useCrossMemory && count > eagerLimit && destination != rank && layout == 0
    }

    /// Copies `count` bytes of a message from `offset` into a record's payload: straight from
    /// `bytes`, or gathered from the caller's elements by `layout`.
    @inline(__always)
    private func copyPayload(
        _ bytes: UnsafeRawPointer?, layout: UInt32, offset: Int, count: Int, into payload: UnsafeMutableRawPointer
    ) {
        if layout != 0 {
            Engine.copyPacked(
                layout: layout, range: offset, length: count, user: UnsafeMutableRawPointer(mutating: bytes!), packed: payload,
                unpacking: false)
        } else {
            payload.copyMemory(from: bytes! + offset, byteCount: count)
        }
    }

    /// Gathers or scatters one fragment by registered layout `layout`: out of line, so the
    /// message paths of plain bytes carry no trace of it.
    @inline(never)
    static func copyPacked(
        layout: UInt32, range start: Int, length: Int, user: UnsafeMutableRawPointer, packed: UnsafeMutableRawPointer,
        unpacking: Bool
    ) {
        DatatypeRegistry.layout(layout).copyPacked(range: start, length: length, user: user, packed: packed, unpacking: unpacking)
    }

    /// Writes a whole eager message, progressing while the ring is full.
    @inline(__always)
    private mutating func writeEager(
        _ bytes: UnsafeRawPointer?, count: Int, to destination: Int, context: UInt32, tag: Int,
        flags: UInt8, cookie: UInt64, layout: UInt32
    ) throws(MPIError) {
        var offset = 0
        var kind = Record.Kind.eager
        var backoff: Backoff? = nil
        while true {
            if let written = writeFragment(
                kind: kind, bytes, layout: layout, from: offset, of: count, to: destination, context: context,
                tag: tag, flags: flags, cookie: cookie)
            {
                offset += written
                if offset >= count { return }
                kind = .fragment
            } else {
                if finalizedPeers[destination] { throw finalizedReceiver(destination, context: context, tag: tag) }
                if backoff == nil { backoff = backoffTemplate }
                if try progress() {
                    backoff!.reset()
                } else {
                    try idle(&backoff!, in: .eagerSend(destination: destination, context: context, tag: tag, bytes: count))
                }
            }
        }
    }

    /// Writes the next fragment of a message of `count` bytes, from byte `offset`, into the ring
    /// to `destination`: in the record itself, or — when the rest does not fit one record and the
    /// rings are smaller than a pool chunk — in a free chunk of this rank's pool (inline after
    /// all when every chunk is taken). Returns the payload bytes written, or `nil` when the ring
    /// has no room.
    @inline(__always)
    private mutating func writeFragment(
        kind: Record.Kind, _ bytes: UnsafeRawPointer?, layout: UInt32, from offset: Int, of count: Int,
        to destination: Int, context: UInt32, tag: Int, flags: UInt8, cookie: UInt64
    ) -> Int? {
        let maxPayload = producers[destination].maxPayload
        if count - offset > maxPayload && poolChunks > 0, let chunk = freeChunk() {
            guard let record = producers[destination].reserve(Record.pooledSize) else { return nil }
            let fragment = min(count - offset, JobSegment.chunkPayloadBytes)
            let address = chunkAddress(chunk, of: rank)
            JobSegment.atomic(address).pointee.store(1, ordering: .relaxed)
            copyPayload(bytes, layout: layout, offset: offset, count: fragment,
                into: address + JobSegment.chunkHeaderBytes)
            writeHeader(record, kind: kind, context: context, tag: tag, total: count, fragment: fragment,
                flags: flags | Record.pooled, cookie: cookie)
            record.storeBytes(of: UInt32(chunk), toByteOffset: Record.headerBytes, as: UInt32.self)
            producers[destination].publish(record, size: Record.pooledSize)
            wake(destination)
            poolCursor = nextChunk(after: chunk)
            return fragment
        }
        let fragment = min(count - offset, maxPayload)
        let size = Record.size(payload: fragment)
        guard let record = producers[destination].reserve(size) else { return nil }
        writeHeader(record, kind: kind, context: context, tag: tag, total: count, fragment: fragment,
            flags: flags, cookie: cookie)
        if fragment > 0 { copyPayload(bytes, layout: layout, offset: offset, count: fragment, into: record + Record.headerBytes) }
        producers[destination].publish(record, size: size)
        wake(destination)
        return fragment
    }

    /// Writes a single-record eager message at once if nothing is queued and the ring has room;
    /// returns whether it did (the send is then complete).
    @inline(__always)
    mutating func sendEagerIfRoom(
        _ bytes: UnsafeRawPointer?, count: Int, to destination: Int, context: UInt32, tag: Int, layout: UInt32 = 0
    ) -> Bool {
        guard pendingSends.isEmpty, count <= producers[destination].maxPayload,
            !usesRendezvous(count, to: destination, layout: layout)
        else { return false }
        let size = Record.size(payload: count)
        guard let record = producers[destination].reserve(size) else { return false }
        writeHeader(record, kind: .eager, context: context, tag: tag, total: count, fragment: count, flags: 0, cookie: 0)
        if count > 0 { copyPayload(bytes, layout: layout, offset: 0, count: count, into: record + Record.headerBytes) }
        producers[destination].publish(record, size: size)
        wake(destination)
        return true
    }

    /// Starts a send without ever waiting: writes a message that fits one record into the ring
    /// right away when nothing is queued ahead of it and there is room (returning `nil`: done),
    /// else queues it (returning its id, for `sendIndex`/`sendDone`).
    mutating func sendWithoutWaiting(
        _ bytes: UnsafeRawPointer?, count: Int, to destination: Int, context: UInt32, tag: Int
    ) throws(MPIError) -> Int? {
        if sendEagerIfRoom(bytes, count: count, to: destination, context: context, tag: tag) { return nil }
        return try startSend(bytes, count: count, to: destination, context: context, tag: tag, synchronous: false)
    }

    /// Queues a send and starts writing it if nothing is ahead of it; returns its id.
    mutating func startSend(
        _ bytes: UnsafeRawPointer?, count: Int, to destination: Int, context: UInt32, tag: Int, synchronous: Bool,
        layout: UInt32 = 0
    ) throws(MPIError) -> Int {
        let id = takeID()
        let rendezvous = usesRendezvous(count, to: destination, layout: layout)
        var cookie: UInt64 = 0
        if synchronous || rendezvous {
            cookie = nextCookie
            nextCookie &+= 1
        }
        pendingSends.append(PendingSend(
            id: id, destination: destination, bytes: bytes, count: count, context: context, layout: layout, tag: tag,
            cookie: cookie, rendezvous: rendezvous, needsAcknowledgement: synchronous || rendezvous))
        _ = try advanceSends()
        return id
    }

    /// Writes what the rings have room for, in posting order per destination; returns whether
    /// any send moved.
    private mutating func advanceSends() throws(MPIError) -> Bool {
        var moved = false
        for peer in 0..<size { lineBlocked[peer] = false }
        var index = 0
        while index < pendingSends.count {
            let destination = pendingSends[index].destination
            if pendingSends[index].written || lineBlocked[destination] {
                index &+= 1
                continue
            }
            if advance(index) { moved = true }
            if !pendingSends[index].written { lineBlocked[destination] = true }
            index &+= 1
        }
        return moved
    }

    /// Writes as much of pending send `index` as fits; returns whether anything was written.
    private mutating func advance(_ index: Int) -> Bool {
        let send = pendingSends[index]
        if send.rendezvous {
            let size = Record.size(payload: 8)
            guard let record = producers[send.destination].reserve(size) else { return false }
            writeHeader(record, kind: .readyToSend, context: send.context, tag: send.tag, total: send.count,
                fragment: 8, flags: Record.needsAcknowledgement, cookie: send.cookie)
            record.storeBytes(of: UInt(bitPattern: send.bytes), toByteOffset: Record.headerBytes, as: UInt.self)
            producers[send.destination].publish(record, size: size)
            wake(send.destination)
            pendingSends[index].started = true
            pendingSends[index].written = true
            return true
        }
        var offset = send.offset
        var moved = false
        while let written = writeFragment(
            kind: pendingSends[index].started ? .fragment : .eager, send.bytes, layout: send.layout, from: offset,
            of: send.count, to: send.destination, context: send.context, tag: send.tag,
            flags: send.needsAcknowledgement ? Record.needsAcknowledgement : 0, cookie: send.cookie)
        {
            offset += written
            pendingSends[index].started = true
            moved = true
            if offset >= send.count { break }
        }
        pendingSends[index].offset = offset
        if offset >= send.count && pendingSends[index].started { pendingSends[index].written = true }
        return moved
    }

    /// Index of pending send `id`.
    @inline(__always)
    func sendIndex(_ id: Int) -> Int? { pendingSends.firstIndex { $0.id == id } }

    /// Whether pending send `id` is complete: all written and, if needed, acknowledged.
    @inline(__always)
    func sendDone(_ index: Int) -> Bool {
        pendingSends[index].written && (!pendingSends[index].needsAcknowledgement || pendingSends[index].acknowledged)
            || pendingSends[index].receiverFinalized
    }

    /// Removes completed pending send `index`, throwing its failure if it has one.
    @inline(__always)
    mutating func retireSend(at index: Int) throws(MPIError) {
        let send = pendingSends.remove(at: index)
        if send.receiverFinalized { throw finalizedReceiver(send.destination, context: send.context, tag: send.tag) }
    }

    /// Waits for pending send `id` and removes it. (Other threads may remove entries while
    /// this one idles, so the index is looked up again each time.)
    mutating func completeSend(_ id: Int) throws(MPIError) {
        try wait(for: .send(id)) { engine in engine.sendIndex(id).map { engine.sendDone($0) } ?? true }
        if let index = sendIndex(id) { try retireSend(at: index) }
    }

    private mutating func acknowledge(_ cookie: UInt64, to destination: Int) {
        let size = Record.size(payload: 0)
        guard let record = producers[destination].reserve(size) else {
            pendingAcknowledgements.append((destination, cookie))
            return
        }
        writeHeader(record, kind: .acknowledge, context: 0, tag: 0, total: 0, fragment: 0, flags: 0, cookie: cookie)
        producers[destination].publish(record, size: size)
        wake(destination)
    }

    private mutating func flushAcknowledgements() {
        var remaining = pendingAcknowledgements.count
        while remaining > 0 {
            let (destination, cookie) = pendingAcknowledgements.remove(at: 0)
            acknowledge(cookie, to: destination)
            remaining -= 1
        }
    }

    // MARK: Receiving

    /// Posts a receive: matches it against the unexpected queue first, else queues it. Returns
    /// its id for `completeReceive`.
    mutating func postReceive(
        into buffer: UnsafeMutableRawPointer?, capacity: Int, from source: Int, context: UInt32, tag: Int,
        communicator: Int = 0, layout: UInt32 = 0
    ) -> Int {
        let id = takeID()
        var receive = PostedReceive(
            id: id, context: context, source: source, tag: tag, buffer: buffer, capacity: capacity)
        receive.communicator = communicator
        if layout != 0 { receive.layout = layout }
        if let index = unexpected.firstIndex(where: { $0.matches(context: context, source: source, tag: tag) }) {
            adopt(unexpectedAt: index, into: receive)
        } else {
            posted.append(receive)
        }
        return id
    }

    /// Posts a receive of the message a matched probe claimed (unexpected message `message`);
    /// returns its id for `completeReceive`, or `nil` if no such message is claimed.
    mutating func postMatchedReceive(
        message: Int, into buffer: UnsafeMutableRawPointer?, capacity: Int, layout: UInt32 = 0
    ) -> Int? {
        guard let index = unexpected.firstIndex(where: { $0.id == message && $0.claimed }) else { return nil }
        let id = takeID()
        let claimed = unexpected[index]
        var receive = PostedReceive(
            id: id, context: claimed.context, source: claimed.source, tag: claimed.tag, buffer: buffer, capacity: capacity)
        receive.communicator = claimed.claimedBy
        if layout != 0 { receive.layout = layout }
        adopt(unexpectedAt: index, into: receive)
        return id
    }

    /// Matches posted receive `receive` with unexpected message `index`: copies what has
    /// arrived (or pulls a ready-to-send message) and routes its further fragments to it.
    private mutating func adopt(unexpectedAt index: Int, into receive: PostedReceive) {
        var receive = receive
        let message = unexpected.remove(at: index)
        receive.matched = true
        receive.matchedSource = message.source
        receive.matchedTag = message.tag
        receive.total = message.total
        posted.append(receive)
        let last = posted.count - 1
        switch message.kind {
        case .readyToSend:
            pull(from: message.source, address: message.remoteAddress, total: message.total,
                cookie: message.cookie, intoPosted: last)
        default:
            if message.total == 0 {
                finish(last)
            } else {
                deliver(message.buffer!, count: message.arrived, toPosted: last)
            }
            releaseUnexpectedBuffer(message.buffer, total: message.total)
            if !message.complete { fragmentTargets[message.source] = .posted(id: receive.id) }
            if message.needsAcknowledgement { acknowledge(message.cookie, to: message.source) }
        }
    }

    /// The size class of an unexpected message of `total` bytes, or `nil` above the largest.
    @inline(__always)
    static func pooledClass(_ total: Int) -> Int? {
        let shift = max(Int.bitWidth - (max(total, 1) - 1).leadingZeroBitCount, smallestPooledShift)
        let sizeClass = shift - smallestPooledShift
        return sizeClass <= largestPooledClass ? sizeClass : nil
    }

    /// Room for an unexpected message of `total` bytes: a pooled buffer of its size class.
    @inline(__always)
    mutating func unexpectedBuffer(_ total: Int) -> UnsafeMutableRawPointer {
        guard let sizeClass = Engine.pooledClass(total) else { return malloc(total)! }
        if !pooledBuffers[sizeClass].isEmpty { return pooledBuffers[sizeClass].remove(at: pooledBuffers[sizeClass].count - 1) }
        return malloc(1 << (sizeClass + Engine.smallestPooledShift))!
    }

    /// Gives back the buffer of an unexpected message of `total` bytes once it is delivered.
    @inline(__always)
    mutating func releaseUnexpectedBuffer(_ buffer: UnsafeMutableRawPointer?, total: Int) {
        guard let buffer else { return }
        if let sizeClass = Engine.pooledClass(total),
            pooledBuffers[sizeClass].count < max(2, Engine.pooledBytesPerClass >> (sizeClass + Engine.smallestPooledShift))
        {
            pooledBuffers[sizeClass].append(buffer)
        } else {
            free(buffer)
        }
    }

    /// Waits for the posted receive `id` and removes it from the queue.
    mutating func completeReceive(_ id: Int) throws(MPIError) -> PostedReceive {
        try wait(for: .receive(id)) { engine in engine.receiveIndex(id).map { engine.posted[$0].done } ?? true }
        let receive = removePosted(at: receiveIndex(id)!)
        if case .peersFinalized = receive.failure { throw finalizedError(for: receive) }
        return receive
    }

    /// Removes a completed receive from the posted queue.
    @inline(__always)
    mutating func removePosted(at index: Int) -> PostedReceive {
        if index < firstUnmatched { firstUnmatched -= 1 }
        return posted.remove(at: index)
    }

    /// Index of posted receive `id`.
    @inline(__always)
    func receiveIndex(_ id: Int) -> Int? { posted.firstIndex { $0.id == id } }

    /// Cancels posted receive `id` unless a message already matched it.
    mutating func cancelReceive(_ id: Int) {
        guard let index = receiveIndex(id), !posted[index].matched else { return }
        posted[index].matched = true
        posted[index].cancelled = true
        posted[index].done = true
    }

    /// The first unexpected message matching, after draining what has arrived. With `claim`
    /// (a matched probe, for communicator handle `communicator`) the message is taken out of
    /// matching: only `postMatchedReceive` gets it.
    mutating func probe(
        source: Int, context: UInt32, tag: Int, blocking: Bool, claimFor communicator: Int? = nil
    ) throws(MPIError) -> UnexpectedMessage? {
        var found: Int?
        var hopeless = false
        func look(_ engine: inout Engine) -> Bool {
            if let index = engine.unexpected.firstIndex(where: { $0.matches(context: context, source: source, tag: tag) }) {
                found = index
            } else if engine.finalizedCount > 0 {
                hopeless = engine.isHopeless(source: source, context: context)
            }
            return found != nil || hopeless
        }
        _ = try progress()
        if !look(&self) {
            guard blocking else { return nil }
            try wait(for: .probe(source: source, context: context, tag: tag), until: look)
        }
        guard let found else {
            guard blocking else { return nil }
            throw unmatchable(source: source, context: context, tag: tag, what: "probe")
                ?? MPIError(.processFailed, "the ranks this probe depends on have finalized")
        }
        if let communicator { unexpected[found].claimedBy = communicator }
        return unexpected[found]
    }
}
