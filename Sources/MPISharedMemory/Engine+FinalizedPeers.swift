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
                if isHopeless(source: receive.matched ? receive.matchedSource : receive.source, context: receive.context) {
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
        let started = receive.arrived > 0
        let source = started ? receive.matchedSource : receive.source
        return unmatchable(source: source, context: receive.context, tag: receive.tag,
                what: started ? "receive (of a message it began to get)" : "receive")
            ?? MPIError(.processFailed, "the ranks this receive depends on have finalized, so it can never complete")
    }

    /// Whether no rank left can send a message from world rank `source` (-1: any) on
    /// `context`: checked on every idle step of a probe once a rank has finalized, so it builds
    /// nothing.
    func isHopeless(source: Int, context: UInt32) -> Bool {
        if source >= 0 { return finalizedPeers[source] }
        guard let members = communicator(of: context).0, members.count > 1 else { return false }
        for member in members where member != rank && !finalizedPeers[member] { return false }
        // A message this rank sends itself could still match a wildcard receive.
        return pendingSends.firstIndex(where: { $0.destination == rank }) == nil
    }

    /// The error for a receive or probe (`what`) of messages from world rank `source` (-1: any)
    /// with `tag` on `context` that no rank left can send, or `nil` while one can.
    func unmatchable(source: Int, context: UInt32, tag: Int, what: String) -> MPIError? {
        guard isHopeless(source: source, context: context) else { return nil }
        let (members, scope, collective) = communicator(of: context)
        let tagText = tag < 0 ? "any tag" : "tag \(tag)"
        if source >= 0 {
            // A collective's internal tags mean nothing to the caller.
            let operation = collective ? "collective\(scope), which needs a message from it," : "\(what) from it (\(tagText)\(scope))"
            return MPIError(.processFailed, "rank \(name(source, members)) has finalized, so this \(operation) can never complete")
        }
        let others = (members.map(Array.init) ?? []).filter { $0 != rank }.map { name($0, members) }
        return MPIError(.processFailed,
            "every other rank of the communicator (\(others.joined(separator: ", "))) has finalized, so this \(what) from any source (\(tagText)\(scope)) can never complete")
    }

    /// The error for a send to world rank `destination`, which has finalized.
    func finalizedReceiver(_ destination: Int, context: UInt32, tag: Int) -> MPIError {
        let (members, scope, collective) = communicator(of: context)
        let operation = collective ? "collective\(scope), which sends to it," : "send to it (tag \(tag)\(scope))"
        return MPIError(.processFailed, "rank \(name(destination, members)) has finalized, so this \(operation) can never complete")
    }
}
