#if OpenMPI
import CMPI
import MPICore

// The one place an MPI return code becomes a Swift error, and the conversions between the
// backend protocol's values and Open MPI's handles and constants.
//
// Every `MPI_*` call of this backend passes its return code to `check`. The context is an
// autoclosure so the message is built only when the call failed: the hot path pays a compare.

/// Throws an `MPIError` unless `code` is `MPI_SUCCESS`.
///
/// - Parameters:
///   - code: the return code of an `MPI_*` call.
///   - call: the name of the C function, for the message.
///   - context: what the call was doing (ranks, tags, sizes); evaluated only on failure.
@inline(__always)
func check(_ code: Int32, _ call: StaticString, _ context: @autoclosure () -> String = "") throws(MPIError) {
    guard code == MPI_SUCCESS else { throw mpiError(code: code, call: call, context: context()) }
}

/// Builds the error for a failed call: the class from `MPI_Error_class`, the text from
/// `MPI_Error_string`, then the call and its context. (These two calls are the only ones not
/// checked: their failure leaves a less precise message, not an unreported error.)
@inline(never)
func mpiError(code: Int32, call: StaticString, context: String) -> MPIError {
    var errorClass: Int32 = 0
    if MPI_Error_class(code, &errorClass) != MPI_SUCCESS { errorClass = MPI_ERR_UNKNOWN }
    let capacity = Int(cmpi_max_error_string()) + 1
    let text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
        var length: Int32 = 0
        buffer.initialize(repeating: 0)
        guard MPI_Error_string(code, buffer.baseAddress, &length) == MPI_SUCCESS else {
            return "error code \(code)"
        }
        return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(length)), as: UTF8.self)
    }
    var message = "\(call) failed: \(text)"
    if !context.isEmpty { message += " (\(context))" }
    return MPIError(MPIError.ErrorClass(openMPIClass: errorClass), code: Int(code), message)
}

extension MPIError.ErrorClass {
    /// The portable class of an Open MPI error class value.
    init(openMPIClass value: Int32) {
        switch value {
        case MPI_ERR_BUFFER: self = .buffer
        case MPI_ERR_COUNT: self = .count
        case MPI_ERR_TYPE: self = .type
        case MPI_ERR_TAG: self = .tag
        case MPI_ERR_COMM: self = .communicator
        case MPI_ERR_RANK: self = .rank
        case MPI_ERR_REQUEST: self = .request
        case MPI_ERR_ROOT: self = .root
        case MPI_ERR_GROUP: self = .group
        case MPI_ERR_OP: self = .operation
        case MPI_ERR_TOPOLOGY: self = .topology
        case MPI_ERR_DIMS: self = .dimensions
        case MPI_ERR_ARG: self = .argument
        case MPI_ERR_TRUNCATE: self = .truncate
        case MPI_ERR_OTHER: self = .other
        case MPI_ERR_INTERN: self = .intern
        case MPI_ERR_NO_MEM: self = .noMemory
        case MPI_ERR_NOT_SAME: self = .notSame
        case MPI_ERR_UNSUPPORTED_OPERATION: self = .unsupported
        case MPI_ERR_WIN: self = .window
        case MPI_ERR_RMA_SYNC: self = .rmaSync
        case MPI_ERR_RMA_RANGE: self = .rmaRange
        case MPI_ERR_RMA_CONFLICT: self = .rmaConflict
        case MPI_ERR_RMA_SHARED: self = .rmaShared
        case MPI_ERR_LOCKTYPE: self = .lockType
        case MPI_ERR_ASSERT: self = .assertion
        case MPI_ERR_DISP: self = .displacement
        case MPI_ERR_ACCESS: self = .access
        case MPI_ERR_AMODE: self = .accessMode
        case MPI_ERR_BAD_FILE: self = .badFile
        case MPI_ERR_FILE_EXISTS: self = .fileExists
        case MPI_ERR_FILE_IN_USE: self = .fileInUse
        case MPI_ERR_FILE: self = .file
        case MPI_ERR_IO: self = .io
        case MPI_ERR_NO_SPACE: self = .noSpace
        case MPI_ERR_NO_SUCH_FILE: self = .noSuchFile
        case MPI_ERR_QUOTA: self = .quota
        case MPI_ERR_READ_ONLY: self = .readOnly
        case MPI_ERR_UNKNOWN: self = .unknown
        default: self = MPIError.ErrorClass(rawValue: Int(value))
        }
    }
}

// MARK: Handles and constants

extension CommHandle {
    /// The handle naming Open MPI communicator `comm`: the pointer's bits.
    @inline(__always)
    init(_ comm: MPI_Comm) { self.init(raw: UInt(bitPattern: comm)) }

    /// The Open MPI communicator this handle names.
    @inline(__always)
    var mpi: MPI_Comm { MPI_Comm(bitPattern: raw).unsafelyUnwrapped }
}

extension Datatype.Builtin {
    /// The predefined Open MPI datatype of this element type. Open MPI 4.1 has no half type, so
    /// `float16` travels as its 16 bits (`MPI_UINT16_T`); `bool` is `MPI_C_BOOL`, one byte like
    /// Swift's `Bool`.
    @inline(__always)
    var mpi: MPI_Datatype {
        switch self {
        case .int8: cmpi_int8()
        case .int16: cmpi_int16()
        case .int32: cmpi_int32()
        case .int64: cmpi_int64()
        case .uint8: cmpi_uint8()
        case .uint16: cmpi_uint16()
        case .uint32: cmpi_uint32()
        case .uint64: cmpi_uint64()
        case .float32: cmpi_float()
        case .float64: cmpi_double()
        case .bool: cmpi_c_bool()
        case .float16: cmpi_uint16()
        case .byte: cmpi_byte()
        }
    }
}

/// A validated rank or `Communicator.anySource` as Open MPI spells it. Ranks arrive checked
/// against the communicator size, so they fit in `Int32`.
@inline(__always)
func mpiRank(_ rank: Int) -> Int32 {
    rank == Communicator.anySource ? MPI_ANY_SOURCE : Int32(truncatingIfNeeded: rank)
}

/// A validated tag or `Communicator.anyTag` as Open MPI spells it. Tags arrive checked against
/// `MPI_TAG_UB`, so they fit in `Int32`.
@inline(__always)
func mpiTag(_ tag: Int) -> Int32 {
    tag == Communicator.anyTag ? MPI_ANY_TAG : Int32(truncatingIfNeeded: tag)
}

/// The public API's value for a rank found in an `MPI_Status`.
@inline(__always)
func swiftRank(_ rank: Int32) -> Int {
    switch rank {
    case MPI_PROC_NULL: Communicator.nullProcess
    case MPI_ANY_SOURCE: Communicator.anySource
    default: Int(rank)
    }
}

/// The public API's value for a tag found in an `MPI_Status`.
@inline(__always)
func swiftTag(_ tag: Int32) -> Int {
    tag == MPI_ANY_TAG ? Communicator.anyTag : Int(tag)
}

extension ThreadLevel {
    var mpi: Int32 {
        switch self {
        case .single: Int32(MPI_THREAD_SINGLE)
        case .funneled: Int32(MPI_THREAD_FUNNELED)
        case .serialized: Int32(MPI_THREAD_SERIALIZED)
        case .multiple: Int32(MPI_THREAD_MULTIPLE)
        }
    }

    init(mpi value: Int32) {
        switch Int(value) {
        case MPI_THREAD_MULTIPLE: self = .multiple
        case MPI_THREAD_SERIALIZED: self = .serialized
        case MPI_THREAD_FUNNELED: self = .funneled
        default: self = .single
        }
    }
}
#endif
