import MPICore
import Testing

@Suite("Collective argument checks before the backend")
struct CollectiveValidationTests: RecordingFixture {
    let backend = RecordingBackend()

    @Test func rootsMustBeRanks() {
        expectError(.root, mentioning: "root 3") { () throws(MPIError) in _ = try world.broadcast(1, root: 3) }
        expectError(.root, mentioning: "root -1") { () throws(MPIError) in _ = try world.reduce([1], op: .sum, root: -1) }
        expectError(.root, mentioning: "root 7") { () throws(MPIError) in _ = try world.gather(1, root: 7) }
        #expect(backend.calls.isEmpty)
    }

    @Test func buffersMustHoldTheData() {
        let three = [1, 2, 3]
        expectError(.count, mentioning: "does not split into 3") { () throws(MPIError) in _ = try world.allToAll([1, 2]) }
        expectError(.count, mentioning: "4 counts for 3 ranks") { () throws(MPIError) in
            _ = try world.allGatherv([1], counts: [1, 1, 1, 1])
        }
        expectError(.count, mentioning: "counts[1] is 2") { () throws(MPIError) in _ = try world.allGatherv([1], counts: [1, 2, 1]) }
        expectError(.count, mentioning: "counts[0] is -1") { () throws(MPIError) in _ = try world.allGatherv([1], counts: [-1, 1, 1]) }
        expectError(.count, mentioning: "too small") { () throws(MPIError) in
            var small = [0, 0]
            try world.allReduce(three, into: &small, op: .sum)
        }
        expectError(.argument, mentioning: "displacements[2] is -4") { () throws(MPIError) in
            var buffer = [0, 0, 0]
            try world.allGatherv(.inPlace(), into: &buffer, counts: [1, 1, 1], displacements: [0, 1, -4])
        }
        #expect(backend.calls.isEmpty)
    }

    @Test func whatReachesTheBackend() throws {
        _ = try world.allReduce([1.0, 2.0], op: .sum)
        var values: [Int32] = [1, 2, 3]
        try world.allGather(.inPlace(), into: &values)
        var gathered = [Int8](repeating: 0, count: 3)
        try world.gatherv([Int8(1)], into: &gathered, counts: [2, 1, 0], root: 1)
        _ = try world.scatter([UInt16](), count: 2, root: 0)
        try world.barrier()
        #expect(backend.calls == [
            "allReduce 2 float64",
            "allGather 1 int32 in place",
            "gatherv 1 int8 root 1 counts [2, 1, 0] displacements [0, 2, 3]",
            "scatter 2 uint16 root 0",
            "barrier",
        ])
    }

    @Test func nonblockingCollectivesLendTheirBuffers() throws {
        let buffer = MessageBuffer(repeating: 1.5, count: 3)
        var request = try world.immediateAllReduce(.inPlace(), into: buffer, op: .max)
        #expect(buffer.isLent)
        expectError(.buffer, mentioning: "MessageBuffer") { () throws(MPIError) in _ = try world.immediateBroadcast(buffer, root: 0) }
        try request.wait()
        #expect(!buffer.isLent)
        let result = try world.immediateAllGather([Int16(4)])
        #expect(try result.wait() == [0, 0, 0])
        #expect(backend.calls.filter { !$0.hasPrefix("wait") } == ["immediate allReduce 3 float64 in place", "immediate allGather 1 int16"])
        #expect(backend.calls.filter { $0.hasPrefix("wait") }.count == 2, "each request is waited for once")
    }
}
