/// The MPI datatype of a message element.
///
/// Predefined datatypes describe Swift's scalar types; a type conforming to ``MessageElement``
/// names the datatype its values travel as. A plain struct can travel as a run of untyped bytes
/// (``contiguousBytes(of:)``), which moves it intact and lets user-defined reductions combine it.
public struct Datatype: Hashable, Sendable, CustomStringConvertible {
    /// The predefined datatypes swift-mpi maps Swift scalars to.
    @usableFromInline
    package enum Builtin: UInt8, Sendable, CaseIterable {
        case int8, int16, int32, int64, uint8, uint16, uint32, uint64
        case float32, float64, bool, float16, byte
    }

    @usableFromInline package let builtin: Builtin
    /// Bytes per element when `builtin` is `.byte`: 1 for `MPI_BYTE` itself, more for a run of
    /// bytes standing for one struct value.
    @usableFromInline package let byteRun: Int

    @inlinable package init(_ builtin: Builtin) {
        self.builtin = builtin
        self.byteRun = 1
    }

    @inlinable init(byteRun: Int) {
        self.builtin = .byte
        self.byteRun = byteRun
    }

    /// Size of one element in bytes (`MPI_Type_size`).
    @inlinable public var size: Int {
        switch builtin {
        case .int8, .uint8, .bool: 1
        case .byte: byteRun
        case .int16, .uint16, .float16: 2
        case .int32, .uint32, .float32: 4
        case .int64, .uint64, .float64: 8
        }
    }

    /// Whether elements are opaque bytes (`byte` or a ``contiguousBytes(_:)`` run), which only
    /// user-defined reductions can combine.
    @inlinable package var isBytes: Bool { builtin == .byte }

    /// One element made of `count` untyped bytes (`MPI_Type_contiguous(count, MPI_BYTE)`).
    ///
    /// Values move intact, byte for byte; reductions over them need a user-defined
    /// ``ReductionOp``. (Derived datatypes that describe a struct's fields come later.)
    @inlinable
    public static func contiguousBytes(_ count: Int) -> Datatype {
        precondition(count >= 1, "a contiguous-bytes datatype needs at least one byte, got \(count)")
        return count == 1 ? .byte : Datatype(byteRun: count)
    }

    /// The datatype that moves values of `type` as their `MemoryLayout` stride of untyped bytes:
    /// the datatype of a plain struct, e.g.
    /// `static var datatype: Datatype { .contiguousBytes(of: Particle.self) }`.
    @inlinable
    public static func contiguousBytes<T: BitwiseCopyable>(of type: T.Type) -> Datatype {
        contiguousBytes(MemoryLayout<T>.stride)
    }

    public static let int8 = Datatype(.int8)
    public static let int16 = Datatype(.int16)
    public static let int32 = Datatype(.int32)
    public static let int64 = Datatype(.int64)
    public static let uint8 = Datatype(.uint8)
    public static let uint16 = Datatype(.uint16)
    public static let uint32 = Datatype(.uint32)
    public static let uint64 = Datatype(.uint64)
    public static let float = Datatype(.float32)
    public static let double = Datatype(.float64)
    public static let bool = Datatype(.bool)
    /// IEEE half precision. Open MPI 4.1 has no half type: it travels as 16 raw bits there.
    public static let float16 = Datatype(.float16)
    /// Untyped bytes (`MPI_BYTE`).
    public static let byte = Datatype(.byte)

    public var description: String { builtin == .byte && byteRun > 1 ? "bytes(\(byteRun))" : "\(builtin)" }
}

/// A type whose values can be sent as MPI message elements: a bitwise-copyable value with a
/// fixed MPI datatype.
public protocol MessageElement: BitwiseCopyable, SendableMetatype {
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
