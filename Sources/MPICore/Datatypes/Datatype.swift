/// The MPI datatype of a message element.
///
/// Predefined datatypes describe Swift's scalar types; a type conforming to ``MessageElement``
/// names the datatype its values travel as. Structs get a datatype of their own in one of two
/// ways:
///
/// - ``structure(of:_:)`` describes the struct's fields by key path, from their offsets in
///   memory. Only those fields travel; padding and fields left out are neither read into the
///   message nor written by a receive. On Open MPI this is a real derived datatype
///   (`MPI_Type_create_struct`, resized to the struct's stride), built once and cached.
/// - ``contiguousBytes(of:)`` moves the struct's whole stride as untyped bytes, padding included.
///
/// Either way, reductions over struct elements take a user-defined ``ReductionOp``. Strided
/// layouts of a buffer (a column of a row-major matrix) are ``MessageLayout``s.
public struct Datatype: Hashable, Sendable, CustomStringConvertible {
    /// The predefined datatypes swift-mpi maps Swift scalars to.
    @usableFromInline
    package enum Builtin: UInt8, Sendable, CaseIterable {
        case int8, int16, int32, int64, uint8, uint16, uint32, uint64
        case float32, float64, bool, float16, byte

        /// Bytes of one element.
        @inlinable package var size: Int {
            switch self {
            case .int8, .uint8, .bool, .byte: 1
            case .int16, .uint16, .float16: 2
            case .int32, .uint32, .float32: 4
            case .int64, .uint64, .float64: 8
            }
        }
    }

    /// The predefined element kind: the scalar type for predefined datatypes and runs of them,
    /// `.byte` for byte runs and for composed (registered) datatypes.
    @usableFromInline package let builtin: Builtin
    /// Elements of `builtin` per element of this datatype, when it is not a registered one:
    /// 1 for a predefined datatype, n for a run of n (a byte run, a SIMD vector).
    @usableFromInline package let run: Int
    /// Bytes of data in one element (`MPI_Type_size`): what travels per element.
    public let size: Int
    /// Bytes from one element to the next in memory (`MPI_Type_get_extent`; the lower bound is
    /// always 0). Equal to `MemoryLayout.stride` of the Swift type a datatype describes.
    public let extent: Int
    /// Whether one element's data fills its whole extent, with no gap: `count` elements are then
    /// `count × extent` contiguous bytes that can be copied as they are.
    @usableFromInline package let isDense: Bool
    /// 1 + the index of this datatype's layout in the process-wide registry, 0 for a predefined
    /// datatype or a run (which need none).
    @usableFromInline package let layoutID: UInt32

    @inlinable package init(_ builtin: Builtin) {
        self.builtin = builtin
        self.run = 1
        self.size = builtin.size
        self.extent = builtin.size
        self.isDense = true
        self.layoutID = 0
    }

    /// `run` consecutive elements of `builtin` as one element `extent` bytes apart (only dense
    /// runs are made: `contiguous` registers the others, so every datatype with gaps has a layout).
    @inlinable package init(run: Int, of builtin: Builtin, extent: Int) {
        self.builtin = builtin
        self.run = run
        self.size = run * builtin.size
        self.extent = extent
        self.isDense = extent == run * builtin.size
        self.layoutID = 0
    }

    /// A registered datatype.
    package init(layoutID: UInt32, size: Int, extent: Int, isDense: Bool) {
        self.builtin = .byte
        self.run = size
        self.size = size
        self.extent = extent
        self.isDense = isDense
        self.layoutID = layoutID
    }

    /// Whether elements are opaque to the predefined reductions (a byte run or a composed
    /// datatype): only user-defined reductions can combine them.
    @inlinable package var isBytes: Bool { builtin == .byte || run > 1 }

    /// Whether this is one of the predefined datatypes (`MPI_INT`, `MPI_DOUBLE`, `MPI_BYTE`, …).
    @inlinable package var isPredefined: Bool { layoutID == 0 && run == 1 }

    /// Whether `count` elements travel as `count × run` elements of `builtin`, contiguous in
    /// memory: predefined datatypes and dense runs. Everything else is a derived datatype made
    /// of a layout.
    @inlinable package var isPrimitive: Bool { layoutID == 0 && isDense }

    /// One element made of `count` untyped bytes (`MPI_Type_contiguous(count, MPI_BYTE)`).
    ///
    /// Values move intact, byte for byte; reductions over them need a user-defined
    /// ``ReductionOp``.
    @inlinable
    public static func contiguousBytes(_ count: Int) -> Datatype {
        precondition(count >= 1, "a contiguous-bytes datatype needs at least one byte, got \(count)")
        return count == 1 ? .byte : Datatype(run: count, of: .byte, extent: count)
    }

    /// The datatype that moves values of `type` as their `MemoryLayout` stride of untyped bytes,
    /// padding included: `static var datatype: Datatype { .contiguousBytes(of: Pair.self) }`.
    /// ``structure(of:_:)`` moves only the fields it names.
    @inlinable
    public static func contiguousBytes<T: BitwiseCopyable>(of type: T.Type) -> Datatype {
        contiguousBytes(MemoryLayout<T>.stride)
    }

