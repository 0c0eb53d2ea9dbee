import Glibc
import MPICore

// Where a rank is stuck, said on request. When a job outlives its timeout the launcher sets a
// word in the segment; every rank whose thread is waiting inside the engine notices it at its
// next job check (every 1024 idle rounds), writes what it is blocked on and what else it has
// pending to its standard error, and marks its slot as answered, before the launcher ends the
// job (as Open MPI's `mpirun --report-state-on-timeout` does, from inside the ranks).

/// What a wait inside the engine is waiting for, for the report. Passed by value to the wait (no
/// store on the message path); a blocking collective's schedule travels unretained.
enum BlockedCall {
    /// A blocking receive, or a wait for one, by posted-receive id.
    case receive(Int)
    /// A send waiting to be written or acknowledged, by pending-send id.
    case send(Int)
    /// A blocking eager send waiting for room in the ring to world rank `destination`.
    case eagerSend(destination: Int, context: UInt32, tag: Int, bytes: Int)
    case probe(source: Int, context: UInt32, tag: Int)
    /// A blocking collective.
    case collective(Unmanaged<CollectiveSchedule>)
    /// A wait on `count` requests (`wait`, `waitAny`, `waitAll`, `waitSome`).
    case requests(count: Int)
    /// A one-sided synchronization (a lock, a post, a completion), described.
    case window(String)
}

extension Engine {
    /// Says where this rank is stuck, once, if the launcher has asked.
    mutating func reportIfAsked(_ call: BlockedCall) {
        guard segment.name != nil, !hasReported, segment.reportsRequested else { return }
        hasReported = true
        let blocked = describe(call)
        var lines = ["rank \(rank) is blocked in a \(blocked)"]
        func list(_ items: [String], _ heading: String) {
            guard !items.isEmpty else { return }
            lines.append("rank \(rank) \(heading):")
            lines += items.prefix(8).map { "  \($0)" }
            if items.count > 8 { lines.append("  … and \(items.count - 8) more") }
        }
        let pending = pendingOperations().filter { $0 != blocked }
        list(pending, "also has \(pending.count) operation\(pending.count == 1 ? "" : "s") pending")
        // Messages nobody receives are the usual sign of a tag or source mismatch.
        let unmatched = unexpectedMessages()
        list(unmatched, "has \(unmatched.count) message\(unmatched.count == 1 ? "" : "s") that arrived and match no receive")
        let text = lines.map { "swift-mpi: \($0)\n" }.joined()
        _ = text.withCString { write(2, $0, strlen($0)) }
        segment.slotReported(rank).pointee.store(1, ordering: .releasing)
    }

    private func describe(_ call: BlockedCall) -> String {
        switch call {
        case .receive(let id):
            guard let index = receiveIndex(id) else { return "receive" }
            return describe(posted[index])
        case .send(let id):
            guard let index = sendIndex(id) else { return "send" }
            return describe(pendingSends[index])
        case .eagerSend(let destination, let context, let tag, let bytes):
            let (members, scope, _) = communicator(of: context)
            return "send of \(bytes) bytes to rank \(name(destination, members)) (tag \(tag)\(scope)), waiting for room in the ring to it (is it receiving?)"
        case .probe(let source, let context, let tag):
            let (members, scope, _) = communicator(of: context)
            return "probe for a message from \(source < 0 ? "any source" : "rank \(name(source, members))") (\(tagText(tag))\(scope))"
        case .collective(let schedule):
            return describe(schedule.takeUnretainedValue())
        case .requests(let count):
            return count == 1 ? "wait on a request" : "wait on \(count) requests"
        case .window(let what):
            return what
        }
    }

    /// Every operation not yet complete, described.
    private func pendingOperations() -> [String] {
        var list: [String] = []
        var index = 0
        while index < posted.count {
            if !posted[index].done { list.append(describe(posted[index])) }
            index &+= 1
        }
        index = 0
        while index < pendingSends.count {
            if !sendDone(index) { list.append(describe(pendingSends[index])) }
            index &+= 1
        }
        for schedule in collectives where !schedule.done { list.append("nonblocking " + describe(schedule)) }
        return list
    }

    /// The messages in the unexpected queue, described.
    private func unexpectedMessages() -> [String] {
        var list: [String] = []
        var index = 0
        while index < unexpected.count {
            let message = unexpected[index]
            let (members, scope, collective) = communicator(of: message.context)
            list.append("from rank \(name(message.source, members)) (\(collective ? "a collective's" : tagText(message.tag))\(scope), \(message.total) bytes)")
            index &+= 1
        }
        return list
    }

    private func describe(_ receive: PostedReceive) -> String {
        let (members, scope, collective) = communicator(of: receive.context)
        let what = collective ? "collective's receive" : "receive"
        if receive.matched {
            return "\(what) from rank \(name(receive.matchedSource, members)) (\(tagText(receive.matchedTag))\(scope)), \(receive.arrived) of \(receive.total) bytes arrived"
        }
        let from = receive.source < 0 ? "any source" : "rank \(name(receive.source, members))"
        return "\(what) from \(from) (\(collective ? "internal tag" : tagText(receive.tag))\(scope)), no matching message yet"
    }

    private func describe(_ send: PendingSend) -> String {
        let (members, scope, collective) = communicator(of: send.context)
        let state = !send.written ? "waiting for room in the ring to it (is it receiving?)"
            : send.rendezvous ? "waiting for it to receive the message (single copy)"
            : "waiting for it to match the message (synchronous)"
        return "\(collective ? "collective's send" : "send") of \(send.count) bytes to rank \(name(send.destination, members)) (\(collective ? "internal tag" : tagText(send.tag))\(scope)), \(state)"
    }

    private func describe(_ schedule: CollectiveSchedule) -> String {
        var peers: [Int] = []
        for pending in schedule.receives.base..<(schedule.receives.base + schedule.receives.count) {
            if let index = receiveIndex(pending.pointee.id), !posted[index].done { peers.append(pending.pointee.peer) }
        }
        let scope = schedule.context == 1 ? "the world" : "a communicator of \(schedule.size) ranks"
        let waiting = peers.isEmpty ? "" : ", waiting for rank\(peers.count == 1 ? "" : "s") \(peers.map(String.init).joined(separator: ", "))"
        let what = schedule.mine.kind == Collective.Kind.barrier.rawValue ? "barrier" : schedule.mine.summary
        return "collective \(what) on \(scope)\(waiting)"
    }

    private func tagText(_ tag: Int) -> String { tag < 0 ? "any tag" : "tag \(tag)" }

    /// World rank `world` as the communicator with `members` numbers it, with its world rank when
    /// they differ.
    func name(_ world: Int, _ members: UnsafeBufferPointer<Int>?) -> String {
        guard let members, let local = members.firstIndex(of: world), local != world else { return "\(world)" }
        return "\(local) (world rank \(world))"
    }

    /// The world ranks of the communicator whose point-to-point or collective context is
    /// `context`, words naming it for a message, and whether the context is the collective one.
    func communicator(of context: UInt32) -> (UnsafeBufferPointer<Int>?, String, Bool) {
        for case let info? in communicators where info.context == context || info.context &+ 1 == context {
            let scope = info.context == 0 ? "" : ", on a communicator of \(info.members.count) ranks"
            return (info.members, scope, info.context != context)
        }
        return (nil, "", false)
    }
}
