/// A fixed-width scalar of the object message format: it travels as its little-endian bits,
/// behind its tag alone or packed with others in an array of its kind.
protocol MessageScalar: Codable, BitwiseCopyable, EncodingFastPath, DecodingFastPath {
    /// The bits on the wire.
    associatedtype WireBits: FixedWidthInteger & BitwiseCopyable
    static var kind: ScalarKind { get }
    var wireBits: WireBits { get }
    /// The value with these bits, or `nil` when they are none (a Bool byte other than 0 or 1,
    /// an Int wider than this platform's).
    init?(wireBits: WireBits)
}

extension MessageScalar {
    /// Whether memory holds values exactly as the wire does, so arrays are copied in bulk.
    static var isWireLayout: Bool {
        #if _endian(little)
        MemoryLayout<Self>.stride == MemoryLayout<WireBits>.size
        #else
        MemoryLayout<WireBits>.size == 1 && MemoryLayout<Self>.stride == 1
        #endif
    }

    /// Whether every bit pattern of the wire is a value, so bulk copies need no check.
    static var acceptsEveryBitPattern: Bool { kind != .bool }

    func write(to writer: MessageWriter) { writer.writeScalar(self) }

    static func read(from reader: MessageReader, at offset: Int, site: @autoclosure () -> CodingSite) throws -> Self {
        let (value, end) = try reader.readScalar(Self.self, at: offset, site: site())
        reader.finished(offset, end)
        return value
    }
}

extension Bool: MessageScalar {
    static var kind: ScalarKind { .bool }
    var wireBits: UInt8 { self ? 1 : 0 }
    init?(wireBits: UInt8) {
        guard wireBits <= 1 else { return nil }
        self = wireBits == 1
    }
}

/// Integers whose wire bits are their own.
protocol MessageInteger: MessageScalar, FixedWidthInteger where WireBits == Self {}

extension MessageInteger {
    var wireBits: Self { self }
    init?(wireBits: Self) { self = wireBits }
}

extension Int8: MessageInteger { static var kind: ScalarKind { .int8 } }
extension Int16: MessageInteger { static var kind: ScalarKind { .int16 } }
extension Int32: MessageInteger { static var kind: ScalarKind { .int32 } }
extension Int64: MessageInteger { static var kind: ScalarKind { .int64 } }
extension Int128: MessageInteger { static var kind: ScalarKind { .int128 } }
extension UInt8: MessageInteger { static var kind: ScalarKind { .uint8 } }
extension UInt16: MessageInteger { static var kind: ScalarKind { .uint16 } }
extension UInt32: MessageInteger { static var kind: ScalarKind { .uint32 } }
extension UInt64: MessageInteger { static var kind: ScalarKind { .uint64 } }
extension UInt128: MessageInteger { static var kind: ScalarKind { .uint128 } }

/// `Int` and `UInt` travel as 64 bits on every platform.
extension Int: MessageScalar {
    static var kind: ScalarKind { .int64 }
    var wireBits: Int64 { Int64(self) }
    init?(wireBits: Int64) { self.init(exactly: wireBits) }
}

extension UInt: MessageScalar {
    static var kind: ScalarKind { .uint64 }
    var wireBits: UInt64 { UInt64(self) }
    init?(wireBits: UInt64) { self.init(exactly: wireBits) }
}

/// Floats travel as their bit patterns, so NaN payloads, signed zeros and infinities survive.
extension Float: MessageScalar {
    static var kind: ScalarKind { .float32 }
    var wireBits: UInt32 { bitPattern }
    init?(wireBits: UInt32) { self.init(bitPattern: wireBits) }
}

extension Double: MessageScalar {
    static var kind: ScalarKind { .float64 }
    var wireBits: UInt64 { bitPattern }
    init?(wireBits: UInt64) { self.init(bitPattern: wireBits) }
}
