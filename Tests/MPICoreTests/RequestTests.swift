import MPICore
import Testing

/// Request bookkeeping in the public API, against the recording backend (whose requests complete
/// when first waited for).
@Suite("Requests")
struct RequestTests: RecordingFixture {
    let backend = RecordingBackend()

    @Test func failedOperationCompletesItsRequest() throws {
        let buffer = MessageBuffer<Int32>(repeating: 0, count: 4)
        do {
            var request = try world.immediateReceive(into: buffer, from: 0, tag: 1)
            #expect(buffer.isLent)
            backend.failing = [3]
            do {
                try request.wait()
                Issue.record("a failing receive did not throw")
            } catch {
                #expect(error.errorClass == .truncate)
            }
            let complete = request.isComplete
            #expect(complete && !buffer.isLent)
            let status = try request.wait()
            #expect(status.error == .truncate)
        }
        // Neither the second wait nor dropping the request reaches the backend again.
        #expect(backend.calls == ["immediateReceive 4 int32 from 0 tag 1 -> 3", "wait 3"])
    }

    @Test func failedPersistentActivationCanStartAgain() throws {
        let buffer = MessageBuffer<Int64>(repeating: 0, count: 2)
        do {
            var request = try world.persistentReceive(into: buffer, from: 2, tag: 5)
            try request.start()
            backend.failing = [3]
            do {
                _ = try request.test()
                Issue.record("a failing activation did not throw")
            } catch {
                #expect(error.errorClass == .truncate)
            }
            let complete = request.isComplete
            #expect(complete && !buffer.isLent)
            backend.failing = []
            try request.start()
            #expect(buffer.isLent)
            try request.wait()
        }
        #expect(backend.calls == [
            "persistentReceive 2 int64 from 2 tag 5 -> 3", "start 3", "wait 3", "start 3", "wait 3", "release 3",
        ])
    }

    @Test func waitAnyNamesTheFailedRequest() throws {
        let buffer = MessageBuffer<Int8>(repeating: 0, count: 1)
        var list = RequestList()
        list.add(try world.immediateReceive(into: buffer, from: 0))
        list.add(try world.immediateSend([1, 2], to: 2))
        backend.failing = [3]
        do {
            _ = try list.waitAny()
            Issue.record("waitAny did not throw the failed receive's error")
        } catch {
            #expect(error.errorClass == .truncate)
        }
        #expect(list.status(at: 0)?.error == .truncate && list.pendingCount == 1 && !buffer.isLent)
        let next = try list.waitAny()
        #expect(next?.index == 1 && next?.status.error == nil)
        #expect(try list.waitAny() == nil)
        #expect(try list.waitAll().map(\.error) == [.truncate, nil])
    }

    @Test func nullProcessRequestsNeverReachTheBackend() throws {
        let null = Communicator.nullProcess
        var send = try world.immediateSend([1, 2], to: null)
        let sendComplete = send.isComplete
        #expect(sendComplete)
        let sendStatus = try send.wait()
        #expect(sendStatus == .null)
        let buffer = MessageBuffer<Int16>(repeating: 7, count: 1)
        var receive = try world.immediateReceive(into: buffer, from: null)
        #expect(!buffer.isLent)
        let receiveStatus = try receive.test()
        #expect(receiveStatus == .null)
        #expect(buffer[0] == 7)
        let array = try world.immediateReceiveArray(of: Int64.self, count: 3, from: null)
        let (values, status) = try array.wait()
        #expect(values.isEmpty && status == .null)
        var persistent = try world.persistentSend(buffer, to: null)
        try persistent.start()
        #expect(try persistent.wait() == .null)
        #expect(backend.calls.isEmpty)
    }
}
