import MPICore
import Testing

@Suite("Status")
struct StatusTests {
    @Test func countOfWholeElements() {
        let status = Status(source: 1, tag: 2, byteCount: 24)
        #expect(status.count(of: Double.self) == 3)
        #expect(status.count(of: Int32.self) == 6)
        #expect(status.count(of: UInt8.self) == 24)
        #expect(status.count(of: Bool.self) == 24)
        #expect(Status(source: 0, tag: 0, byteCount: 6).count(of: Int32.self) == nil)
        #expect(Status(source: 0, tag: 0, byteCount: 6).count(of: Int16.self) == 3)
    }

    @Test func emptyMessagesCountZeroOfAnything() {
        let status = Status(source: 0, tag: 0, byteCount: 0)
        #expect(status.count(of: Double.self) == 0)
        #expect(status.count(of: Int8.self) == 0)
    }

    @Test func countsBeyondTwoGigabytes() {
        let bytes = (1 << 31) + 1000
        let status = Status(source: 0, tag: 0, byteCount: bytes)
        #expect(status.count(of: UInt8.self) == bytes)
        #expect(status.count(of: Int64.self) == bytes / 8)
        #expect(Status(source: 0, tag: 0, byteCount: bytes + 1).count(of: Int16.self) == nil)
    }

    @Test func nullStatus() {
        #expect(Status.null.source == Communicator.nullProcess)
        #expect(Status.null.tag == Communicator.anyTag)
        #expect(Status.null.byteCount == 0)
        #expect(Status.null.error == nil)
        #expect(Status.null.count(of: Int.self) == 0)
    }

    @Test func description() {
        #expect(Status(source: 3, tag: 9, byteCount: 16).description == "Status(source: 3, tag: 9, bytes: 16)")
        #expect(
            Status(source: 1, tag: 2, error: .truncate, byteCount: 4).description
                == "Status(source: 1, tag: 2, bytes: 4, error: truncate)")
    }
}
