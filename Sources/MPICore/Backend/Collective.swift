/// A collective operation as the public API hands it to a backend: arguments validated on this
/// rank, buffers as raw pointers, counts and displacements in elements of `type`.
///
/// Which fields a kind reads (the others keep their defaults):
///
/// | kind | fields |
/// |---|---|
/// | barrier | — |
/// | broadcast | `receive` (root's data, everyone's result), `count`, `root` |
/// | reduce, allReduce, scan, exclusiveScan | `send` or `inPlace`, `receive`, `count`, `reduction`; reduce: `root`, `receive` only at the root |
/// | gather | `send` (`count` elements) or `inPlace` at the root, `receive` (root: size × `count`), `root` |
/// | gatherv | `send` (`count`) or `inPlace` at the root, `receive`, `receiveCounts`, `receiveDisplacements` (root), `root` |
/// | scatter | `send` (root: size × `count`), `receive` (`count`) or `inPlace` at the root, `root` |
/// | scatterv | `send`, `sendCounts`, `sendDisplacements` (root), `receive` (`count`) or `inPlace` at the root, `root` |
/// | allGather | `send` (`count`) or `inPlace`, `receive` (size × `count`) |
/// | allGatherv | `send` (`count`) or `inPlace`, `receive`, `receiveCounts`, `receiveDisplacements` |
/// | allToAll | `send` or `inPlace`, `receive`, both size × `count` |
/// | allToAllv | `send`, `sendCounts`, `sendDisplacements` or `inPlace`, `receive`, `receiveCounts`, `receiveDisplacements` |
/// | reduceScatterBlock | `send` (size × `count`) or `inPlace` (data in `receive`), `receive` (`count`), `reduction` |
/// | reduceScatter | `send` or `inPlace` (data in `receive`), `receive`, `receiveCounts` (every rank's block), `reduction` |
///
/// In place (`MPI_IN_PLACE`) the input is already where the output goes: in `receive`, at this
/// rank's block for the gathers, or, for scatter(v) at the root, in `send`.
///
/// The counts and displacements are valid only during the backend call that receives them (a
/// nonblocking operation copies what it needs); the data buffers stay valid until the operation
/// completes.
@usableFromInline
package struct Collective {
    @usableFromInline
    package enum Kind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        case barrier = 1, broadcast, reduce, allReduce, gather, gatherv, scatter, scatterv
        case allGather, allGatherv, allToAll, allToAllv, scan, exclusiveScan, reduceScatter, reduceScatterBlock

        @usableFromInline package var description: String {
            switch self {
            case .barrier: "barrier"
            case .broadcast: "broadcast"
            case .reduce: "reduce"
            case .allReduce: "allReduce"
            case .gather: "gather"
            case .gatherv: "gatherv"
            case .scatter: "scatter"
            case .scatterv: "scatterv"
            case .allGather: "allGather"
            case .allGatherv: "allGatherv"
            case .allToAll: "allToAll"
            case .allToAllv: "allToAllv"
            case .scan: "scan"
            case .exclusiveScan: "exclusiveScan"
            case .reduceScatter: "reduceScatter"
            case .reduceScatterBlock: "reduceScatterBlock"
            }
        }

        /// Whether the operation has a root.
        package var isRooted: Bool {
            switch self {
            case .broadcast, .reduce, .gather, .gatherv, .scatter, .scatterv: true
            default: false
            }
        }
    }

    @usableFromInline package var kind: Kind
    @usableFromInline package var type: Datatype
    @usableFromInline package var count: Int
    @usableFromInline package var root: Int
    @usableFromInline package var send: UnsafeRawPointer?
    @usableFromInline package var receive: UnsafeMutableRawPointer?
    @usableFromInline package var inPlace: Bool
    @usableFromInline package var reduction: Reduction?
    @usableFromInline package var sendCounts: UnsafeBufferPointer<Int>
    @usableFromInline package var sendDisplacements: UnsafeBufferPointer<Int>
    @usableFromInline package var receiveCounts: UnsafeBufferPointer<Int>
    @usableFromInline package var receiveDisplacements: UnsafeBufferPointer<Int>

    @inlinable
    package init(
        _ kind: Kind, type: Datatype, count: Int = 0, root: Int = 0,
        send: UnsafeRawPointer? = nil, receive: UnsafeMutableRawPointer? = nil, inPlace: Bool = false,
        reduction: Reduction? = nil,
        sendCounts: UnsafeBufferPointer<Int> = UnsafeBufferPointer(start: nil, count: 0),
        sendDisplacements: UnsafeBufferPointer<Int> = UnsafeBufferPointer(start: nil, count: 0),
        receiveCounts: UnsafeBufferPointer<Int> = UnsafeBufferPointer(start: nil, count: 0),
        receiveDisplacements: UnsafeBufferPointer<Int> = UnsafeBufferPointer(start: nil, count: 0)
    ) {
        self.kind = kind
        self.type = type
        self.count = count
        self.root = root
        self.send = send
        self.receive = receive
        self.inPlace = inPlace
        self.reduction = reduction
        self.sendCounts = sendCounts
        self.sendDisplacements = sendDisplacements
        self.receiveCounts = receiveCounts
        self.receiveDisplacements = receiveDisplacements
    }
}
