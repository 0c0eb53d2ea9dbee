import Synchronization

/// Layout of a record in a ring. A record is one or more whole 64-byte cells; its first 8 bytes
/// are a stamp equal to the record's cell index + 1, stored last with release ordering, so a
/// consumer that sees the stamp sees the whole record. The consumer zeroes every cell's stamp
/// word when it releases a record, so leftover payload can never pass for a stamp next lap.
package enum Record {
    package static let cellBytes = 64
    package static let headerBytes = 40

    // Header field offsets.
    static let stampOffset = 0
    static let totalOffset = 8        // UInt64: message bytes (all fragments)
    static let contextOffset = 16     // UInt32
    static let tagOffset = 20         // Int32
    static let fragmentOffset = 24    // UInt32: payload bytes in this record
    static let kindOffset = 28        // UInt8
    static let flagsOffset = 29       // UInt8
    static let cookieOffset = 32      // UInt64: sender's id for acknowledgements

    package enum Kind: UInt8 {
        /// First (often only) fragment of a message whose bytes travel through the ring.
        case eager = 1
        /// A further fragment of the message the previous record from this sender began.
        case fragment = 2
        /// Ready to send: the receiver copies the payload straight from the sender's memory.
        case readyToSend = 3
        /// Receiver to sender: the message with this cookie was matched (and copied, if RTS).
        case acknowledge = 4
        /// Filler to the end of the ring; the next record starts at offset 0.
        case skip = 5
    }

    /// The sender waits for an acknowledgement (synchronous mode).
    static let needsAcknowledgement: UInt8 = 1
    /// The fragment's payload is in a chunk of the sender's pool, whose index (`UInt32`) is the
    /// record's 8-byte payload; the receiver frees the chunk once it has copied it.
    static let pooled: UInt8 = 2
    /// Ring bytes of a record whose payload is in a pool chunk (the header and the chunk index).
    static let pooledSize = size(payload: 8)

    @inline(__always)
    static func size(payload: Int) -> Int {
        (headerBytes + payload + cellBytes - 1) & ~(cellBytes - 1)
    }
}

/// The producer end of a single-producer/single-consumer ring in the job segment. Its position is
/// private to the producing process; the consumer's position lives in the ring's control block.
package struct RingProducer {
    let head: UnsafeMutablePointer<Atomic<Int>>
    let data: UnsafeMutableRawPointer
    let capacity: Int
    var tail = 0
    var cachedHead = 0

    package init(ring: UnsafeMutableRawPointer, capacity: Int) {
        head = ring.assumingMemoryBound(to: Atomic<Int>.self)
        data = ring + JobSegment.ringControlBytes
        self.capacity = capacity
    }

    /// The largest payload a single record may carry in this ring.
    package var maxPayload: Int { capacity / 4 - Record.headerBytes }

    /// Space for a record of `size` bytes (a multiple of the cell size, at most a quarter of the
    /// ring), or `nil` while the consumer has not freed enough.
    @inline(__always)
    package mutating func reserve(_ size: Int) -> UnsafeMutableRawPointer? {
        let offset = tail & (capacity - 1)
        let filler = offset + size > capacity ? capacity - offset : 0
        if tail + filler + size - cachedHead > capacity {
            cachedHead = head.pointee.load(ordering: .acquiring)
            if tail + filler + size - cachedHead > capacity { return nil }
        }
        if filler > 0 {
            let record = data + offset
            record.storeBytes(of: Record.Kind.skip.rawValue, toByteOffset: Record.kindOffset, as: UInt8.self)
            stamp(record)
            tail += filler
            return data
        }
        return data + offset
    }

    /// Publishes the record at `record` (returned by `reserve`) of `size` bytes.
    @inline(__always)
    package mutating func publish(_ record: UnsafeMutableRawPointer, size: Int) {
        stamp(record)
        tail += size
    }

    @inline(__always)
    private func stamp(_ record: UnsafeMutableRawPointer) {
        record.assumingMemoryBound(to: Atomic<Int>.self).pointee
            .store(tail / Record.cellBytes + 1, ordering: .releasing)
    }
}

/// The consumer end of a ring.
package struct RingConsumer {
    let head: UnsafeMutablePointer<Atomic<Int>>
    let data: UnsafeMutableRawPointer
    let capacity: Int
    var position = 0

    package init(ring: UnsafeMutableRawPointer, capacity: Int) {
        head = ring.assumingMemoryBound(to: Atomic<Int>.self)
        data = ring + JobSegment.ringControlBytes
        self.capacity = capacity
    }

    /// The next record, if the producer has published one.
    @inline(__always)
    package func peek() -> UnsafeMutableRawPointer? {
        let record = data + (position & (capacity - 1))
        let stamp = record.assumingMemoryBound(to: Atomic<Int>.self).pointee.load(ordering: .acquiring)
        return stamp == position / Record.cellBytes + 1 ? record : nil
    }

    /// Whether a record waits at the position the consumer last released, reading shared memory
    /// only, so a rank about to sleep can look without holding its engine (another thread of the
    /// rank releasing meanwhile can make it answer `false`; the sleep then ends at its timeout).
    @inline(__always)
    package func hasWaitingRecord() -> Bool {
        let at = head.pointee.load(ordering: .acquiring)
        let record = data + (at & (capacity - 1))
        return record.assumingMemoryBound(to: Atomic<Int>.self).pointee.load(ordering: .acquiring) == at / Record.cellBytes + 1
    }

    /// Frees the record at the head, `size` bytes long, for the producer to reuse.
    @inline(__always)
    package mutating func release(_ record: UnsafeMutableRawPointer, size: Int) {
        var cell = 0
        while cell < size {
            (record + cell).storeBytes(of: 0, as: Int.self)
            cell &+= Record.cellBytes
        }
        position += size
        head.pointee.store(position, ordering: .releasing)
    }

    /// Frees a skip record: the rest of the ring up to its end.
    @inline(__always)
    package mutating func releaseSkip(_ record: UnsafeMutableRawPointer) {
        release(record, size: capacity - (position & (capacity - 1)))
    }
}
