#if OpenMPI
import CMPI
import MPICore

/// The (count, datatype) pair a buffer of `count` elements travels as.
///
/// Elements of a run datatype (a struct moved as its bytes, a SIMD vector's lanes) travel as
/// `count` × the run length of the predefined element; a composed datatype (a struct's fields, a
/// strided layout) as `count` elements of its cached Open MPI derived datatype (`DerivedDatatype`). Open MPI 4.1 takes `int` counts and has none of MPI-4's `_c` big-count calls. Up to
/// `Int32.max` elements the pair is the count and the predefined datatype, with no MPI call.
/// Beyond, it is one element of a derived datatype that spans the whole buffer (the BigMPI
/// construction: contiguous chunks of 2^30 elements, then the remainder, joined by a struct
/// type), committed here and freed by ``release()`` after a blocking operation, right after
/// posting an immediate one (MPI keeps its own reference until the operation completes), and when
/// a persistent request is released. Type matching is by signature, so either side may use
/// either form.
struct WireType {
    /// Elements per chunk of a derived big-count type.
    static let chunkElements = 1 << 30

    let count: Int32
    let datatype: MPI_Datatype
    /// The predefined datatype of one element; `MPI_Get_elements_x` counts in these.
    let element: MPI_Datatype
    /// Bytes of one `element`: the datatype's size, or 1 for a byte run.
    let elementSize: Int
    private let isDerived: Bool

    @inline(__always)
    init(count elements: Int, element type: Datatype) throws(MPIError) {
        guard type.isPrimitive else {
            // A composed datatype travels as itself: `count` elements of its Open MPI datatype.
            guard let count = Int32(exactly: elements) else {
                throw MPIError(.count, "\(elements) elements of \(type) exceed Open MPI's int range (big counts work for predefined datatypes only)")
            }
            self.count = count
            self.datatype = try DerivedDatatype.mpi(for: type)
            self.element = cmpi_byte()
            self.elementSize = 1
            self.isDerived = false
            return
        }
        var count = elements
        if type.run > 1 {
            let (scalars, overflow) = elements.multipliedReportingOverflow(by: type.run)
            guard !overflow else { throw MPIError(.count, "\(elements) elements of \(type) overflow Int") }
            count = scalars
        }
        let element = type.builtin.mpi
        self.element = element
        self.elementSize = type.builtin.size
        if count <= Int(Int32.max) {
            self.count = Int32(truncatingIfNeeded: count)
            self.datatype = element
            self.isDerived = false
        } else {
            self.count = 1
            self.datatype = try WireType.derived(count: count, element: element)
            self.isDerived = true
        }
    }

    /// Frees the derived datatype, if one was made.
    @inline(__always)
    func release() {
        guard isDerived else { return }
        var type: MPI_Datatype? = datatype
        // A failed free leaks one datatype handle; the operation itself already succeeded or threw.
        try? check(MPI_Type_free(&type), "MPI_Type_free")
    }

    /// A committed datatype describing `count` consecutive `element`s.
    @inline(never)
    static func derived(count: Int, element: MPI_Datatype) throws(MPIError) -> MPI_Datatype {
        let chunks = count / chunkElements
        let remainder = count % chunkElements
        guard chunks <= Int(Int32.max) else {
            throw MPIError(.count, "count \(count) is too large even for a derived datatype of \(chunkElements)-element chunks")
        }
        var chunk: MPI_Datatype?
        try check(MPI_Type_contiguous(Int32(chunkElements), element, &chunk), "MPI_Type_contiguous", "chunk of \(chunkElements) elements")
        defer { try? check(MPI_Type_free(&chunk), "MPI_Type_free") }
        var body: MPI_Datatype?
        try check(MPI_Type_contiguous(Int32(chunks), chunk, &body), "MPI_Type_contiguous", "\(chunks) chunks")
        var result: MPI_Datatype?
        if remainder == 0 {
            result = body
        } else {
            defer { try? check(MPI_Type_free(&body), "MPI_Type_free") }
            var tail: MPI_Datatype?
            try check(MPI_Type_contiguous(Int32(remainder), element, &tail), "MPI_Type_contiguous", "remainder of \(remainder) elements")
            defer { try? check(MPI_Type_free(&tail), "MPI_Type_free") }
            var lowerBound: MPI_Aint = 0
            var extent: MPI_Aint = 0
            try check(MPI_Type_get_extent(element, &lowerBound, &extent), "MPI_Type_get_extent")
            var lengths: (Int32, Int32) = (1, 1)
            var displacements: (MPI_Aint, MPI_Aint) = (0, MPI_Aint(chunks * chunkElements) * extent)
            var types: (MPI_Datatype?, MPI_Datatype?) = (body, tail)
            let code = withUnsafeMutablePointer(to: &lengths) { lengths in
                withUnsafeMutablePointer(to: &displacements) { displacements in
                    withUnsafeMutablePointer(to: &types) { types in
                        MPI_Type_create_struct(
                            2,
                            UnsafeRawPointer(lengths).assumingMemoryBound(to: Int32.self),
                            UnsafeRawPointer(displacements).assumingMemoryBound(to: MPI_Aint.self),
                            UnsafeMutableRawPointer(types).assumingMemoryBound(to: MPI_Datatype?.self),
                            &result)
                    }
                }
            }
            try check(code, "MPI_Type_create_struct", "\(chunks) chunks of \(chunkElements) elements + \(remainder)")
        }
        do {
            try check(MPI_Type_commit(&result), "MPI_Type_commit", "derived datatype of \(count) elements")
        } catch {
            try? check(MPI_Type_free(&result), "MPI_Type_free")
            throw error
        }
        return result.unsafelyUnwrapped
    }
}
#endif
