#if OpenMPI
import CMPI
import MPICore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reductions written in Swift, on Open MPI (`MPI_Op_create`).
///
/// Open MPI calls a user function as `f(invec, inoutvec, &len, &datatype)`: no argument carries
/// a context pointer for the Swift closure. The datatype does identify the call, though: MPI
/// passes the function the handle given to the reduction call (MPI-4.1 §6.9.5). So each reduction
/// call that needs Swift code gets a datatype of its own (`MPI_Type_contiguous` of the element's
/// bytes, committed), the call's kernel is registered under that handle, and one C-convention
/// trampoline, behind two process-wide operations (commutative and not), looks the kernel up.
///
/// The registry is a dictionary behind a mutex rather than thread-local state: a nonblocking
/// reduction runs inside whatever MPI call progresses it, on whichever thread makes that call.
/// The datatype (and with it the registration) lives until the operation completes.
final class UserReduction {
    let datatype: MPI_Datatype

    private static let kernels = Mutex<[UInt: Reduction.Kernel]>([:])
    private static let operations = Mutex<(commutative: MPI_Op, nonCommutative: MPI_Op)?>(nil)

    /// Registers `kernel` for elements of `elementSize` bytes under a new datatype.
    init(elementSize: Int, kernel: @escaping Reduction.Kernel) throws(MPIError) {
        guard let bytes = Int32(exactly: elementSize) else {
            throw MPIError(.type, "elements of \(elementSize) bytes are too large for a reduction on Open MPI")
        }
        var type: MPI_Datatype?
        try check(MPI_Type_contiguous(bytes, cmpi_byte(), &type), "MPI_Type_contiguous", "\(elementSize)-byte reduction element")
        do {
            try check(MPI_Type_commit(&type), "MPI_Type_commit", "\(elementSize)-byte reduction element")
        } catch {
            _ = MPI_Type_free(&type)
            throw error
        }
        datatype = type.unsafelyUnwrapped
        UserReduction.kernels.withLock { $0[UInt(bitPattern: datatype)] = kernel }
    }

    /// Registers `kernel` under a duplicate of `base` (a derived datatype): same layout, a handle
    /// of this call's own.
    init(duplicating base: MPI_Datatype, kernel: @escaping Reduction.Kernel) throws(MPIError) {
        var type: MPI_Datatype?
        try check(MPI_Type_dup(base, &type), "MPI_Type_dup", "datatype of a Swift reduction")
        datatype = type.unsafelyUnwrapped
        UserReduction.kernels.withLock { $0[UInt(bitPattern: datatype)] = kernel }
    }

    deinit {
        UserReduction.kernels.withLock { _ = $0.removeValue(forKey: UInt(bitPattern: datatype)) }
        var finalized: Int32 = 0
        _ = MPI_Finalized(&finalized)
        guard finalized == 0 else { return }
        var type: MPI_Datatype? = datatype
        // A failed free leaks one datatype handle; nothing can be reported from a deinit.
        _ = MPI_Type_free(&type)
    }

    /// The operation whose function is the trampoline, created on first use and kept until
    /// `MPI_Finalize`.
    static func operation(commutative: Bool) throws(MPIError) -> MPI_Op {
        try operations.withLock { (operations) throws(MPIError) -> MPI_Op in
            if let operations { return commutative ? operations.commutative : operations.nonCommutative }
            var commutativeOp: MPI_Op?
            var nonCommutativeOp: MPI_Op?
            try check(MPI_Op_create(userReductionTrampoline, 1, &commutativeOp), "MPI_Op_create", "commutative Swift reduction")
            try check(MPI_Op_create(userReductionTrampoline, 0, &nonCommutativeOp), "MPI_Op_create", "non-commutative Swift reduction")
            operations = (commutativeOp.unsafelyUnwrapped, nonCommutativeOp.unsafelyUnwrapped)
            return commutative ? commutativeOp.unsafelyUnwrapped : nonCommutativeOp.unsafelyUnwrapped
        }
    }

    /// The kernel registered for `datatype`.
    static func kernel(for datatype: MPI_Datatype) -> Reduction.Kernel? {
        kernels.withLock { $0[UInt(bitPattern: datatype)] }
    }
}

/// The C function behind every Swift reduction: finds the kernel by the datatype argument.
private func userReductionTrampoline(
    _ input: UnsafeMutableRawPointer?, _ output: UnsafeMutableRawPointer?, _ length: UnsafeMutablePointer<Int32>?,
    _ datatype: UnsafeMutablePointer<MPI_Datatype?>?
) {
    guard let input, let output, let length, let type = datatype?.pointee,
        let kernel = UserReduction.kernel(for: type)
    else {
        // Only a datatype swift-mpi registered reaches here; anything else is a broken invariant
        // that would otherwise corrupt the result silently.
        fatalError("swift-mpi: a Swift reduction was called with an unregistered datatype")
    }
    kernel(UnsafeRawPointer(input), output, Int(length.pointee))
}

extension Reduction {
    /// Open MPI's own operation for this reduction on `type`, if it has one: every predefined
    /// operation on a predefined datatype except half precision (no MPI type in Open MPI 4.1),
    /// the value-index pairs (which travel as bytes), and sums of 8- and 16-bit integers, which
    /// Open MPI 4.1's AVX operation component saturates instead of wrapping (open-mpi/ompi#8045,
    /// closed "wontfix"; measured here on an AVX-512 machine) where swift-mpi promises wrapping.
    func nativeOperation(on type: Datatype) -> MPI_Op? {
        guard let builtin, !type.isBytes, type.builtin != .float16 else { return nil }
        if builtin == .sum && [.int8, .uint8, .int16, .uint16].contains(type.builtin) { return nil }
        switch builtin {
        case .sum: return cmpi_op_sum()
        case .product: return cmpi_op_prod()
        case .minimum: return cmpi_op_min()
        case .maximum: return cmpi_op_max()
        case .logicalAnd: return cmpi_op_land()
        case .logicalOr: return cmpi_op_lor()
        case .logicalXor: return cmpi_op_lxor()
        case .bitwiseAnd: return cmpi_op_band()
        case .bitwiseOr: return cmpi_op_bor()
        case .bitwiseXor: return cmpi_op_bxor()
        // MPI_REPLACE and MPI_NO_OP are accumulate operations in MPI, not for collectives: the
        // Swift kernel applies them, in rank order.
        case .minimumLocation, .maximumLocation, .replace, .noOp: return nil
        }
    }
}
#endif
