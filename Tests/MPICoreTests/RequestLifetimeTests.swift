import MPICore
import Testing

@Suite("Requests keep their memory safe")
struct RequestLifetimeTests: RecordingFixture {
    let backend = RecordingBackend()

    @Test func droppingAPendingRequestWaitsForIt() throws {
        do {
            let request = try world.immediateSend([1, 2, 3], to: 2, tag: 5)
            _ = consume request
        }
        #expect(backend.calls.count == 2 && backend.calls[0].hasPrefix("immediateSend") && backend.calls[1].hasPrefix("wait"))
    }

    @Test func aCompletedRequestIsNotWaitedForAgain() throws {
        var request = try world.immediateSend([1.0], to: 0)
        try request.wait()
        try request.wait()
        _ = consume request
        #expect(backend.calls.filter { $0.hasPrefix("wait") }.count == 1)
    }

    @Test func aBufferLentToAReceiveCannotBeLentAgainUntilItCompletes() throws {
        let buffer = MessageBuffer<Int32>(repeating: 0, count: 4)
        var receive = try world.immediateReceive(into: buffer, from: 0, tag: 1)
        #expect(buffer.isLent)
        do {
            _ = try world.immediateSend(buffer, to: 2)
            Issue.record("sending from a buffer with a pending receive succeeded")
        } catch {
            #expect(error.errorClass == .buffer)
        }
        try receive.wait()
        #expect(!buffer.isLent)
        var send = try world.immediateSend(buffer, to: 2)
        var second = try world.immediateSend(buffer, to: 0)
        #expect(buffer.isLent)
        try send.wait()
        try second.wait()
        #expect(!buffer.isLent)
    }

    @Test func nullProcessRequestsCompleteWithoutTheBackend() throws {
        var request = try world.immediateSend([1], to: Communicator.nullProcess)
        #expect(try request.test() == Status.null)
        #expect(backend.calls.isEmpty)
    }

    @Test func persistentRequestsLendPerStartAndAreReleased() throws {
        let buffer = MessageBuffer<UInt8>(repeating: 7, count: 16)
        do {
            var request = try world.persistentReceive(into: buffer, from: 0, tag: 3)
            #expect(!buffer.isLent)
            try request.start()
            #expect(buffer.isLent)
            try request.wait()
            #expect(!buffer.isLent)
            try request.start()
            try request.wait()
            _ = consume request
        }
        #expect(backend.calls.map { $0.split(separator: " ").first! } == ["persistentReceive", "start", "wait", "start", "wait", "release"])
    }

    @Test func requestListWaitsForEachRequestOnce() throws {
        var list = RequestList()
        list.add(try world.immediateSend([1], to: 0))
        list.add(try world.immediateSend([2], to: 2))
        list.add(try world.immediateReceive(into: MessageBuffer<Int>(repeating: 0, count: 1), from: 0))
        #expect(list.pendingCount == 3)
        let first = try list.waitAny()
        #expect(first?.index == 0)
        let second = try list.waitAny()
        #expect(second?.index == 1)
        try list.waitAll()
        #expect(list.pendingCount == 0)
        #expect(try list.waitAny() == nil)
        #expect(backend.calls.filter { $0.hasPrefix("wait") }.count == 3)
    }

    @Test func withRequestsWaitsEvenWhenTheBodyThrows() throws {
        struct Boom: Error {}
        let buffer = MessageBuffer<Double>(repeating: 0, count: 2)
        #expect(throws: Boom.self) {
            try world.withRequests { (list: inout RequestList) throws(any Error) in
                list.add(try world.immediateReceive(into: buffer, from: 0))
                throw Boom()
            }
        }
        #expect(!buffer.isLent)
        #expect(backend.calls.count == 2 && backend.calls[1].hasPrefix("wait"))
    }
}
