// The binary format of object messages, written by `MessageEncoder` and read by `MessageDecoder`.
//
//     message   = 0xB1 value keytable tablesize
//     value     = 0x00                               nil
//               | kind bits                          a scalar: kind 0x01…0x0D, then its bits
//               | 0x0E varint utf8                   a string: byte count, UTF-8
//               | 0x0F varint (key value)*           a keyed container: entry count, entries
//               | 0x10 varint value*                 an unkeyed container: element count, elements
//               | 0x11 value                         an Optional that holds a value
//               | 0x12                               a value that encoded nothing
//               | 0x20+kind varint bits*             an array of one scalar kind: count, packed bits
//     key       = varint                             even: 2 × index in the key table; odd: 2 ×
//                                                    zigzag(integer) + 1, for a key whose string is
//                                                    that integer's decimal form
//     keytable  = varint (varint utf8)*              the key strings, in order of first use
//     tablesize = 4-byte byte count of keytable
//
// Scalars are little-endian and fixed-width (Int and UInt as 64 bits); varints are unsigned
// LEB128. Arrays of fixed-width scalars are one tag and a block of bits copied in bulk, so a
// `[Double]` costs its bytes plus a few.
//
// Trade-offs, chosen for MPI, where both sides are one program and decode the type they send:
// - Entries of a keyed container carry a compact key (a table index, 1 byte for the first 64
//   key names), not their value's length. Decoding in encoding order, which synthesized
//   conformances do, reads straight through; a key asked for out of order, `allKeys` and
//   `contains` scan the container once to index it. Because keys are named, a message read as
//   a type with other fields fails with `keyNotFound` naming the missing key rather than
//   decoding garbage, and `[String: V]` and enums with associated values (which need
//   `allKeys`) work.
// - Every value starts with a tag, so reading a value as the wrong kind throws `typeMismatch`
//   naming both. Integers must be read at the width they were written.
// - A container's count is written when the container ends, which the encoder learns from the
//   next write to an enclosing container (or the end of the enclosing `encode(to:)`): values
//   are written in the order they are encoded, so an encoder or container cannot be written to
//   after a sibling that was begun later (JSONEncoder allows that; synthesized code never does
//   it, and the encoder throws instead of writing a corrupt message).

/// Constants of the object message format.
enum WireFormat {
    /// First byte of every message: names the format and its version.
    static let magic: UInt8 = 0xB1

    static let null: UInt8 = 0x00
    static let string: UInt8 = 0x0E
    static let keyed: UInt8 = 0x0F
    static let unkeyed: UInt8 = 0x10
    static let some: UInt8 = 0x11
    static let empty: UInt8 = 0x12
    /// Added to a scalar kind: an array of that kind.
    static let bulk: UInt8 = 0x20

    /// The key `superEncoder()` and `superDecoder()` use.
    static let superKey = "super"

    /// What a tag introduces, for error messages.
    static func describe(_ tag: UInt8) -> String {
        if let kind = ScalarKind(rawValue: tag) { return "a value of type \(kind)" }
        if tag > bulk, let kind = ScalarKind(rawValue: tag - bulk) { return "an array of \(kind)" }
        switch tag {
        case null: return "nil"
        case string: return "a String"
        case keyed: return "a keyed container (a struct, class, enum or dictionary)"
        case unkeyed: return "an unkeyed container (an array or set)"
        case some: return "an Optional"
        case empty: return "a value that encoded nothing"
        default: return "unknown tag 0x\(String(tag, radix: 16))"
        }
    }
}

/// The fixed-width scalar types of the format; the raw value is the scalar's tag.
enum ScalarKind: UInt8, CustomStringConvertible {
    case bool = 0x01
    case int8, int16, int32, int64, int128
    case uint8, uint16, uint32, uint64, uint128
    case float32, float64

    /// Bytes of one value.
    var width: Int {
        switch self {
        case .bool, .int8, .uint8: 1
        case .int16, .uint16: 2
        case .int32, .uint32, .float32: 4
        case .int64, .uint64, .float64: 8
        case .int128, .uint128: 16
        }
    }

    var description: String {
        switch self {
        case .bool: "Bool"
        case .int8: "Int8"
        case .int16: "Int16"
        case .int32: "Int32"
        case .int64: "Int64 (or Int)"
        case .int128: "Int128"
        case .uint8: "UInt8"
        case .uint16: "UInt16"
        case .uint32: "UInt32"
        case .uint64: "UInt64 (or UInt)"
        case .uint128: "UInt128"
        case .float32: "Float"
        case .float64: "Double"
        }
    }
}

/// The key of an element of an unkeyed container in a coding path, or a named key of the
/// coders' own (`super`).
package struct MessageCodingKey: CodingKey {
    private let name: String?
    package let intValue: Int?

    /// Formatted only when asked for: coding paths are built for every element but read
    /// only in errors.
    package var stringValue: String { name ?? "Index \(intValue ?? 0)" }

    package init(stringValue: String) {
        name = stringValue
        intValue = nil
    }

    package init(intValue: Int) {
        name = nil
        self.intValue = intValue
    }

    static let superKey = MessageCodingKey(stringValue: WireFormat.superKey)
}

/// How a key travels: an index into the message's key table, or an integer standing for its
/// own decimal string (dictionary keys that are numbers; no table entry needed).
enum WireKey {
    case table(Int)
    case integer(Int)

    /// The varint a key is written as.
    var code: UInt64 {
        switch self {
        case .table(let index): return UInt64(index) << 1
        case .integer(let value):
            let wide = Int64(value)
            return UInt64((wide << 1) ^ (wide >> 63)) << 1 | 1
        }
    }

    init(code: UInt64) {
        if code & 1 == 0 {
            self = .table(Int(truncatingIfNeeded: code >> 1))
        } else {
            let zigzag = Int64(code >> 1)
            self = .integer(Int(truncatingIfNeeded: (zigzag >> 1) ^ -(zigzag & 1)))
        }
    }

    /// The integer form of `key` when its string is exactly an integer's decimal form small
    /// enough to travel that way.
    static func integer(of key: some CodingKey) -> Int? {
        guard let value = key.intValue, value.magnitude < 1 << 61, key.stringValue == String(value) else { return nil }
        return value
    }
}
