@testable import MPISharedMemory
import Testing

/// In-process checks of the single-producer/single-consumer ring over a private segment.
@Suite("Ring")
struct RingTests {
    /// Writes records of varied sizes through a small ring, many laps, reading each back.
    @Test func recordsSurviveManyLapsWithWrapAround() throws {
        let segment = try JobSegment(privateRingBytes: 1 << 12)
        defer { segment.detach() }
        var producer = RingProducer(ring: segment.ring(from: 0, to: 0), capacity: segment.ringBytes)
        var consumer = RingConsumer(ring: segment.ring(from: 0, to: 0), capacity: segment.ringBytes)
        #expect(consumer.peek() == nil)
        var seed: UInt64 = 12345
        for round in 0..<5_000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let payload = Int(seed >> 33) % (producer.maxPayload + 1)
            let size = Record.size(payload: payload)
            let reserved = producer.reserve(size)
            let record = try #require(reserved)
            record.storeBytes(of: UInt32(payload), toByteOffset: Record.fragmentOffset, as: UInt32.self)
            record.storeBytes(of: Record.Kind.eager.rawValue, toByteOffset: Record.kindOffset, as: UInt8.self)
            for offset in 0..<payload { record.storeBytes(of: UInt8(truncatingIfNeeded: round &+ offset), toByteOffset: Record.headerBytes + offset, as: UInt8.self) }
            producer.publish(record, size: size)

            var got = try #require(consumer.peek())
            if got.load(fromByteOffset: Record.kindOffset, as: UInt8.self) == Record.Kind.skip.rawValue {
                consumer.releaseSkip(got)
                got = try #require(consumer.peek())
            }
            let length = Int(got.load(fromByteOffset: Record.fragmentOffset, as: UInt32.self))
            #expect(length == payload)
            for offset in stride(from: 0, to: length, by: 97) {
                #expect(got.load(fromByteOffset: Record.headerBytes + offset, as: UInt8.self) == UInt8(truncatingIfNeeded: round &+ offset))
            }
            consumer.release(got, size: Record.size(payload: length))
            #expect(consumer.peek() == nil, "a stale record looked valid after round \(round)")
        }
    }

    /// The producer refuses to overwrite what the consumer has not released.
    @Test func aFullRingRefusesMore() throws {
        let segment = try JobSegment(privateRingBytes: 1 << 12)
        defer { segment.detach() }
        var producer = RingProducer(ring: segment.ring(from: 0, to: 0), capacity: segment.ringBytes)
        var consumer = RingConsumer(ring: segment.ring(from: 0, to: 0), capacity: segment.ringBytes)
        let size = Record.size(payload: 0)
        for _ in 0..<(segment.ringBytes / size) {
            let reserved = producer.reserve(size)
            let record = try #require(reserved)
            producer.publish(record, size: size)
        }
        #expect(producer.reserve(size) == nil)
        let first = try #require(consumer.peek())
        consumer.release(first, size: size)
        #expect(producer.reserve(size) != nil)
    }
}
