// The `Encoder` and containers `MessageWriter` hands to `encode(to:)`. Each is a writer and the
// slot of the value it writes; the writer checks the slot is still open before every write.

/// The encoder of one value of the message.
struct LevelEncoder: Encoder {
    let writer: MessageWriter
    let slot: MessageWriter.Slot

    var codingPath: [any CodingKey] { writer.codingPath(of: slot) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedWriteContainer<Key>(writer: writer, slot: writer.startContainer(slot, keyed: true)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedWriteContainer(writer: writer, slot: writer.startContainer(slot, keyed: false))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueWriteContainer(writer: writer, slot: slot)
    }
}

struct KeyedWriteContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: MessageWriter
    let slot: MessageWriter.Slot

    var codingPath: [any CodingKey] { writer.codingPath(of: slot) }

    /// Begins the entry for `key`: checks the container is open and writes the key.
    private func startEntry(_ key: Key) throws {
        guard writer.startEntry(slot) else {
            throw writer.recordMisuse("a container was written to after a value begun later in an enclosing container", at: codingPath + [key])
        }
        writer.writeKey(key)
    }

    @inline(__always) private func encodeScalar<S: MessageScalar>(_ value: S, _ key: Key) throws {
        try startEntry(key)
        writer.writeScalar(value)
    }

    mutating func encodeNil(forKey key: Key) throws {
        try startEntry(key)
        writer.writeTag(WireFormat.null)
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: Int128, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try encodeScalar(value, key) }
    mutating func encode(_ value: UInt128, forKey key: Key) throws { try encodeScalar(value, key) }

    mutating func encode(_ value: String, forKey key: Key) throws {
        try startEntry(key)
        writer.writeString(value)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try startEntry(key)
        try writer.encodeValue(value, under: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedWriteContainer<NestedKey>(writer: writer, slot: nestedSlot(forKey: key) {
            writer.beginContainer(keyed: true, under: key)
        }))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        UnkeyedWriteContainer(writer: writer, slot: nestedSlot(forKey: key) { writer.beginContainer(keyed: false, under: key) })
    }

    mutating func superEncoder() -> any Encoder {
        LevelEncoder(writer: writer, slot: nestedSlot(forKey: MessageCodingKey.superKey) {
            writer.beginEncoder(under: MessageCodingKey.superKey)
        })
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        LevelEncoder(writer: writer, slot: nestedSlot(forKey: key) { writer.beginEncoder(under: key) })
    }

    /// Begins the entry for `key` and the value `begin` opens there; these calls cannot throw,
    /// so a misuse is recorded for `finish()` and the result is a slot that never opens.
    private func nestedSlot(forKey key: some CodingKey, _ begin: () -> MessageWriter.Slot) -> MessageWriter.Slot {
        guard writer.startEntry(slot) else {
            writer.recordMisuse("a container was written to after a value begun later in an enclosing container", at: codingPath + [key])
            return .ended
        }
        writer.writeKey(key)
        return begin()
    }
}

struct UnkeyedWriteContainer: UnkeyedEncodingContainer, ScalarEncoding {
    let writer: MessageWriter
    let slot: MessageWriter.Slot

    var codingPath: [any CodingKey] { writer.codingPath(of: slot) }
    var count: Int { writer.count(of: slot) }

    /// Begins the next element; returns its key for coding paths.
    private func startElement() throws -> MessageCodingKey {
        guard writer.startEntry(slot) else {
            throw writer.recordMisuse(
                "a container was written to after a value begun later in an enclosing container",
                at: codingPath + [MessageCodingKey(intValue: count)])
        }
        return MessageCodingKey(intValue: count - 1)
    }

    func encodeScalar<S: MessageScalar>(_ value: S) throws {
        _ = try startElement()
        writer.writeScalar(value)
    }

    mutating func encodeNil() throws {
        _ = try startElement()
        writer.writeTag(WireFormat.null)
    }

    mutating func encode(_ value: Int128) throws { try encodeScalar(value) }
    mutating func encode(_ value: UInt128) throws { try encodeScalar(value) }

    mutating func encode(_ value: String) throws {
        _ = try startElement()
        writer.writeString(value)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let key = try startElement()
        try writer.encodeValue(value, under: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedWriteContainer<NestedKey>(writer: writer, slot: nestedSlot { key in
            writer.beginContainer(keyed: true, under: key)
        }))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedWriteContainer(writer: writer, slot: nestedSlot { key in writer.beginContainer(keyed: false, under: key) })
    }

    mutating func superEncoder() -> any Encoder {
        LevelEncoder(writer: writer, slot: nestedSlot { key in writer.beginEncoder(under: key) })
    }

    /// Begins the next element and the value `begin` opens there (see `KeyedWriteContainer`).
    private func nestedSlot(_ begin: (MessageCodingKey) -> MessageWriter.Slot) -> MessageWriter.Slot {
        guard let key = try? startElement() else { return .ended }
        return begin(key)
    }
}

struct SingleValueWriteContainer: SingleValueEncodingContainer, ScalarEncoding {
    let writer: MessageWriter
    let slot: MessageWriter.Slot

    var codingPath: [any CodingKey] { writer.codingPath(of: slot) }

    private func start() throws {
        guard writer.startSingleValue(slot) else {
            throw writer.recordMisuse("a single value container encoded a second value, or was used after its value ended", at: codingPath)
        }
    }

    func encodeScalar<S: MessageScalar>(_ value: S) throws {
        try start()
        writer.writeScalar(value)
    }

    mutating func encodeNil() throws {
        try start()
        writer.writeTag(WireFormat.null)
    }

    mutating func encode(_ value: Int128) throws { try encodeScalar(value) }
    mutating func encode(_ value: UInt128) throws { try encodeScalar(value) }

    mutating func encode(_ value: String) throws {
        try start()
        writer.writeString(value)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try start()
        try writer.encodeValue(value, under: nil)
    }
}

/// The scalar `encode` overloads of unkeyed and single value containers, which differ only in
/// how a value begins. (Int128 and UInt128 are on the types: the standard library's default
/// implementations of those two would make these ambiguous.)
protocol ScalarEncoding {
    func encodeScalar<S: MessageScalar>(_ value: S) throws
}

extension ScalarEncoding {
    mutating func encode(_ value: Bool) throws { try encodeScalar(value) }
    mutating func encode(_ value: Double) throws { try encodeScalar(value) }
    mutating func encode(_ value: Float) throws { try encodeScalar(value) }
    mutating func encode(_ value: Int) throws { try encodeScalar(value) }
    mutating func encode(_ value: Int8) throws { try encodeScalar(value) }
    mutating func encode(_ value: Int16) throws { try encodeScalar(value) }
    mutating func encode(_ value: Int32) throws { try encodeScalar(value) }
    mutating func encode(_ value: Int64) throws { try encodeScalar(value) }
    mutating func encode(_ value: UInt) throws { try encodeScalar(value) }
    mutating func encode(_ value: UInt8) throws { try encodeScalar(value) }
    mutating func encode(_ value: UInt16) throws { try encodeScalar(value) }
    mutating func encode(_ value: UInt32) throws { try encodeScalar(value) }
    mutating func encode(_ value: UInt64) throws { try encodeScalar(value) }
}
