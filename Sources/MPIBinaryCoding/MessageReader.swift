/// One decoding in progress: the message bytes (borrowed for the duration of the decode), its
/// key table, and the end of the value last read through.
///
/// Reading is by offset: a container knows where its entries start and keeps its own cursor.
/// After a nested value, a container continues at that value's end, which the reader usually
/// knows because the value was just read to its end (`finished`); otherwise it skips the value
/// (a value read only in part, or through a nested container).
final class MessageReader {
    private let bytes: UnsafeRawBufferPointer
    /// Where the top-level value ends and the key table begins.
    private let bodyEnd: Int
    // Unchecked for exclusivity, as in `MessageWriter`: one decode, one thread, no access that
    // spans a call out.
    @exclusivity(unchecked) private(set) var keyNames: [String] = []
    @exclusivity(unchecked) private var lastFinished = (start: -1, end: -1)
    /// False once the decode has returned and `bytes` may be gone; a container kept past then
    /// throws instead of reading.
    @exclusivity(unchecked) private var isOpen = true

    /// Where the top-level value starts.
    static let bodyStart = 1

    /// Checks the frame of the message (magic byte, key table) and reads the key table.
    init(_ bytes: UnsafeRawBufferPointer) throws {
        let minimum = 7  // magic, one tag, an empty key table, its 4-byte size
        guard bytes.count >= minimum else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: [], debugDescription: "\(bytes.count) bytes are too few for an object message (at least \(minimum))"))
        }
        guard bytes[0] == WireFormat.magic else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: [],
                debugDescription: "not an object message: it starts with 0x\(String(bytes[0], radix: 16)), where MessageEncoder writes 0x\(String(WireFormat.magic, radix: 16))"))
        }
        let tableEnd = bytes.count - 4
        let tableSize = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: tableEnd, as: UInt32.self)))
        guard tableSize >= 1, tableSize <= tableEnd - 2 else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: [], debugDescription: "corrupt object message: a key table of \(tableSize) bytes does not fit in \(bytes.count) bytes"))
        }
        self.bytes = bytes
        bodyEnd = tableEnd - tableSize
        keyNames = try readKeyTable(from: bodyEnd, to: tableEnd)
    }

    /// Ends the decode: later reads throw.
    func close() {
        isOpen = false
    }

    private func readKeyTable(from start: Int, to end: Int) throws -> [String] {
        let site = CodingSite(path: [], key: nil)
        var offset = start
        let count = try self.count(at: &offset, unit: 1, limit: end, site: site)
        var names: [String] = []
        names.reserveCapacity(count)
        for _ in 0..<count {
            let length = try self.count(at: &offset, unit: 1, limit: end, site: site)
            names.append(try utf8(at: offset, length: length, site: site))
            offset += length
        }
        guard offset == end else { throw corrupt("\(end - offset) stray bytes after the key table", site) }
        return names
    }

    // MARK: Values

    /// Decodes a `T` from the value at `offset`.
    func decodeValue<T: Decodable>(_ type: T.Type, at offset: Int, site: @autoclosure () -> CodingSite) throws -> T {
        if let direct = T.self as? any DecodingFastPath.Type {
            return try direct.read(from: self, at: offset, site: site()) as! T
        }
        return try T(from: LevelDecoder(reader: self, offset: offset, codingPath: site().codingPath))
    }

    /// Records that the value at `start` was read to its end, `end`.
    func finished(_ start: Int, _ end: Int) {
        lastFinished = (start, end)
    }

    /// Records that the value behind the one-byte prefix at `start` was read to its end.
    func finishedBehindPrefix(_ start: Int) {
        if lastFinished.start == start + 1 { lastFinished.start = start }
    }

    /// Where the value at `offset` ends.
    func end(ofValueAt offset: Int, site: @autoclosure () -> CodingSite) throws -> Int {
        lastFinished.start == offset ? lastFinished.end : try skipValue(at: offset, site: site())
    }

    /// Walks over the value at `start` without decoding it; returns its end. Iterative, so a
    /// corrupt message of deeply nested containers cannot overflow the stack.
    func skipValue(at start: Int, site: @autoclosure () -> CodingSite) throws -> Int {
        var offset = start
        // Entries left in each container being skipped, innermost last; a keyed one has a key
        // before each value.
        var containers: [(remaining: Int, keyed: Bool)] = []
        walk: while true {
            let tag = try byte(at: offset, site: site())
            offset += 1
            switch tag {
            case WireFormat.some:
                continue walk
            case WireFormat.null, WireFormat.empty:
                break
            case WireFormat.string:
                offset += try count(at: &offset, unit: 1, site: site())
            case WireFormat.keyed, WireFormat.unkeyed:
                let keyed = tag == WireFormat.keyed
                let count = try self.count(at: &offset, unit: keyed ? 2 : 1, site: site())
                if count > 0 {
                    containers.append((count, keyed))
                    if keyed { _ = try varint(at: &offset, site: site()) }
                    continue walk
                }
            default:
                if let kind = ScalarKind(rawValue: tag) {
                    try require(kind.width, at: offset, site: site())
                    offset += kind.width
                } else if tag > WireFormat.bulk, let kind = ScalarKind(rawValue: tag - WireFormat.bulk) {
                    offset += try count(at: &offset, unit: kind.width, site: site()) * kind.width
                } else {
                    throw corrupt("unknown tag 0x\(String(tag, radix: 16)) at offset \(offset - 1)", site())
                }
            }
            // A value ended: count it in its container, and end the containers it completes.
            while let innermost = containers.last {
                if innermost.remaining > 1 {
                    containers[containers.count - 1].remaining -= 1
                    if innermost.keyed { _ = try varint(at: &offset, site: site()) }
                    continue walk
                }
                containers.removeLast()
            }
            return offset
        }
    }

    // MARK: Tagged values

    /// The tag of the value at `offset`, past any presence tags (a non-optional type reads an
    /// optional's value), and the offset after it.
    func valueTag(at offset: Int, site: @autoclosure () -> CodingSite) throws -> (tag: UInt8, next: Int) {
        var offset = offset
        while true {
            let tag = try byte(at: offset, site: site())
            offset += 1
            if tag != WireFormat.some { return (tag, offset) }
        }
    }

    /// The header of a container at `offset`: its tag, its count and where its entries start.
    /// Keyed and unkeyed containers, packed arrays and empty values (no entries) have one;
    /// for any other tag the count is 0 and the caller rejects the tag. An empty container is
    /// recorded as read to its end.
    func containerHeader(at offset: Int, site: @autoclosure () -> CodingSite) throws -> (tag: UInt8, count: Int, entries: Int) {
        let (tag, next) = try valueTag(at: offset, site: site())
        var entries = next
        let unit: Int
        switch tag {
        case WireFormat.keyed: unit = 2
        case WireFormat.unkeyed: unit = 1
        default:
            guard tag > WireFormat.bulk, let kind = ScalarKind(rawValue: tag - WireFormat.bulk) else { return (tag, 0, next) }
            unit = kind.width
        }
        let count = try self.count(at: &entries, unit: unit, site: site())
        if count == 0 { finished(offset, entries) }
        return (tag, count, entries)
    }

    func readScalar<S: MessageScalar>(_ type: S.Type, at offset: Int, site: @autoclosure () -> CodingSite) throws -> (value: S, end: Int) {
        let (tag, next) = try valueTag(at: offset, site: site())
        guard tag == S.kind.rawValue else { throw mismatch(S.self, expected: "a value of type \(S.kind)", found: tag, site()) }
        return (try readPacked(S.self, at: next, site: site()), next + S.kind.width)
    }

    /// A scalar's bits without a tag, as they are packed in an array.
    func readPacked<S: MessageScalar>(_ type: S.Type, at offset: Int, site: @autoclosure () -> CodingSite) throws -> S {
        try require(MemoryLayout<S.WireBits>.size, at: offset, site: site())
        let bits = S.WireBits(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: S.WireBits.self))
        guard let value = S(wireBits: bits) else {
            throw corrupt("0x\(String(bits, radix: 16)) at offset \(offset) is not a valid \(S.self)", site())
        }
        return value
    }

    func readString(at offset: Int, site: @autoclosure () -> CodingSite) throws -> (value: String, end: Int) {
        let (tag, start) = try valueTag(at: offset, site: site())
        var next = start
        guard tag == WireFormat.string else { throw mismatch(String.self, expected: "a String", found: tag, site()) }
        let length = try count(at: &next, unit: 1, site: site())
        return (try utf8(at: next, length: length, site: site()), next + length)
    }

    private func utf8(at offset: Int, length: Int, site: @autoclosure () -> CodingSite) throws -> String {
        let utf8 = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
        // ASCII (most keys and many strings) is valid as it stands, and much cheaper to check
        // than the general validation.
        if utf8.allSatisfy({ $0 < 0x80 }) { return String(decoding: utf8, as: UTF8.self) }
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw corrupt("the \(length) bytes at offset \(offset) are not valid UTF-8", site())
        }
        return string
    }

    /// A packed array of scalars: where its elements start, how many, and where it ends.
    struct BulkBlock {
        let start: Int
        let elements: Int
        let count: Int
        var end: Int { elements + count * width }
        let width: Int
    }

    /// The packed array of `S` at `offset`; `nil` when the value is an unkeyed container or
    /// empty instead (an array written element by element), to be decoded the general way.
    func bulkBlock<S: MessageScalar>(of type: S.Type, at offset: Int, site: @autoclosure () -> CodingSite) throws -> BulkBlock? {
        let (tag, start) = try valueTag(at: offset, site: site())
        var next = start
        if tag == WireFormat.unkeyed || tag == WireFormat.empty { return nil }
        guard tag == WireFormat.bulk + S.kind.rawValue else {
            throw mismatch([S].self, expected: "an array of \(S.kind)", found: tag, site())
        }
        let count = try self.count(at: &next, unit: S.kind.width, site: site())
        return BulkBlock(start: offset, elements: next, count: count, width: S.kind.width)
    }

    /// Copies the elements of `block` into `buffer`, which holds `block.count` elements: in one
    /// copy when memory holds them as the wire does.
    func copyBulk<S: MessageScalar>(_ block: BulkBlock, into buffer: UnsafeMutableBufferPointer<S>, site: @autoclosure () -> CodingSite) throws {
        if S.isWireLayout && S.acceptsEveryBitPattern {
            if block.count > 0 {
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: bytes[block.elements..<block.end]))
            }
        } else {
            for index in 0..<block.count {
                (buffer.baseAddress! + index).initialize(to: try readPacked(S.self, at: block.elements + index * block.width, site: site()))
            }
        }
        finished(block.start, block.end)
    }

    // MARK: Keys

    func wireKey(at offset: inout Int, site: @autoclosure () -> CodingSite) throws -> WireKey {
        let key = WireKey(code: try varint(at: &offset, site: site()))
        if case .table(let index) = key, index >= keyNames.count {
            throw corrupt("key \(index) at offset \(offset) is not in the message's table of \(keyNames.count) keys", site())
        }
        return key
    }

    func name(of key: WireKey) -> String {
        switch key {
        case .table(let index): keyNames[index]
        case .integer(let value): String(value)
        }
    }

    /// Whether the entry key `wire` is `key`: keys are equal when their strings are.
    func matches(_ wire: WireKey, _ key: some CodingKey) -> Bool {
        switch wire {
        case .table(let index): keyNames[index] == key.stringValue
        case .integer(let value): (key.intValue == nil || key.intValue == value) && key.stringValue == String(value)
        }
    }

    // MARK: Bytes

    func byte(at offset: Int, site: @autoclosure () -> CodingSite) throws -> UInt8 {
        try require(1, at: offset, site: site())
        return bytes[offset]
    }

    /// Checks that `count` bytes at `offset` lie within the body.
    private func require(_ count: Int, at offset: Int, limit: Int? = nil, site: @autoclosure () -> CodingSite) throws {
        guard isOpen else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: site().codingPath, debugDescription: "a decoding container was used after MessageDecoder.decode returned"))
        }
        let limit = limit ?? bodyEnd
        guard offset >= 0, offset <= limit, count <= limit - offset else {
            throw corrupt("the message is truncated: \(count) bytes needed at offset \(offset), but it ends at \(limit)", site())
        }
    }

    func varint(at offset: inout Int, limit: Int? = nil, site: @autoclosure () -> CodingSite) throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            try require(1, at: offset, limit: limit, site: site())
            let byte = bytes[offset]
            offset += 1
            guard shift < 64, shift < 63 || byte <= 1 else { throw corrupt("a varint at offset \(offset) overflows 64 bits", site()) }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    /// A count of things of at least `unit` bytes each, which must fit in what is left.
    func count(at offset: inout Int, unit: Int, limit: Int? = nil, site: @autoclosure () -> CodingSite) throws -> Int {
        let start = offset
        let value = try varint(at: &offset, limit: limit, site: site())
        let room = (limit ?? bodyEnd) - offset
        guard value <= UInt64(room / unit) else {
            throw corrupt("the message is truncated or corrupt: a count of \(value) at offset \(start) needs \(unit) bytes each, but \(room) bytes are left", site())
        }
        return Int(value)
    }

    // MARK: Errors

    func corrupt(_ what: String, _ site: CodingSite) -> DecodingError {
        DecodingError.dataCorrupted(.init(codingPath: site.codingPath, debugDescription: what))
    }

    func mismatch(_ type: Any.Type, expected: String, found tag: UInt8, _ site: CodingSite) -> DecodingError {
        if tag == WireFormat.null {
            return DecodingError.valueNotFound(type, .init(codingPath: site.codingPath, debugDescription: "expected \(expected), found nil"))
        }
        return DecodingError.typeMismatch(type, .init(codingPath: site.codingPath, debugDescription: "expected \(expected), found \(WireFormat.describe(tag))"))
    }
}
