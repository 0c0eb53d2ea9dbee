import MPICore

/// What a rank says about the collective it is in, carried by every message of the rounds that
/// check arguments: the kind, datatype, operation, root and count, which every rank must agree
/// on, and what mismatches it knows of so far. 16 bytes, so a signature and its record header fit
/// one 64-byte ring cell.
struct CollectiveSignature: Equatable {
    var kind: UInt8
    var type: UInt8
    /// The predefined operation, `0xFE`/`0xFF` for a commutative/non-commutative user-defined
    /// one, 0 for none.
    var operation: UInt8
    var flags: UInt8
    var root: Int32
    /// Elements per rank (bytes for byte-run datatypes), or a hash of counts every rank must
    /// share, or 0 where ranks legitimately differ (then each pairwise size is checked instead).
    var count: Int64

    static let size = 16

    // Flag bits: a mismatch found somewhere, and whether a fused broadcast message carries data.
    static let kindDiffers: UInt8 = 1 << 0
    static let typeDiffers: UInt8 = 1 << 1
    static let operationDiffers: UInt8 = 1 << 2
    static let rootDiffers: UInt8 = 1 << 3
    static let countDiffers: UInt8 = 1 << 4
    static let sizeDiffers: UInt8 = 1 << 5
    static let mismatches: UInt8 = 0x3F

    init(_ operation: CollectiveFields) {
        kind = operation.kind.rawValue
        type = operation.type.builtin.rawValue &+ 1
        self.operation = operation.reduction.map { $0.builtin?.rawValue ?? ($0.isCommutative ? 0xFE : 0xFF) } ?? 0
        flags = 0
        root = operation.kind.isRooted ? Int32(truncatingIfNeeded: operation.root) : -1
        let elementBytes = operation.type.isBytes ? Int64(operation.type.size) : 1
        switch operation.kind {
        case .allGatherv, .reduceScatter:
            count = CollectiveSignature.hash(operation.receiveCounts)
        case .gatherv, .scatterv, .allToAllv, .barrier:
            count = 0
        default:
            count = Int64(operation.count) &* elementBytes
        }
    }

    /// FNV-1a over the counts: ranks that pass different counts almost surely differ here.
    static func hash(_ counts: UnsafeBufferPointer<Int>) -> Int64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for count in counts {
            hash = (hash ^ UInt64(bitPattern: Int64(count))) &* 0x100_0000_01B3
        }
        return Int64(bitPattern: hash)
    }

    /// The mismatch flags that comparing with `other`'s own values yields.
    func differences(from other: CollectiveSignature) -> UInt8 {
        var found: UInt8 = 0
        if kind != other.kind { found |= CollectiveSignature.kindDiffers }
        if type != other.type { found |= CollectiveSignature.typeDiffers }
        if operation != other.operation { found |= CollectiveSignature.operationDiffers }
        if root != other.root { found |= CollectiveSignature.rootDiffers }
        if count != other.count { found |= CollectiveSignature.countDiffers }
        return found
    }
}

/// The first mismatch a rank saw itself, for the error message.
struct CollectiveMismatch {
    /// Rank (in the communicator) whose arguments differed from this rank's.
    var peer: Int
    var theirs: CollectiveSignature
    /// A received message's size, for a pairwise size mismatch.
    var bytes: (expected: Int, received: Int)?
}

extension CollectiveSignature {
    var kindName: String { Collective.Kind(rawValue: kind).map { "\($0)" } ?? "collective \(kind)" }

    var typeName: String {
        Datatype.Builtin(rawValue: type &- 1).map { "\($0)" } ?? "type \(type)"
    }

    /// "allReduce of float32 with count 4, root 0", saying only what this kind's count means.
    var summary: String {
        var text = "\(kindName) of \(typeName)"
        switch Collective.Kind(rawValue: kind) {
        case .allGatherv, .reduceScatter: text += " with counts hashing to \(count)"
        case .gatherv, .scatterv, .allToAllv, .barrier: break
        default: text += " with count \(count)"
        }
        if root >= 0 { text += ", root \(root)" }
        return text
    }

    var operationName: String {
        switch operation {
        case 0: "no operation"
        case 0xFE: "a commutative user-defined operation"
        case 0xFF: "a non-commutative user-defined operation"
        default: Reduction.Builtin(rawValue: operation).map { "\($0)" } ?? "operation \(operation)"
        }
    }

    /// The error every rank throws when `flags` reports a mismatch. `mine` is this rank's own
    /// signature and `seen` the mismatch it found itself, if any.
    static func error(flags: UInt8, mine: CollectiveSignature, seen: CollectiveMismatch?, rank: Int) -> MPIError {
        let errorClass: MPIError.ErrorClass
        let what: String
        if flags & (kindDiffers | typeDiffers | operationDiffers) != 0 {
            errorClass = .notSame
            what = flags & kindDiffers != 0 ? "the operation called" : flags & typeDiffers != 0 ? "the datatype" : "the reduction operation"
        } else if flags & rootDiffers != 0 {
            errorClass = .root
            what = "the root"
        } else {
            errorClass = .count
            what = flags & countDiffers != 0 ? "the count" : "the message sizes between pairs of ranks"
        }
        var message = "collective arguments differ between ranks (\(what)): rank \(rank) called \(mine.summary)"
        if let seen {
            if let bytes = seen.bytes {
                message += "; rank \(seen.peer) sent \(bytes.received) bytes where \(bytes.expected) were expected"
            } else {
                message += "; rank \(seen.peer) called \(seen.theirs.summary)"
                if mine.operation != seen.theirs.operation {
                    message += " with \(seen.theirs.operationName) (this rank: \(mine.operationName))"
                }
            }
        } else {
            message += "; another rank found the difference"
        }
        return MPIError(errorClass, message)
    }
}
