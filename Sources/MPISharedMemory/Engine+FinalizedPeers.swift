import MPICore

// Operations that ranks which have finalized leave waiting forever. A rank that finalized sends
// and receives nothing more, so once what it sent before finalizing has been taken from the
// rings, a receive that only it could match, a send only it could complete and a probe only it
// could satisfy can never end: they fail with `MPIError(.processFailed)` naming it, instead of
// hanging the job (MPI-4.1 §11.2.2 makes finalize the end of a process's communication; a program
// that waits on such a rank is wrong, and must be told so). Idle waits look every 1024 rounds
// (a few milliseconds to a few tens of them), so the cost when nobody has finalized is one load
// per rank per check.

extension Engine {
    /// Notes the ranks that have finalized since the last look and fails every operation that
    /// depends only on finalized ranks.
    mutating func failOperationsOnFinalizedPeers() throws(MPIError) {
        guard segment.name != nil else { return }
        var peer = 0
        while peer < size {
            if peer != rank && !finalizedPeers[peer] && segment.state(of: peer) == .finalized {
                finalizedPeers[peer] = true
                finalizedCount += 1
            }
            peer &+= 1
        }
        guard finalizedCount > 0 else { return }
        // Their state was read (acquiring) before this drain, so everything they wrote before
        // finalizing is taken now.
        while try progress() {}

        var index = 0
        while index < posted.count {
            if !posted[index].done {
                let receive = posted[index]
                let source = receive.matched ? receive.matchedSource : receive.source
                if unmatchable(source: source, context: receive.context, tag: receive.tag, what: "receive") != nil {
                    posted[index].matched = true
                    posted[index].failure = .peersFinalized
                    posted[index].done = true
                }
            }
            index &+= 1
        }
        index = 0
        while index < pendingSends.count {
            let send = pendingSends[index]
            if !sendDone(index) && finalizedPeers[send.destination] {
                pendingSends[index].receiverFinalized = true
            }
            index &+= 1
        }
    }

    /// The error of a receive that failed with `.peersFinalized`.
    func finalizedError(for receive: PostedReceive) -> MPIError {
        let started = receive.matchedSource >= 0 && receive.arrived > 0
        let source = started ? receive.matchedSource : receive.source
        return unmatchable(source: source, context: receive.context, tag: receive.tag,
                what: started ? "receive (of a message it began to get)" : "receive")
            ?? MPIError(.processFailed, "the ranks this receive depends on have finalized, so it can never complete")
    }

    /// The error for a receive or probe (`what`) of messages from world rank `source` (-1: any)
    /// with `tag` on `context` that no rank left can send, or `nil` while one can.
    func unmatchable(source: Int, context: UInt32, tag: Int, what: String) -> MPIError? {
        let (members, scope, collective) = communicator(of: context)
        // A collective's internal tags mean nothing to the caller.
        let operation = collective ? "collective\(scope), which needs a message from it," : "\(what) from it (\(tag < 0 ? "any tag" : "tag \(tag)")\(scope))"
        if source >= 0 {
            guard finalizedPeers[source] else { return nil }
            return MPIError(.processFailed, "rank \(name(source, members)) has finalized, so this \(operation) can never complete")
        }
        guard let members, members.count > 1 else { return nil }
        var others: [Int] = []
        for member in members where member != rank {
            guard finalizedPeers[member] else { return nil }
            others.append(member)
        }
        // A message this rank sends itself could still match a wildcard receive.
        if pendingSends.firstIndex(where: { $0.destination == rank }) != nil { return nil }
        return MPIError(.processFailed,
            "every other rank of the communicator (\(others.map { name($0, members) }.joined(separator: ", "))) has finalized, so this \(what) from any source (\(tag < 0 ? "any tag" : "tag \(tag)")\(scope)) can never complete")
    }

    /// The error for a send to world rank `destination`, which has finalized.
    func finalizedReceiver(_ destination: Int, context: UInt32, tag: Int) -> MPIError {
        let (members, scope, collective) = communicator(of: context)
        let operation = collective ? "collective\(scope), which sends to it," : "send to it (tag \(tag)\(scope))"
        return MPIError(.processFailed, "rank \(name(destination, members)) has finalized, so this \(operation) can never complete")
    }
}
