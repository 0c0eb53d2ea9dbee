// The `Decoder` and containers `MessageReader` hands to `init(from:)`. Each reads the value at
// an offset of the message.

/// The decoder of one value of the message.
struct LevelDecoder: Decoder {
    let reader: MessageReader
    let offset: Int
    let codingPath: [any CodingKey]

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try KeyedReadContainer<Key>(reader: reader, offset: offset, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try UnkeyedReadContainer(reader: reader, offset: offset, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueReadContainer(reader: reader, offset: offset, codingPath: codingPath)
    }
}

/// A keyed container. Entries are read in order while the keys asked for are the next ones
/// (as synthesized conformances ask); any other key, `allKeys` and `contains` index the
/// container once.
final class KeyedReadContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let reader: MessageReader
    let codingPath: [any CodingKey]
    /// Where the container value starts, and its first entry.
    private let offset: Int
    private let entries: Int
    private let entryCount: Int
    // Unchecked for exclusivity, as in `MessageReader`.
    /// The next entry in encoding order, and how many came before it.
    @exclusivity(unchecked) private var cursor: Int
    @exclusivity(unchecked) private var consumed = 0
    /// A value handed to a nested container or decoder: the cursor moves past it when next needed.
    @exclusivity(unchecked) private var pending: Int?
    @exclusivity(unchecked) private var index: [(key: WireKey, value: Int)]?
    /// Value offsets by key string, for large containers read out of order.
    @exclusivity(unchecked) private var lookup: [String: Int]?

    init(reader: MessageReader, offset: Int, codingPath: [any CodingKey]) throws {
        self.reader = reader
        self.offset = offset
        self.codingPath = codingPath
        let site = CodingSite(path: codingPath, key: nil)
        let header = try reader.containerHeader(at: offset, site: site)
        guard header.tag == WireFormat.keyed || header.tag == WireFormat.empty else {
            throw reader.mismatch(
                KeyedDecodingContainer<Key>.self, expected: "a keyed container (a struct, class, enum or dictionary)", found: header.tag, site)
        }
        entryCount = header.count
        entries = header.entries
        cursor = header.entries
    }

    private func site(_ key: some CodingKey) -> CodingSite {
        CodingSite(path: codingPath, key: key)
    }

    /// Where the value for `key` starts, and whether it is the next entry in encoding order.
    private func locate(_ key: some CodingKey) throws -> (value: Int, isNext: Bool)? {
        if consumed < entryCount {
            if let pending {
                cursor = try reader.end(ofValueAt: pending, site: site(key))
                self.pending = nil
            }
            var next = cursor
            if reader.matches(try reader.wireKey(at: &next, site: site(key)), key) { return (next, true) }
        }
        if lookup == nil { try buildIndex(site(key)) }
        if let lookup { return lookup[key.stringValue].map { ($0, false) } }
        return index!.first { reader.matches($0.key, key) }.map { ($0.value, false) }
    }

    /// Like `locate`, but throws `keyNotFound` naming the keys the container does hold.
    private func require(_ key: some CodingKey) throws -> (value: Int, isNext: Bool) {
        if let found = try locate(key) { return found }
        let names = index?.prefix(12).map { "'\(reader.name(of: $0.key))'" } ?? []
        let held = names.isEmpty ? "no keys" : names.joined(separator: ", ") + (entryCount > names.count ? ", …" : "")
        throw DecodingError.keyNotFound(key, .init(
            codingPath: codingPath,
            debugDescription: "no value for key '\(key.stringValue)'; the message holds \(held) here (was it encoded from another type?)"))
    }

