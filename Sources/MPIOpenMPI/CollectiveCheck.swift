#if OpenMPI
import CMPI
import MPICore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The opt-in checked mode of the Open MPI backend (`SWIFTMPI_CHECK=collectives`): before each
/// collective, every rank of the communicator compares its arguments with everyone's, so
/// mismatched arguments throw the same `MPIError` classes on every rank as on the shared-memory
/// backend (`.notSame` for the kind, datatype or operation, `.root`, `.count`) instead of giving
/// wrong data or hanging.
///
/// One `MPI_Allgather` of a 24-byte record per rank: the 16-byte signature the shared-memory
/// backend carries (kind, datatype, operation, root, and the count every rank must share, or a
/// hash of a counts array every rank must share) and the rank's own element count. Every rank
/// sees every record, so all reach the same verdict and the error names this rank's call and
/// the first rank whose call differs. The v variants, whose counts legitimately differ, take one
/// more step when the signatures agree: the root compares each rank's count with its counts
/// array (gatherv, scatterv), or an `MPI_Alltoall` of the send counts lets each rank compare
/// what it will get with its receive counts (all-to-all-v); an `MPI_Allreduce` then tells every
/// rank whether anyone found a difference. Immediate collectives check at their start, so in
/// this mode they synchronize the ranks there, like a blocking collective.
enum CollectiveCheck {
    /// The environment variable, a comma-separated list of checks; `collectives` turns this on.
    static let variable = "SWIFTMPI_CHECK"

    /// Whether the environment asks for checked collectives (read once, at start).
    static func isRequested() -> Bool {
        guard let value = getenv(variable) else { return false }
        return String(cString: value).split(separator: ",").contains { $0 == "collectives" }
    }

    /// What one rank says about its call: the signature and its own element count.
    struct Record: Equatable {
        var kind: UInt8
        var type: UInt8
        /// The predefined operation, `0xFE`/`0xFF` for a commutative/non-commutative
        /// user-defined one, 0 for none (the shared-memory backend's encoding).
        var operation: UInt8
        var reserved: UInt8 = 0
        var root: Int32
        /// Elements per rank every rank must agree on (bytes for byte-run types), a hash of a
        /// counts array every rank must share, or 0 where ranks legitimately differ.
        var count: Int64
        /// This rank's own count (elements), for the v variants' pairwise comparison.
        var own: Int64

        init(_ operation: CollectiveFields) {
            kind = operation.kind.rawValue
            type = operation.type.builtin.rawValue &+ 1
            self.operation = operation.reduction.map { $0.builtin?.rawValue ?? ($0.isCommutative ? 0xFE : 0xFF) } ?? 0
            root = operation.kind.isRooted ? Int32(truncatingIfNeeded: operation.root) : -1
            let elementBytes = operation.type.isBytes ? Int64(operation.type.size) : 1
            switch operation.kind {
            case .allGatherv, .reduceScatter: count = Record.hash(operation.receiveCounts)
            case .gatherv, .scatterv, .allToAllv, .barrier: count = 0
            default: count = Int64(operation.count) &* elementBytes
            }
            own = Int64(operation.count)
        }

        /// FNV-1a over the counts, as on shared memory.
        static func hash(_ counts: UnsafeBufferPointer<Int>) -> Int64 {
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for count in counts { hash = (hash ^ UInt64(bitPattern: Int64(count))) &* 0x100_0000_01B3 }
            return Int64(bitPattern: hash)
        }

        /// Which of the shared arguments differ: bit 0 kind, 1 datatype, 2 operation, 3 root, 4 count.
        func differences(from other: Record) -> UInt8 {
            var found: UInt8 = 0
            if kind != other.kind { found |= 1 }
            if type != other.type { found |= 2 }
            if operation != other.operation { found |= 4 }
            if root != other.root { found |= 8 }
            if count != other.count { found |= 16 }
            return found
        }

        var summary: String {
            let kindName = Collective.Kind(rawValue: kind).map { "\($0)" } ?? "collective \(kind)"
            let typeName = Datatype.Builtin(rawValue: type &- 1).map { "\($0)" } ?? "type \(type)"
            var text = "\(kindName) of \(typeName)"
            switch Collective.Kind(rawValue: kind) {
            case .allGatherv, .reduceScatter: text += " with counts hashing to \(count)"
            case .gatherv, .scatterv, .allToAllv, .barrier: break
            default: text += " with count \(count)"
            }
            if root >= 0 { text += ", root \(root)" }
            switch operation {
            case 0: break
            case 0xFE: text += " with a commutative user-defined operation"
            case 0xFF: text += " with a non-commutative user-defined operation"
            default: text += Reduction.Builtin(rawValue: operation).map { " with \($0)" } ?? " with operation \(operation)"
            }
            return text
        }
    }

