/// Decodes values from the bytes ``MessageEncoder`` writes.
///
/// The type decoded should be the type encoded, as in any MPI program. Another type fails
/// with a `DecodingError` that says what differs: `keyNotFound` naming a key the message
/// lacks, or `typeMismatch` naming what was expected and what was found (integers must be
/// read at the width they were written). Keys the message holds beyond those asked for are
/// ignored. A truncated or corrupt message throws `DecodingError.dataCorrupted`.
public struct MessageDecoder: Sendable {
    public init() {}

    /// Decodes a `T` from `bytes`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes a `T` from the message in `bytes`, which need stay valid only during the call.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        let reader = try MessageReader(bytes)
        defer { reader.close() }
        return try reader.decodeValue(T.self, at: MessageReader.bodyStart, site: CodingSite(path: [], key: nil))
    }
}
