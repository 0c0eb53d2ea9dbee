/// A collective operation as the public API hands it to a backend: arguments validated on this
/// rank, buffers as raw pointers, counts and displacements in elements of the datatype.
///
/// One case per operation, whose payload holds exactly what that operation reads, so the
/// compiler checks that the front end gives each kind its arguments. Where MPI allows
/// `MPI_IN_PLACE`, the input is an ``Input``: a buffer, or `.inPlace` (the input is already where
/// the output goes — in the receive buffer, at this rank's block for the gathers, or, for
/// scatter(v) at the root, in the root's send buffer).
///
/// Counts and displacements are valid only during the backend call that receives them (a
/// nonblocking operation copies what it needs); data buffers stay valid until the operation
/// completes. Backends that run every kind through one algorithm framework read the uniform
/// ``fields()`` view.
@usableFromInline
package enum Collective {
    /// `MPI_IN_PLACE` or a send buffer.
    @usableFromInline
    package enum Input {
        case buffer(UnsafeRawPointer?)
        case inPlace
    }

    /// A scatter root's result buffer, or `.inPlace` (the root keeps its block in its data).
    @usableFromInline
    package enum Output {
        case buffer(UnsafeMutableRawPointer?)
        case inPlace
    }

    /// What a rank of a rooted operation passes: the root's and the others' arguments differ.
    @usableFromInline
    package enum Rooted<Root, Other> {
        case root(Root)
        case other(Other)
    }

    /// Element datatype, element count and (where there is one) reduction.
    @usableFromInline
    package struct Shape {
        @usableFromInline package var type: Datatype
        @usableFromInline package var count: Int
        @inlinable package init(_ type: Datatype, count: Int) {
            self.type = type
            self.count = count
        }
    }

    case barrier
    /// The root's data (read), or a receiver's buffer (written); `count` elements.
    case broadcast(Shape, root: Int, Rooted<UnsafeRawPointer?, UnsafeMutableRawPointer?>)
    /// Every rank's input; the root's result buffer.
    case reduce(Shape, Reduction, root: Int, Rooted<(input: Input, result: UnsafeMutableRawPointer?), UnsafeRawPointer?>)
    case allReduce(Shape, Reduction, Input, result: UnsafeMutableRawPointer?)
    case scan(Shape, Reduction, Input, result: UnsafeMutableRawPointer?)
    case exclusiveScan(Shape, Reduction, Input, result: UnsafeMutableRawPointer?)
    /// `count` is each rank's block; the input holds size blocks (in place: in `result`).
    case reduceScatterBlock(Shape, Reduction, Input, result: UnsafeMutableRawPointer?)
    /// `count` is this rank's block; `counts` every rank's.
    case reduceScatter(Shape, Reduction, Input, result: UnsafeMutableRawPointer?, counts: UnsafeBufferPointer<Int>)
    /// `count` elements from every rank; the root receives size × `count` (in place: its own
    /// block already there).
    case gather(Shape, root: Int, Rooted<(input: Input, result: UnsafeMutableRawPointer?), UnsafeRawPointer?>)
    /// `count` is this rank's block; the root's counts and displacements.
    case gatherv(Shape, root: Int, Rooted<(input: Input, result: UnsafeMutableRawPointer?, counts: UnsafeBufferPointer<Int>,
        displacements: UnsafeBufferPointer<Int>), UnsafeRawPointer?>)
    /// `count` elements to every rank; the root's data holds size × `count`; in place the root
    /// keeps its block in its data.
    case scatter(Shape, root: Int, Rooted<(data: UnsafeRawPointer?, result: Output), UnsafeMutableRawPointer?>)
    case scatterv(Shape, root: Int, Rooted<(data: UnsafeRawPointer?, result: Output, counts: UnsafeBufferPointer<Int>,
        displacements: UnsafeBufferPointer<Int>), UnsafeMutableRawPointer?>)
    case allGather(Shape, Input, result: UnsafeMutableRawPointer?)
    case allGatherv(Shape, Input, result: UnsafeMutableRawPointer?, counts: UnsafeBufferPointer<Int>, displacements: UnsafeBufferPointer<Int>)
    /// `count` elements to and from every rank.
    case allToAll(Shape, Input, result: UnsafeMutableRawPointer?)
    /// In place, the send counts and displacements are those of the result.
    case allToAllv(Datatype, Input, sendCounts: UnsafeBufferPointer<Int>, sendDisplacements: UnsafeBufferPointer<Int>,
        result: UnsafeMutableRawPointer?, receiveCounts: UnsafeBufferPointer<Int>, receiveDisplacements: UnsafeBufferPointer<Int>)

    /// The operations' names, for messages and signatures.
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

    /// The operation as one record of every argument a kind may read, with the others at their
    /// defaults: the view for backends that run every kind through one framework. Consuming, so
    /// the payload moves into the record instead of being copied (a copy of this enum retains
    /// its reduction and goes through an outlined copy: measured at ~120 instructions a call).
    @inlinable
    package consuming func fields() -> CollectiveFields {
        switch consume self {
        case .barrier:
            return CollectiveFields(.barrier, type: .byte)
        case .broadcast(let shape, let root, .root(let data)):
            // The root's buffer is only read.
            return CollectiveFields(.broadcast, type: shape.type, count: shape.count, root: root, receive: UnsafeMutableRawPointer(mutating: data))
        case .broadcast(let shape, let root, .other(let buffer)):
            return CollectiveFields(.broadcast, type: shape.type, count: shape.count, root: root, receive: buffer)
        case .reduce(let shape, let reduction, let root, .root(let arguments)):
            return CollectiveFields(.reduce, type: shape.type, count: shape.count, root: root, send: arguments.input.pointer,
                receive: arguments.result, inPlace: arguments.input.isInPlace, reduction: reduction)
        case .reduce(let shape, let reduction, let root, .other(let send)):
            return CollectiveFields(.reduce, type: shape.type, count: shape.count, root: root, send: send, reduction: reduction)
        case .allReduce(let shape, let reduction, let send, let result):
            return CollectiveFields(.allReduce, type: shape.type, count: shape.count, send: send.pointer, receive: result,
                inPlace: send.isInPlace, reduction: reduction)
        case .scan(let shape, let reduction, let send, let result):
            return CollectiveFields(.scan, type: shape.type, count: shape.count, send: send.pointer, receive: result,
                inPlace: send.isInPlace, reduction: reduction)
        case .exclusiveScan(let shape, let reduction, let send, let result):
            return CollectiveFields(.exclusiveScan, type: shape.type, count: shape.count, send: send.pointer, receive: result,
                inPlace: send.isInPlace, reduction: reduction)
        case .reduceScatterBlock(let shape, let reduction, let send, let result):
            return CollectiveFields(.reduceScatterBlock, type: shape.type, count: shape.count, send: send.pointer, receive: result,
                inPlace: send.isInPlace, reduction: reduction)
        case .reduceScatter(let shape, let reduction, let send, let result, let counts):
            return CollectiveFields(.reduceScatter, type: shape.type, count: shape.count, send: send.pointer, receive: result,
                inPlace: send.isInPlace, reduction: reduction, receiveCounts: counts)
        case .gather(let shape, let root, .root(let arguments)):
            return CollectiveFields(.gather, type: shape.type, count: shape.count, root: root, send: arguments.input.pointer,
                receive: arguments.result, inPlace: arguments.input.isInPlace)
        case .gather(let shape, let root, .other(let send)):
            return CollectiveFields(.gather, type: shape.type, count: shape.count, root: root, send: send)
        case .gatherv(let shape, let root, .root(let arguments)):
            return CollectiveFields(.gatherv, type: shape.type, count: shape.count, root: root, send: arguments.input.pointer,
                receive: arguments.result, inPlace: arguments.input.isInPlace,
                receiveCounts: arguments.counts, receiveDisplacements: arguments.displacements)
        case .gatherv(let shape, let root, .other(let send)):
            return CollectiveFields(.gatherv, type: shape.type, count: shape.count, root: root, send: send)
        case .scatter(let shape, let root, .root(let arguments)):
            return CollectiveFields(.scatter, type: shape.type, count: shape.count, root: root, send: arguments.data,
                receive: arguments.result.pointer, inPlace: arguments.result.isInPlace)
        case .scatter(let shape, let root, .other(let result)):
            return CollectiveFields(.scatter, type: shape.type, count: shape.count, root: root, receive: result)
        case .scatterv(let shape, let root, .root(let arguments)):
            return CollectiveFields(.scatterv, type: shape.type, count: shape.count, root: root, send: arguments.data,
                receive: arguments.result.pointer, inPlace: arguments.result.isInPlace,
                sendCounts: arguments.counts, sendDisplacements: arguments.displacements)
        case .scatterv(let shape, let root, .other(let result)):
            return CollectiveFields(.scatterv, type: shape.type, count: shape.count, root: root, receive: result)
        case .allGather(let shape, let send, let result):
            return CollectiveFields(.allGather, type: shape.type, count: shape.count, send: send.pointer, receive: result,
                inPlace: send.isInPlace)
        case .allToAll(let shape, let send, let result):
            return CollectiveFields(.allToAll, type: shape.type, count: shape.count, send: send.pointer, receive: result,
                inPlace: send.isInPlace)
        case .allGatherv(let shape, let send, let result, let counts, let displacements):
            return CollectiveFields(.allGatherv, type: shape.type, count: shape.count, send: send.pointer, receive: result,
                inPlace: send.isInPlace, receiveCounts: counts, receiveDisplacements: displacements)
        case .allToAllv(let type, let send, let sendCounts, let sendDisplacements, let result, let receiveCounts, let receiveDisplacements):
            let none = UnsafeBufferPointer<Int>(start: nil, count: 0)
            return CollectiveFields(.allToAllv, type: type, send: send.pointer, receive: result, inPlace: send.isInPlace,
                sendCounts: send.isInPlace ? none : sendCounts, sendDisplacements: send.isInPlace ? none : sendDisplacements,
                receiveCounts: receiveCounts, receiveDisplacements: receiveDisplacements)
        }
    }
}

