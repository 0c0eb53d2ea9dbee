/// One encoding in progress: the message bytes so far, the key table, and the values begun but
/// not yet ended.
///
/// Values are written in the order they are encoded. A container's entry count is known only
/// when it ends, so its header holds a one-byte placeholder, patched then (widened, moving the
/// container's bytes, in the rare container of 128 entries or more; arrays of scalars are not
/// containers). A value ends when a container enclosing it is written to again or when the
/// `encode(to:)` that began it returns.
final class MessageWriter {
    // The properties are unchecked for exclusivity, which would cost a runtime check per access:
    // a writer is used by one encode on one thread, and no access spans a call out of it.
    @exclusivity(unchecked) private(set) var bytes: [UInt8]
    /// The key table, in order of first use; each key with the table key written after it
    /// last time (-1 before that). Arrays of structs write the same keys over and over, so
    /// that guess spares searching the table.
    @exclusivity(unchecked) private var keys: [(name: String, successor: Int)] = []
    /// Table indices by name, built once the table outgrows a linear search.
    @exclusivity(unchecked) private var keyIndices: [String: Int] = [:]
    @exclusivity(unchecked) private var lastKey = -1
    /// Values begun and not yet ended, outermost first.
    @exclusivity(unchecked) private var open: [OpenValue] = []
    @exclusivity(unchecked) private var serials = 0
    /// The first use of an encoder or container out of order, thrown by `finish()` if nothing
    /// threw it before.
    @exclusivity(unchecked) private var misuse: EncodingError?

    /// A value being written: one slot of `open`.
    private struct OpenValue {
        enum Content: Equatable { case pending, single, keyed, unkeyed }
        let serial: Int
        var content: Content
        /// Where a container's count placeholder is.
        var countOffset = 0
        /// Entries of a container so far.
        var count = 0
        /// The key of this value in its container, for coding paths.
        let key: (any CodingKey)?
    }

    /// Names an open value: its depth in the stack and a serial number, so an encoder or
    /// container of a value that has ended is told from one of a later value at that depth.
    struct Slot {
        let depth: Int
        let serial: Int

        /// A slot that is never open: what a container of a misused encoder is bound to.
        static let ended = Slot(depth: .max, serial: -1)
    }

    init() {
        // Room for a small message, so that one does not grow the buffer append by append.
        bytes = []
        bytes.reserveCapacity(128)
        bytes.append(WireFormat.magic)
    }

    // MARK: Values

    /// Writes `value` as the next value of the message.
    func encodeValue<T: Encodable>(_ value: T, under key: (any CodingKey)?) throws {
        // The metatype test is cheap; the cast, which copies the value into an existential, is
        // made only for the types that pass it.
        if T.self is any EncodingFastPath.Type, let direct = value as? any EncodingFastPath {
            try direct.write(to: self)
            return
        }
        let slot = begin(.pending, under: key)
        try value.encode(to: LevelEncoder(writer: self, slot: slot))
        while open.count > slot.depth { endInnermost() }
    }

    /// The finished message: the body written so far, the key table and its size.
    func finish() throws -> [UInt8] {
        if let misuse { throw misuse }
        while !open.isEmpty { endInnermost() }
        let tableStart = bytes.count
        writeVarint(UInt64(keys.count))
        for key in keys { writeUTF8(key.name) }
        let tableSize = bytes.count - tableStart
        guard let size = UInt32(exactly: tableSize) else {
            throw EncodingError.invalidValue(
                keys.count, .init(codingPath: [], debugDescription: "\(keys.count) distinct keys take \(tableSize) bytes; the key table is limited to 4 GiB"))
        }
        writeBits(size)
        return bytes
    }

    // MARK: Open values

    private func begin(_ content: OpenValue.Content, under key: (any CodingKey)?) -> Slot {
        serials += 1
        open.append(OpenValue(serial: serials, content: content, key: key))
        return Slot(depth: open.count - 1, serial: serials)
    }

    private func endInnermost() {
        let value = open.removeLast()
        switch value.content {
        case .keyed, .unkeyed: patchCount(value.count, at: value.countOffset)
        case .pending: bytes.append(WireFormat.empty)
        case .single: break
        }
    }

    /// Makes `slot` the innermost open value again by ending the values begun inside it;
    /// false when it has ended itself.
    private func resume(_ slot: Slot) -> Bool {
        guard slot.depth < open.count, open[slot.depth].serial == slot.serial else { return false }
        while open.count > slot.depth + 1 { endInnermost() }
        return true
    }

    /// Makes the value of an encoder a keyed or unkeyed container, or finds it is one already
    /// (a subclass and its superclass sharing an encoder). Returns the container's slot.
    func startContainer(_ slot: Slot, keyed: Bool) -> Slot {
        let wanted: OpenValue.Content = keyed ? .keyed : .unkeyed
        guard resume(slot) else {
            recordMisuse("asked for a container after a value begun later in an enclosing container", at: codingPath(of: slot))
            return .ended
        }
        switch open[slot.depth].content {
        case .pending:
            open[slot.depth].countOffset = writeContainerHeader(keyed: keyed)
            open[slot.depth].content = wanted
            return slot
        case wanted:
            return slot
        case let content:
            recordMisuse("asked for a \(wanted) container after encoding a \(content) value here", at: codingPath(of: slot))
            return .ended
        }
    }