    private func buildIndex(_ site: CodingSite) throws {
        guard index == nil else { return }
        var entries: [(key: WireKey, value: Int)] = []
        entries.reserveCapacity(entryCount)
        var next = self.entries
        for _ in 0..<entryCount {
            let key = try reader.wireKey(at: &next, site: site)
            entries.append((key, next))
            next = try reader.skipValue(at: next, site: site)
        }
        reader.finished(offset, next)
        index = entries
        if entryCount > 16 {
            lookup = Dictionary(entries.map { (reader.name(of: $0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// Moves the cursor past the next entry, which ends at `end`.
    private func advance(past end: Int) {
        cursor = end
        consumed += 1
        if consumed == entryCount { reader.finished(offset, end) }
    }

    /// Moves the cursor past the next entry once its value, handed on, has been read.
    private func advanceLater(past value: Int) {
        pending = value
        consumed += 1
    }

    var allKeys: [Key] {
        guard (try? buildIndex(CodingSite(path: codingPath, key: nil))) != nil, let index else { return [] }
        return index.compactMap { entry in
            switch entry.key {
            case .table(let name): Key(stringValue: reader.keyNames[name])
            case .integer(let value): Key(stringValue: String(value)) ?? Key(intValue: value)
            }
        }
    }

    func contains(_ key: Key) -> Bool {
        (try? locate(key)) != nil
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        let (value, isNext) = try require(key)
        guard try reader.byte(at: value, site: site(key)) == WireFormat.null else { return false }
        if isNext { advance(past: value + 1) }
        return true
    }

    /// The entry for `key`, or `nil` when it is absent or its value is nil — unless nil is a
    /// value of the type asked for (an Optional `T` of `decodeIfPresent`, so `Int??` keeps
    /// `.some(nil)` apart from an absent key).
    private func presentEntry(_ key: Key, nilIsValue: Bool) throws -> (value: Int, isNext: Bool)? {
        guard let entry = try locate(key) else { return nil }
        if !nilIsValue, try reader.byte(at: entry.value, site: site(key)) == WireFormat.null {
            if entry.isNext { advance(past: entry.value + 1) }
            return nil
        }
        return entry
    }

    @inline(__always) private func readScalar<S: MessageScalar>(_ entry: (value: Int, isNext: Bool), _ key: Key) throws -> S {
        let (result, end) = try reader.readScalar(S.self, at: entry.value, site: site(key))
        if entry.isNext { advance(past: end) }
        return result
    }

    private func readString(_ entry: (value: Int, isNext: Bool), _ key: Key) throws -> String {
        let (result, end) = try reader.readString(at: entry.value, site: site(key))
        if entry.isNext { advance(past: end) }
        return result
    }

    private func readValue<T: Decodable>(_ type: T.Type, _ entry: (value: Int, isNext: Bool), _ key: Key) throws -> T {
        let result = try reader.decodeValue(T.self, at: entry.value, site: site(key))
        if entry.isNext { advance(past: try reader.end(ofValueAt: entry.value, site: site(key))) }
        return result
    }

    @inline(__always) private func decodeScalar<S: MessageScalar>(_ key: Key) throws -> S {
        try readScalar(try require(key), key)
    }

    @inline(__always) private func decodeScalarIfPresent<S: MessageScalar>(_ key: Key) throws -> S? {
        try presentEntry(key, nilIsValue: false).map { try readScalar($0, key) }
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decodeScalar(key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decodeScalar(key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decodeScalar(key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decodeScalar(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decodeScalar(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decodeScalar(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decodeScalar(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decodeScalar(key) }
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 { try decodeScalar(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decodeScalar(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decodeScalar(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decodeScalar(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decodeScalar(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decodeScalar(key) }
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 { try decodeScalar(key) }

    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try readString(try require(key), key)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try readValue(T.self, try require(key), key)
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: Int128.Type, forKey key: Key) throws -> Int128? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try decodeScalarIfPresent(key) }
    func decodeIfPresent(_ type: UInt128.Type, forKey key: Key) throws -> UInt128? { try decodeScalarIfPresent(key) }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try presentEntry(key, nilIsValue: false).map { try readString($0, key) }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try presentEntry(key, nilIsValue: T.self is any AnyOptional.Type).map { try readValue(T.self, $0, key) }
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let value = try handOn(key)
        return KeyedDecodingContainer(try KeyedReadContainer<NestedKey>(reader: reader, offset: value, codingPath: codingPath + [key]))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let value = try handOn(key)
        return try UnkeyedReadContainer(reader: reader, offset: value, codingPath: codingPath + [key])
    }

    func superDecoder() throws -> any Decoder {
        LevelDecoder(reader: reader, offset: try handOn(MessageCodingKey.superKey), codingPath: codingPath + [MessageCodingKey.superKey])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        LevelDecoder(reader: reader, offset: try handOn(key), codingPath: codingPath + [key])
    }

    /// The value for `key`, to be read by a nested container or decoder.
    private func handOn(_ key: some CodingKey) throws -> Int {
        let (value, isNext) = try require(key)
        if isNext { advanceLater(past: value) }
        return value
    }
}

/// An unkeyed container: tagged elements, or the untagged elements of a packed scalar array
/// (so a `[Int]` message can be read as a `Set<Int>`).
struct UnkeyedReadContainer: UnkeyedDecodingContainer {
    let reader: MessageReader
    let codingPath: [any CodingKey]
    private let offset: Int
    private let elementCount: Int
    /// The kind of a packed array's elements.
    private let packedKind: ScalarKind?
    private var cursor: Int
    /// An element handed to a nested container or decoder: the cursor moves past it when next needed.
    private var pending: Int?
    private(set) var currentIndex = 0

    var count: Int? { elementCount }
    var isAtEnd: Bool { currentIndex >= elementCount }

    init(reader: MessageReader, offset: Int, codingPath: [any CodingKey]) throws {
        self.reader = reader
        self.offset = offset
        self.codingPath = codingPath
        let site = CodingSite(path: codingPath, key: nil)
        let header = try reader.containerHeader(at: offset, site: site)
        switch header.tag {
        case WireFormat.unkeyed, WireFormat.empty:
            packedKind = nil
        default:
            guard header.tag > WireFormat.bulk, let kind = ScalarKind(rawValue: header.tag - WireFormat.bulk) else {
                throw reader.mismatch(
                    (any UnkeyedDecodingContainer).self, expected: "an unkeyed container (an array or set)", found: header.tag, site)
            }
            packedKind = kind
        }
        elementCount = header.count
        cursor = header.entries
    }

    private var site: CodingSite {
        CodingSite(path: codingPath, key: MessageCodingKey(intValue: currentIndex))
    }

    /// Where the next element starts.
    private mutating func nextElement(_ type: Any.Type) throws -> Int {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(
                codingPath: codingPath + [MessageCodingKey(intValue: currentIndex)],
                debugDescription: "the unkeyed container has no element left (it holds \(elementCount))"))
        }
        if let pending {
            cursor = try reader.end(ofValueAt: pending, site: site)
            self.pending = nil
        }
        return cursor
    }

    private mutating func advance(past end: Int) {
        cursor = end
        currentIndex += 1
        if isAtEnd { reader.finished(offset, end) }
    }

    /// The next element, checked to be a tagged value (not a packed scalar); for nested
    /// containers and decoders, which read it later.
    private mutating func handOn(_ type: Any.Type) throws -> (value: Int, path: [any CodingKey]) {
        let value = try nextElement(type)
        let path = site.codingPath
        if let packedKind {
            throw reader.mismatch(type, expected: "a container", found: WireFormat.bulk + packedKind.rawValue, site)
        }
        pending = value
        currentIndex += 1
        return (value, path)
    }

    mutating func decodeNil() throws -> Bool {
        let element = try nextElement(Never?.self)
        guard packedKind == nil, try reader.byte(at: element, site: site) == WireFormat.null else { return false }
        advance(past: element + 1)
        return true
    }

    private mutating func decodeScalar<S: MessageScalar>() throws -> S {
        let element = try nextElement(S.self)
        if let packedKind {
            let value = try readPacked(S.self, kind: packedKind, at: element)
            advance(past: element + packedKind.width)
            return value
        }
        let (value, end) = try reader.readScalar(S.self, at: element, site: site)
        advance(past: end)
        return value
    }

    private func readPacked<S: MessageScalar>(_ type: S.Type, kind: ScalarKind, at element: Int) throws -> S {
        guard S.kind == kind else {
            throw reader.mismatch(S.self, expected: "a value of type \(S.kind)", found: WireFormat.bulk + kind.rawValue, site)
        }
        return try reader.readPacked(S.self, at: element, site: site)
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try decodeScalar() }
    mutating func decode(_ type: Double.Type) throws -> Double { try decodeScalar() }
    mutating func decode(_ type: Float.Type) throws -> Float { try decodeScalar() }
    mutating func decode(_ type: Int.Type) throws -> Int { try decodeScalar() }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decodeScalar() }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decodeScalar() }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decodeScalar() }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decodeScalar() }
    mutating func decode(_ type: Int128.Type) throws -> Int128 { try decodeScalar() }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decodeScalar() }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeScalar() }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeScalar() }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeScalar() }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeScalar() }
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { try decodeScalar() }

    mutating func decode(_ type: String.Type) throws -> String {
        let element = try nextElement(String.self)
        let (value, end) = try reader.readString(at: element, site: site)
        advance(past: end)
        return value
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let element = try nextElement(T.self)
        if let packedKind {
            guard let scalar = T.self as? any MessageScalar.Type else {
                throw reader.mismatch(T.self, expected: "a \(T.self)", found: WireFormat.bulk + packedKind.rawValue, site)
            }
            let value = try readPacked(scalar, kind: packedKind, at: element) as! T
            advance(past: element + packedKind.width)
            return value
        }
        let value = try reader.decodeValue(T.self, at: element, site: site)
        advance(past: try reader.end(ofValueAt: element, site: site))
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, path) = try handOn(KeyedDecodingContainer<NestedKey>.self)
        return KeyedDecodingContainer(try KeyedReadContainer<NestedKey>(reader: reader, offset: value, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try handOn((any UnkeyedDecodingContainer).self)
        return try UnkeyedReadContainer(reader: reader, offset: value, codingPath: path)
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path) = try handOn((any Decoder).self)
        return LevelDecoder(reader: reader, offset: value, codingPath: path)
    }
}

struct SingleValueReadContainer: SingleValueDecodingContainer {
    let reader: MessageReader
    let offset: Int
    let codingPath: [any CodingKey]

    private var site: CodingSite { CodingSite(path: codingPath, key: nil) }

    func decodeNil() -> Bool {
        (try? reader.byte(at: offset, site: site)) == WireFormat.null
    }

    private func decodeScalar<S: MessageScalar>() throws -> S {
        try S.read(from: reader, at: offset, site: site)
    }

    func decode(_ type: Bool.Type) throws -> Bool { try decodeScalar() }
    func decode(_ type: Double.Type) throws -> Double { try decodeScalar() }
    func decode(_ type: Float.Type) throws -> Float { try decodeScalar() }
    func decode(_ type: Int.Type) throws -> Int { try decodeScalar() }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeScalar() }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeScalar() }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeScalar() }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeScalar() }
    func decode(_ type: Int128.Type) throws -> Int128 { try decodeScalar() }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeScalar() }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeScalar() }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeScalar() }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeScalar() }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeScalar() }
    func decode(_ type: UInt128.Type) throws -> UInt128 { try decodeScalar() }

    func decode(_ type: String.Type) throws -> String {
        try String.read(from: reader, at: offset, site: site)
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try reader.decodeValue(T.self, at: offset, site: site)
    }
}