extension Collective.Input {
    @inlinable package var pointer: UnsafeRawPointer? {
        if case .buffer(let pointer) = self { pointer } else { nil }
    }
    @inlinable package var isInPlace: Bool {
        if case .inPlace = self { true } else { false }
    }
}

extension Collective.Output {
    @inlinable package var pointer: UnsafeMutableRawPointer? {
        if case .buffer(let pointer) = self { pointer } else { nil }
    }
    @inlinable package var isInPlace: Bool {
        if case .inPlace = self { true } else { false }
    }
}

/// Every argument a collective may read, in one record (``Collective/fields``): what the
/// shared-memory schedules and the Open MPI calls are written against. Which fields a kind reads:
///
/// | kind | fields |
/// |---|---|
/// | barrier | — |
/// | broadcast | `receive` (root's data, everyone's result), `count`, `root` |
/// | reduce, allReduce, scan, exclusiveScan | `send` or `inPlace`, `receive`, `count`, `reduction`; reduce: `root`, `receive` only at the root |
/// | gather(v), scatter(v), allGather(v), allToAll(v), reduceScatter(Block) | as their ``Collective`` case |
@usableFromInline
package struct CollectiveFields {
    @usableFromInline package var kind: Collective.Kind
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
        _ kind: Collective.Kind, type: Datatype, count: Int = 0, root: Int = 0,
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