    /// Begins the next entry of the container of `slot`; false when the container has ended.
    func startEntry(_ slot: Slot) -> Bool {
        guard resume(slot) else { return false }
        open[slot.depth].count += 1
        return true
    }

    /// Begins the one value of a single value container; false when it is not the value's first.
    func startSingleValue(_ slot: Slot) -> Bool {
        guard resume(slot), open[slot.depth].content == .pending else { return false }
        open[slot.depth].content = .single
        return true
    }

    /// Begins a container as the entry just started, under `key` in coding paths.
    func beginContainer(keyed: Bool, under key: any CodingKey) -> Slot {
        let countOffset = writeContainerHeader(keyed: keyed)
        let slot = begin(keyed ? .keyed : .unkeyed, under: key)
        open[slot.depth].countOffset = countOffset
        return slot
    }

    /// Begins a value, the entry just started, that a new encoder will write (`superEncoder`).
    func beginEncoder(under key: any CodingKey) -> Slot {
        begin(.pending, under: key)
    }

    /// Entries in the container of `slot` so far.
    func count(of slot: Slot) -> Int {
        slot.depth < open.count && open[slot.depth].serial == slot.serial ? open[slot.depth].count : 0
    }

    /// The coding path of the value of `slot`.
    func codingPath(of slot: Slot) -> [any CodingKey] {
        guard slot.depth < open.count else { return [] }
        return open[...slot.depth].compactMap(\.key)
    }

    /// The error for an encoder or container used after its value ended; the first one is
    /// also thrown by `finish()`, for uses that cannot throw.
    @discardableResult
    func recordMisuse(_ what: String, at path: [any CodingKey]) -> EncodingError {
        let error = EncodingError.invalidValue(
            what, .init(codingPath: path, debugDescription: "MessageEncoder writes values in the order they are encoded: \(what)"))
        if misuse == nil { misuse = error }
        return error
    }

    // MARK: Bytes

    func writeTag(_ tag: UInt8) {
        bytes.append(tag)
    }

    func writeKey(_ key: some CodingKey) {
        if let integer = WireKey.integer(of: key) {
            writeVarint(WireKey.integer(integer).code)
            return
        }
        let name = key.stringValue
        let index: Int
        if lastKey >= 0, case let guess = keys[lastKey].successor, guess >= 0, keys[guess].name == name {
            index = guess
        } else if let known = tableIndex(of: name) {
            index = known
        } else {
            index = keys.count
            keys.append((name, -1))
            if !keyIndices.isEmpty { keyIndices[name] = index }
        }
        if lastKey >= 0 { keys[lastKey].successor = index }
        lastKey = index
        writeVarint(WireKey.table(index).code)
    }

    /// Tables up to this size are searched linearly: cheaper than hashing for the few keys of
    /// most messages, and no dictionary to build.
    private static let linearSearchLimit = 16

    /// The index of `name` in the table, if it is there; builds `keyIndices` when the table
    /// first outgrows a linear search, after which new keys are added to it as well.
    private func tableIndex(of name: String) -> Int? {
        guard keys.count > Self.linearSearchLimit else { return keys.firstIndex { $0.name == name } }
        if keyIndices.isEmpty {
            for (index, key) in keys.enumerated() { keyIndices[key.name] = index }
        }
        return keyIndices[name]
    }

    func writeScalar<S: MessageScalar>(_ value: S) {
        bytes.append(S.kind.rawValue)
        writeBits(value.wireBits)
    }

    func writeString(_ value: String) {
        bytes.append(WireFormat.string)
        writeUTF8(value)
    }

    /// An array of scalars: one tag, the count and the values' bits, copied in one block when
    /// memory holds them as the wire does.
    func writeBulk<S: MessageScalar>(_ values: UnsafeBufferPointer<S>) {
        bytes.append(WireFormat.bulk + S.kind.rawValue)
        writeVarint(UInt64(values.count))
        let size = values.count * S.kind.width
        // Geometric growth, with room for the key table, so a large block is copied once.
        if bytes.count + size + 64 > bytes.capacity {
            bytes.reserveCapacity(max(bytes.count + size + 64, 2 * bytes.capacity))
        }
        if S.isWireLayout {
            bytes.append(contentsOf: UnsafeRawBufferPointer(values))
        } else {
            for value in values { writeBits(value.wireBits) }
        }
    }

    private func writeBits<B: FixedWidthInteger>(_ bits: B) {
        withUnsafeBytes(of: bits.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private func writeVarint(_ value: UInt64) {
        Self.appendVarint(value, to: &bytes)
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    private func writeUTF8(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Writes a container's tag and count placeholder; returns the placeholder's offset.
    private func writeContainerHeader(keyed: Bool) -> Int {
        bytes.append(keyed ? WireFormat.keyed : WireFormat.unkeyed)
        bytes.append(0)
        return bytes.count - 1
    }

    private func patchCount(_ count: Int, at offset: Int) {
        if count < 0x80 {
            bytes[offset] = UInt8(count)
            return
        }
        var varint: [UInt8] = []
        Self.appendVarint(UInt64(count), to: &varint)
        bytes.replaceSubrange(offset..<offset + 1, with: varint)
    }
}
