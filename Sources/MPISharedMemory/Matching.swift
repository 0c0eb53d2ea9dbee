import Glibc
import MPICore

/// A receive waiting for its message (the posted-receive queue of MPI matching).
struct PostedReceive {
    let id: Int
    let context: UInt32
    /// The registered layout of a receive whose datatype does not fill its extent (0: none):
    /// `buffer` is then the caller's elements, and arriving (packed) bytes are scattered into
    /// their data positions. (Next to `context`, in what would be padding.)
    var layout: UInt32 = 0
    /// World rank to match, or -1 for any source.
    let source: Int
    /// Tag to match, or -1 for any tag.
    let tag: Int
    let buffer: UnsafeMutableRawPointer?
    let capacity: Int
    /// Set once a message matched.
    var matched = false
    var matchedSource = 0
    var matchedTag = 0
    var total = 0
    /// Bytes of the message accounted for so far (copied or, past `capacity`, dropped).
    var arrived = 0
    var done = false
    var cancelled = false
    var failure: MPIFailure? = nil
    /// Communicator handle, to report the source as a rank in it.
    var communicator = 0
}

/// A message that arrived before any receive matched it (the unexpected queue).
struct UnexpectedMessage {
    let id: Int
    let source: Int
    let context: UInt32
    let tag: Int
    let total: Int
    let kind: Record.Kind
    let cookie: UInt64
    let needsAcknowledgement: Bool
    /// Eager messages: a heap copy of the bytes that have arrived.
    var buffer: UnsafeMutableRawPointer?
    var arrived = 0
    /// Ready-to-send messages: where the bytes are in the sender.
    var remoteAddress: UInt = 0
    /// The communicator (handle) of the matched probe that took the message out of matching, so
    /// only its `postMatchedReceive` may get it; -1 while it is unclaimed.
    var claimedBy = -1
    var claimed: Bool { claimedBy >= 0 }

    var complete: Bool { kind == .readyToSend || arrived == total }

    /// Whether a receive or probe of `source` (-1: any) and `tag` (-1: any) on `context` may take
    /// this message: MPI's matching rule, for messages no matched probe has claimed.
    @inline(__always)
    func matches(context: UInt32, source: Int, tag: Int) -> Bool {
        !claimed && self.context == context && (source < 0 || self.source == source) && (tag < 0 || self.tag == tag)
    }
}

/// Where the further fragments from one sender go.
enum FragmentTarget {
    case none
    case posted(id: Int)
    case unexpected(id: Int)
}

/// A failure recorded by the progress engine for the receive it concerns.
enum MPIFailure {
    case truncated(message: Int, buffer: Int)
    case copyFailed(errno: Int32, bytes: Int)
    /// The receive can never complete: the ranks it depends on have finalized (see
    /// `Engine.failOperationsOnFinalizedPeers`; `Engine.finalizedError(for:)` words it). No
    /// payload: a failure with an `MPIError` would make every receive a non-trivial value,
    /// reference-counted at each copy on the message path.
    case peersFinalized
}

/// A send that could not complete on the spot: queued, partly written, or awaiting its
/// acknowledgement.
struct PendingSend {
    let id: Int
    let destination: Int
    let bytes: UnsafeRawPointer?
    let count: Int
    let context: UInt32
    /// The registered layout of a send whose datatype does not fill its extent (0: none): `bytes`
    /// is then the caller's elements, gathered into each fragment as it is written (`count` is
    /// the packed size).
    let layout: UInt32
    let tag: Int
    let cookie: UInt64
    /// Ready-to-send: the receiver copies from `bytes` directly.
    let rendezvous: Bool
    let needsAcknowledgement: Bool
    /// Bytes written into the ring so far (eager).
    var offset = 0
    /// The first record has been written.
    var started = false
    /// Every record has been written.
    var written = false
    var acknowledged = false
    /// Set when the send can never complete because its receiver has finalized.
    var receiverFinalized = false
}

/// A persistent request: the arguments of an operation that `start` runs again and again.
struct PersistentRequest {
    var id: Int
    let isSend: Bool
    let buffer: UnsafeMutableRawPointer?
    let count: Int
    /// World rank (or -1 for any source).
    let peer: Int
    let context: UInt32
    let tag: Int
    let synchronous: Bool
    /// Communicator handle of a receive, to report its source as a rank there.
    var communicator = 0
    /// The request handle of the current start, while active.
    /// A buffered send's element count and datatype (the copy is made at each start).
    var buffered: (count: Int, type: Datatype)? = nil
    var current: Int? = nil
    /// The registered layout, when the datatype does not fill its extent (see `PendingSend.layout`).
    var layout: UInt32 = 0
}