    static let recordSize = MemoryLayout<Record>.size

    /// Compares `operation` with every rank's call on `comm`; throws on every rank if they differ.
    static func verify(_ operation: CollectiveFields, comm: MPI_Comm, rank: Int, size: Int) throws(MPIError) {
        var mine = Record(operation)
        var records = [Record](repeating: mine, count: size)
        let code = records.withUnsafeMutableBytes { all in
            withUnsafeBytes(of: &mine) { own in
                MPI_Allgather(own.baseAddress, Int32(recordSize), cmpi_byte(), all.baseAddress, Int32(recordSize), cmpi_byte(), comm)
            }
        }
        try check(code, "MPI_Allgather",
            "comparing the arguments of \(operation.kind) across ranks (SWIFTMPI_CHECK=collectives)")
        var flags: UInt8 = 0
        for record in records { flags |= record.differences(from: records[0]) }
        if flags != 0 {
            let peer = records.indices.first { records[$0].differences(from: mine) != 0 } ?? 0
            let errorClass: MPIError.ErrorClass
            let what: String
            if flags & 7 != 0 {
                errorClass = .notSame
                what = flags & 1 != 0 ? "the operation called" : flags & 2 != 0 ? "the datatype" : "the reduction operation"
            } else if flags & 8 != 0 {
                (errorClass, what) = (.root, "the root")
            } else {
                (errorClass, what) = (.count, "the count")
            }
            throw MPIError(errorClass,
                "collective arguments differ between ranks (\(what)): rank \(rank) called \(mine.summary); "
                    + "rank \(peer) called \(records[peer].summary)")
        }
        try verifyPairwise(operation, records, comm: comm, rank: rank, size: size)
    }

    /// The v variants' per-pair sizes, once every rank called the same operation.
    private static func verifyPairwise(
        _ operation: CollectiveFields, _ records: [Record], comm: MPI_Comm, rank: Int, size: Int
    ) throws(MPIError) {
        // What this rank found: the peer (+1, 0 for none), the count expected and the count given.
        var found: (peer: Int, expected: Int, given: Int)?
        switch operation.kind {
        case .gatherv where rank == operation.root && operation.receiveCounts.count == size:
            for peer in 0..<size where !(peer == rank && operation.inPlace)
                && Int64(operation.receiveCounts[peer]) != records[peer].own {
                found = (peer, operation.receiveCounts[peer], Int(records[peer].own))
                break
            }
        case .scatterv where rank == operation.root && operation.sendCounts.count == size:
            for peer in 0..<size where !(peer == rank && operation.inPlace)
                && Int64(operation.sendCounts[peer]) != records[peer].own {
                found = (peer, Int(records[peer].own), operation.sendCounts[peer])
                break
            }
        case .allToAllv:
            // In place, the receive counts are the send counts too (MPI ignores the others).
            let sendCounts = operation.inPlace ? operation.receiveCounts : operation.sendCounts
            guard sendCounts.count == size && operation.receiveCounts.count == size else { break }
            var sent = sendCounts.map { Int64($0) }
            var incoming = [Int64](repeating: 0, count: size)
            try check(
                MPI_Alltoall(&sent, 1, cmpi_int64(), &incoming, 1, cmpi_int64(), comm), "MPI_Alltoall",
                "comparing the counts of allToAllv across ranks (SWIFTMPI_CHECK=collectives)")
            for peer in 0..<size where incoming[peer] != Int64(operation.receiveCounts[peer]) {
                found = (peer, operation.receiveCounts[peer], Int(incoming[peer]))
                break
            }
        case .gatherv, .scatterv:
            break
        default:
            return
        }
        var local: Int32 = found == nil ? 0 : 1
        var any: Int32 = 0
        try check(MPI_Allreduce(&local, &any, 1, cmpi_int32(), cmpi_op_max(), comm), "MPI_Allreduce",
            "sharing the outcome of comparing the counts of \(operation.kind) (SWIFTMPI_CHECK=collectives)")
        guard any != 0 else { return }
        var message = "collective arguments differ between ranks (the message sizes between pairs of ranks): rank \(rank) called \(records[rank].summary)"
        if let found {
            message += operation.kind == .scatterv
                ? "; rank \(rank) sends rank \(found.peer) \(found.given) elements where it expects \(found.expected)"
                : "; rank \(found.peer) sends rank \(rank) \(found.given) elements where \(found.expected) are expected"
        } else {
            message += "; another rank found the difference"
        }
        throw MPIError(.count, message)
    }
}
#endif
