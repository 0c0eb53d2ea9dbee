#if OpenMPI
import CMPI
import MPICore
import Synchronization

/// Open MPI derived datatypes for swift-mpi's composed `Datatype`s, built on first use from their
/// recipes (`MPI_Type_contiguous`, `MPI_Type_create_struct`, `MPI_Type_vector`,
/// `MPI_Type_create_hvector`, `MPI_Type_create_indexed_block`, `MPI_Type_create_hindexed`,
/// `MPI_Type_create_subarray`, then `MPI_Type_create_resized` to the Swift stride),
/// committed, and kept for the life of the job: a program names a handful of datatypes and sends
/// them many times, so each costs one dictionary lookup per operation after the first.
enum DerivedDatatype {
    private static let cache = Mutex<[Datatype: UInt]>([:])

    /// The committed Open MPI datatype of `type`.
    static func mpi(for type: Datatype) throws(MPIError) -> MPI_Datatype {
        if type.isPredefined { return type.builtin.mpi }
        if let found = cache.withLock({ $0[type] }) { return MPI_Datatype(bitPattern: found).unsafelyUnwrapped }
        // Built outside the lock (a struct's members are looked up recursively); a thread that
        // races here builds a second copy, and the first one stored wins.
        var built = try build(type)
        do {
            try check(MPI_Type_commit(&built), "MPI_Type_commit", "\(type)")
        } catch {
            _ = MPI_Type_free(&built)
            throw error
        }
        let made = built.unsafelyUnwrapped
        let kept = cache.withLock { cache -> UInt in
            if let existing = cache[type] { return existing }
            cache[type] = UInt(bitPattern: made)
            return UInt(bitPattern: made)
        }
        if kept != UInt(bitPattern: made) { _ = MPI_Type_free(&built) }
        return MPI_Datatype(bitPattern: kept).unsafelyUnwrapped
    }

    /// An uncommitted datatype for `type`, resized to its extent.
    private static func build(_ type: Datatype) throws(MPIError) -> MPI_Datatype? {
        var body: MPI_Datatype?
        let what = "\(type)"
        guard let recipe = type.recipe else {
            // A run of a predefined element (a byte run, a SIMD vector's lanes).
            try check(MPI_Type_contiguous(try int(type.run, what), type.builtin.mpi, &body), "MPI_Type_contiguous", what)
            return try resized(body, to: type.extent, what)
        }
        switch recipe {
        case .contiguous(let count, let element):
            try check(MPI_Type_contiguous(try int(count, what), try mpi(for: element), &body), "MPI_Type_contiguous", what)
        case .vector(let count, let blockLength, let stride, let element):
            try check(
                MPI_Type_vector(try int(count, what), try int(blockLength, what), try int(stride, what), try mpi(for: element), &body),
                "MPI_Type_vector", what)
        case .indexed(let blockLength, let displacements, let element):
            var ints: [Int32] = []
            for displacement in displacements { ints.append(try int(displacement, what)) }
            let length = try int(blockLength, what)
            let elementType = try mpi(for: element)
            try check(
                MPI_Type_create_indexed_block(try int(ints.count, what), length, ints, elementType, &body),
                "MPI_Type_create_indexed_block", what)
        case .hvector(let count, let blockLength, let strideBytes, let element):
            try check(
                MPI_Type_create_hvector(try int(count, what), try int(blockLength, what), MPI_Aint(strideBytes), try mpi(for: element), &body),
                "MPI_Type_create_hvector", what)
        case .hindexed(let blockLengths, let byteDisplacements, let element):
            var lengths: [Int32] = []
            for length in blockLengths { lengths.append(try int(length, what)) }
            let offsets = byteDisplacements.map { MPI_Aint($0) }
            let elementType = try mpi(for: element)
            try check(
                MPI_Type_create_hindexed(try int(lengths.count, what), lengths, offsets, elementType, &body),
                "MPI_Type_create_hindexed", what)
        case .subarray(let sizes, let subsizes, let starts, let rowMajor, let element):
            var ints: [[Int32]] = []
            for list in [sizes, subsizes, starts] {
                var converted: [Int32] = []
                for value in list { converted.append(try int(value, what)) }
                ints.append(converted)
            }
            let elementType = try mpi(for: element)
            try check(
                MPI_Type_create_subarray(
                    try int(sizes.count, what), ints[0], ints[1], ints[2], rowMajor ? MPI_ORDER_C : MPI_ORDER_FORTRAN,
                    elementType, &body),
                "MPI_Type_create_subarray", what)
        case .structure(_, let members):
            var lengths: [Int32] = []
            var offsets: [MPI_Aint] = []
            var types: [MPI_Datatype?] = []
            for member in members {
                lengths.append(try int(member.count, what))
                offsets.append(MPI_Aint(member.offset))
                types.append(try mpi(for: member.type))
            }
            try check(
                MPI_Type_create_struct(try int(members.count, what), lengths, offsets, &types, &body),
                "MPI_Type_create_struct", what)
        }
        return try resized(body, to: type.extent, what)
    }

    /// `body` with lower bound 0 and extent `extent` (freeing `body` if a new type was made).
    private static func resized(_ body: MPI_Datatype?, to extent: Int, _ what: String) throws(MPIError) -> MPI_Datatype? {
        var body = body
        var lowerBound: MPI_Aint = 0
        var current: MPI_Aint = 0
        try check(MPI_Type_get_extent(body, &lowerBound, &current), "MPI_Type_get_extent", what)
        if lowerBound == 0 && current == MPI_Aint(extent) { return body }
        defer { _ = MPI_Type_free(&body) }
        var result: MPI_Datatype?
        try check(MPI_Type_create_resized(body, 0, MPI_Aint(extent), &result), "MPI_Type_create_resized", what)
        return result
    }

    private static func int(_ value: Int, _ what: String) throws(MPIError) -> Int32 {
        guard let int = Int32(exactly: value) else { throw MPIError(.count, "\(value) in datatype \(what) exceeds Open MPI's int range") }
        return int
    }
}
#endif
