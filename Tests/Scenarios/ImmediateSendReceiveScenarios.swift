import MPI

/// An object with a payload of any size, for the immediate object messages.
struct Parcel: Codable, Sendable, Equatable {
    var from: Int
    var label: String
    var payload: [Double]
}

/// Immediate send-receive (`MPI_Isendrecv`, `MPI_Isendrecv_replace`) and immediate object
/// messages (mpi4py's `isend`/`irecv`).
let immediateSendReceiveScenarios: [Scenario] = [
    Scenario("nb-sendrecv") { c in
        let world = c.world
        // A ring shift: every rank sends to the next and receives from the previous.
        let inbox = MessageBuffer<Int64>(repeating: -1, count: 3)
        var shift = try world.immediateSendReceive([Int64(c.rank), 1, 2], to: c.next, sendTag: 900, into: inbox, from: c.previous, receiveTag: 900)
        try expect(inbox.isLent, "the receive buffer is lent while the send-receive is pending")
        var status: Status? = nil
        while status == nil { status = try shift.test() }
        try expect(status?.source == c.previous && status?.tag == 900 && status?.count(of: Int64.self) == 3, "status \(String(describing: status))")
        try expect(inbox.array == [Int64(c.previous), 1, 2], "ring shift gave \(inbox.array)")
        try expect(shift.isComplete && !inbox.isLent, "completed and given back")

        // Large messages both ways at once cannot deadlock: both halves are posted together.
        let large = 1 << 18
        let bigIn = MessageBuffer<Double>(repeating: 0, count: large)
        var bigShift = try world.immediateSendReceive(MessageBuffer<Double>((0..<large).map { Double(c.rank * large + $0) }),
            to: c.next, sendTag: 901, into: bigIn, from: c.previous, receiveTag: 901)
        _ = try bigShift.wait()
        try expect(bigIn[0] == Double(c.previous * large) && bigIn[large - 1] == Double(c.previous * large + large - 1), "large shift")

        // Replace: the buffer's own elements go out, the previous rank's come in.
        let both = MessageBuffer<Int32>((0..<5).map { Int32(c.rank * 10 + $0) })
        var replace = try world.immediateSendReceiveReplace(both, to: c.next, sendTag: 902, from: c.previous, receiveTag: 902)
        let replaced = try replace.wait()
        try expect(both.array == (0..<5).map { Int32(c.previous * 10 + $0) } && replaced.source == c.previous, "replace gave \(both.array)")

        // The null process at either end of a non-periodic line: its half completes at once.
        let left = c.rank == 0 ? Communicator.nullProcess : c.rank - 1
        let right = c.rank == c.size - 1 ? Communicator.nullProcess : c.rank + 1
        let edge = MessageBuffer<Int32>(repeating: -5, count: 1)
        var line = try world.immediateSendReceive(Int32(c.rank), to: right, sendTag: 903, into: edge, from: left, receiveTag: 903)
        let lineStatus = try line.wait()
        if left == Communicator.nullProcess {
            try expect(edge[0] == -5 && lineStatus.source == Communicator.nullProcess, "from the null process: buffer untouched, null status \(lineStatus)")
        } else {
            try expect(edge[0] == Int32(left), "line shift gave \(edge[0])")
        }

        // Bad input throws before anything is posted and leaves the buffers free.
        let one = MessageBuffer<Int32>(repeating: 0, count: 2)
        try expectError(.buffer, "one MessageBuffer as both send and receive buffer") {
            _ = try world.immediateSendReceive(one, to: c.next, sendTag: 904, into: one, from: c.previous, receiveTag: 904)
        }
        try expectError(.rank, "a send-receive to rank \(c.size)") {
            _ = try world.immediateSendReceive(one, to: c.size, into: inbox, from: c.previous, receiveTag: 904)
        }
        try expectError(.tag, "a negative send tag") {
            _ = try world.immediateSendReceive(one, to: c.next, sendTag: -3, into: inbox, from: c.previous)
        }
        try expect(!one.isLent && !inbox.isLent, "a refused send-receive left a buffer lent")
        // Nothing of the refused calls is still posted: this message reaches this receive.
        var box = inbox
        _ = try world.sendReceive([Int64(c.rank * 7), 0, 0], to: c.next, sendTag: 904, into: &box, from: c.previous, receiveTag: 904)
        try expect(inbox[0] == Int64(c.previous * 7), "after the refused calls the next message went to \(inbox[0])")

        // Truncation: the receive's error is thrown, the send completes all the same. (Not on
        // Open MPI 4.1.4 with one rank: its self transport does not report the truncation of a
        // message into a receive posted before it arrives; see nb-truncation.)
        let short = MessageBuffer<Int64>(repeating: 0, count: 1)
        var truncated = try world.immediateSendReceive([Int64](repeating: 1, count: 4), to: c.next, sendTag: 905, into: short, from: c.previous, receiveTag: 905)
        if Environment.backend == .openMPI && c.size == 1 {
            _ = try? truncated.wait()
        } else {
            try expectError(.truncate, "a send-receive into a short buffer") { _ = try truncated.wait() }
        }
        try expect(!short.isLent, "the short buffer was given back")
        try world.barrier()
        return .passed
    },

    Scenario("nb-objects") { c in
        let world = c.world
        // The receive is posted before the matching send: a large object's send can complete
        // while this rank is still inside its own blocking send.
        var incoming = try world.immediateReceiveObject(Parcel.self, capacity: 1 << 22, from: c.previous, tag: 910)
        let big = Parcel(from: c.rank, label: "big \(c.rank)", payload: (0..<100_000).map { Double($0 + c.rank) })
        try world.send(object: big, to: c.next, tag: 910)
        let (parcel, status) = try incoming.wait()
        try expect(parcel == Parcel(from: c.previous, label: "big \(c.previous)", payload: (0..<100_000).map { Double($0 + c.previous) }),
            "large object from \(status.source): \(parcel.label), \(parcel.payload.count) values")

        // Immediate both ways, completed in the other order.
        var small = try world.immediateReceiveObject([String: Int].self, from: c.previous, tag: 911)
        var sent = try world.immediateSend(object: ["rank": c.rank, "size": c.size], to: c.next, tag: 911)
        var polls = 0
        while try !small.test() { polls += 1 }
        let (dictionary, _) = try small.wait()
        _ = try sent.wait()
        try expect(dictionary == ["rank": c.previous, "size": c.size], "dictionary \(dictionary) after \(polls) polls")

        // Too large for the capacity: truncation, and the job goes on. (At one rank on Open MPI
        // this is the self BTL's overrun that the single-copy guard prevents: without it the
        // object is written whole past the 64 bytes; see docs/openmpi-backend.md.)
        var tooSmall = try world.immediateReceiveObject(Parcel.self, capacity: 64, from: c.previous, tag: 912)
        var overflow = try world.immediateSend(object: big, to: c.next, tag: 912)
        do {
            _ = try tooSmall.wait()
            throw ScenarioFailure("an object larger than the capacity was received")
        } catch let error as MPIError {
            try expect(error.errorClass == .truncate, "an object larger than the capacity threw \(error)")
        }
        _ = try overflow.wait()

        // Another type than was sent: a clear decoding error.
        var wrong = try world.immediateReceiveObject(Parcel.self, from: c.previous, tag: 913)
        var text = try world.immediateSend(object: "not a parcel", to: c.next, tag: 913)
        do {
            _ = try wrong.wait()
            throw ScenarioFailure("an object of another type decoded")
        } catch let error as MPIError {
            try expect(error.errorClass == .type, "an object of another type threw \(error)")
        }
        _ = try text.wait()

        try expectError(.rank, "an object receive from the null process") {
            _ = try world.immediateReceiveObject(Parcel.self, from: Communicator.nullProcess)
        }
        var none = try world.immediateSend(object: big, to: Communicator.nullProcess)
        try expect(try none.wait().source == Communicator.nullProcess, "an object send to the null process completes at once")
        try expectError(.count, "a capacity of 0") { _ = try world.immediateReceiveObject(Parcel.self, capacity: 0, from: c.previous) }
        try world.barrier()
        return .passed
    },
]
