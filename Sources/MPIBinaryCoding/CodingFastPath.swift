// Types the coders handle themselves instead of through `encode(to:)` / `init(from:)`:
// scalars and strings (one tag and their bytes, no container), arrays of scalars (one block
// copied in bulk instead of a tagged value per element) and optionals (a presence tag, so
// `Int??` keeps `.some(nil)` apart from `nil`).

/// A type `MessageWriter` writes directly.
protocol EncodingFastPath {
    func write(to writer: MessageWriter) throws
}

/// A type `MessageReader` reads directly.
protocol DecodingFastPath {
    /// Reads the value at `offset` and reports its end with `reader.finished(_:_:)`.
    static func read(from reader: MessageReader, at offset: Int, site: @autoclosure () -> CodingSite) throws -> Self
}

/// Where a value sits, for coding paths: the path of its container and its key there.
struct CodingSite {
    var path: [any CodingKey]
    var key: (any CodingKey)?

    /// The coding path of the value itself.
    var codingPath: [any CodingKey] { key.map { path + [$0] } ?? path }
}

extension String: EncodingFastPath, DecodingFastPath {
    func write(to writer: MessageWriter) { writer.writeString(self) }

    static func read(from reader: MessageReader, at offset: Int, site: @autoclosure () -> CodingSite) throws -> String {
        let (value, end) = try reader.readString(at: offset, site: site())
        reader.finished(offset, end)
        return value
    }
}

extension Array: EncodingFastPath where Element: MessageScalar {
    func write(to writer: MessageWriter) {
        withUnsafeBufferPointer { writer.writeBulk($0) }
    }
}

extension Array: DecodingFastPath where Element: MessageScalar {
    static func read(from reader: MessageReader, at offset: Int, site: @autoclosure () -> CodingSite) throws -> [Element] {
        guard let block = try reader.bulkBlock(of: Element.self, at: offset, site: site()) else {
            return try Self(from: LevelDecoder(reader: reader, offset: offset, codingPath: site().codingPath))
        }
        return try Self(unsafeUninitializedCapacity: block.count) { buffer, initialized in
            try reader.copyBulk(block, into: buffer, site: site())
            initialized = block.count
        }
    }
}

extension Optional: EncodingFastPath where Wrapped: Encodable {
    func write(to writer: MessageWriter) throws {
        switch self {
        case .none:
            writer.writeTag(WireFormat.null)
        case .some(let wrapped):
            writer.writeTag(WireFormat.some)
            try writer.encodeValue(wrapped, under: nil)
        }
    }
}

extension Optional: DecodingFastPath where Wrapped: Decodable {
    /// `nil` for a nil tag; the wrapped value behind a presence tag, or with none (a value
    /// written by `encodeIfPresent`, or as the non-optional type).
    static func read(from reader: MessageReader, at offset: Int, site: @autoclosure () -> CodingSite) throws -> Self {
        switch try reader.byte(at: offset, site: site()) {
        case WireFormat.null:
            reader.finished(offset, offset + 1)
            return nil
        case WireFormat.some:
            let value = try reader.decodeValue(Wrapped.self, at: offset + 1, site: site())
            reader.finishedBehindPrefix(offset)
            return value
        default:
            return try reader.decodeValue(Wrapped.self, at: offset, site: site())
        }
    }
}

/// Any `Optional`, whatever it wraps.
protocol AnyOptional {}

extension Optional: AnyOptional {}