    /// `count` consecutive elements of `element` as one element (`MPI_Type_contiguous`), whose
    /// extent is `extent` bytes (`MPI_Type_create_resized`; by default `count` × the element's
    /// extent). `SIMD3<Double>` is `try .contiguous(3, of: .double, extent: 32)`.
    ///
    /// Zero elements make an empty datatype, as in MPI: its elements carry no data.
    ///
    /// - Throws: `MPIError(.count)` for a negative count, `MPIError(.argument)` for an extent
    ///   smaller than the elements (``resized(_:extent:)`` makes elements overlap on purpose).
    public static func contiguous(_ count: Int, of element: Datatype, extent: Int? = nil) throws(MPIError) -> Datatype {
        guard count >= 0 else { throw MPIError(.count, "a contiguous datatype needs a count of at least 0, got \(count)") }
        let (natural, overflow) = count.multipliedReportingOverflow(by: element.extent)
        guard !overflow else { throw MPIError(.count, "\(count) elements of \(element) overflow the address space") }
        let extent = extent ?? natural
        guard extent >= natural else {
            throw MPIError(.argument, "extent \(extent) is smaller than the \(natural) bytes of \(count) × \(element)")
        }
        // A dense run of a predefined element needs no layout; anything else is registered
        // (an empty one too: it is no run of its element, and travels as a derived datatype).
        if element.isPredefined && extent == natural && count > 0 { return Datatype(run: count, of: element.builtin, extent: extent) }
        return DatatypeRegistry.register(.contiguous(count: count, element: element), extent: extent)
    }

    // Computed, not stored: a `static let` of a struct is a lazily initialized global, read
    // through an addressor call on every message; these fold to constants where they inline.
    @inlinable public static var int8: Datatype { Datatype(.int8) }
    @inlinable public static var int16: Datatype { Datatype(.int16) }
    @inlinable public static var int32: Datatype { Datatype(.int32) }
    @inlinable public static var int64: Datatype { Datatype(.int64) }
    @inlinable public static var uint8: Datatype { Datatype(.uint8) }
    @inlinable public static var uint16: Datatype { Datatype(.uint16) }
    @inlinable public static var uint32: Datatype { Datatype(.uint32) }
    @inlinable public static var uint64: Datatype { Datatype(.uint64) }
    @inlinable public static var float: Datatype { Datatype(.float32) }
    @inlinable public static var double: Datatype { Datatype(.float64) }
    @inlinable public static var bool: Datatype { Datatype(.bool) }
    /// IEEE half precision. Open MPI 4.1 has no half type: it travels as 16 raw bits there.
    @inlinable public static var float16: Datatype { Datatype(.float16) }
    /// Untyped bytes (`MPI_BYTE`).
    @inlinable public static var byte: Datatype { Datatype(.byte) }

    public var description: String {
        if layoutID != 0 { return DatatypeRegistry.layout(layoutID).description }
        if run == 1 { return "\(builtin)" }
        return builtin == .byte ? "bytes(\(run))" : "\(builtin)×\(run)"
    }
}

/// A type whose values can be sent as MPI message elements: a bitwise-copyable value with a
/// fixed MPI datatype, whose extent is the type's `MemoryLayout` stride.
///
/// A struct conforms by naming its fields:
///
/// ```swift
/// struct Particle: MessageElement {
///     var position: SIMD3<Double>
///     var id: Int32
///     static let datatype = Datatype.structure(of: Particle.self, .field(\.position), .field(\.id))
/// }
/// ```
public protocol MessageElement: BitwiseCopyable, SendableMetatype, ReceiveBuffer where Element == Self {
    /// The datatype values of this type travel as.
    static var datatype: Datatype { get }
}

extension Int8: MessageElement { @inlinable public static var datatype: Datatype { .int8 } }
extension Int16: MessageElement { @inlinable public static var datatype: Datatype { .int16 } }
extension Int32: MessageElement { @inlinable public static var datatype: Datatype { .int32 } }
extension Int64: MessageElement { @inlinable public static var datatype: Datatype { .int64 } }
extension UInt8: MessageElement { @inlinable public static var datatype: Datatype { .uint8 } }
extension UInt16: MessageElement { @inlinable public static var datatype: Datatype { .uint16 } }
extension UInt32: MessageElement { @inlinable public static var datatype: Datatype { .uint32 } }
extension UInt64: MessageElement { @inlinable public static var datatype: Datatype { .uint64 } }
extension Int: MessageElement {
    @inlinable public static var datatype: Datatype { MemoryLayout<Int>.size == 8 ? .int64 : .int32 }
}
extension UInt: MessageElement {
    @inlinable public static var datatype: Datatype { MemoryLayout<UInt>.size == 8 ? .uint64 : .uint32 }
}
extension Float: MessageElement { @inlinable public static var datatype: Datatype { .float } }
extension Double: MessageElement { @inlinable public static var datatype: Datatype { .double } }
extension Bool: MessageElement { @inlinable public static var datatype: Datatype { .bool } }
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: MessageElement { @inlinable public static var datatype: Datatype { .float16 } }
#endif
