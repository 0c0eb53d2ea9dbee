/// Encodes `Encodable` values into the compact binary format that object messages carry
/// (`Communicator.send(object:to:tag:mode:)`); ``MessageDecoder`` reads them back.
///
/// Scalars travel little-endian at their fixed width, strings as UTF-8, arrays of scalars as
/// one packed block (a `[Double]` of n elements costs 8n bytes and a few more), and keyed
/// containers with compact keys, so a message decodes only as a type with the same keys.
/// Values are written in the order they are encoded: an encoder or container cannot be
/// written to once a value begun after it in an enclosing container has started, as
/// synthesized conformances never do; `encode(_:)` throws if one is.
public struct MessageEncoder: Sendable {
    public init() {}

    /// The message bytes for `value`.
    ///
    /// - Throws: `EncodingError.invalidValue` for an encoder or container used out of order,
    ///   and whatever `value`'s `encode(to:)` throws.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let writer = MessageWriter()
        try writer.encodeValue(value, under: nil)
        return try writer.finish()
    }
}
