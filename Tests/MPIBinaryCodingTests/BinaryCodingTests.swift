import MPIBinaryCoding
import Testing

// Types as programs send them: synthesized conformances unless the test is about a custom one.

private struct Particle: Codable, Equatable {
    var id: Int
    var position: [Double]
    var label: String
    var charge: Float?
    var tags: [String]
    var kind: Kind
}

private enum Kind: Codable, Equatable {
    case neutral
    case charged(Int8)
    case composite(parts: [Kind], name: String?)
    case measured(value: Double, error: Double)
}

private enum Color: String, Codable { case red, green }

private struct Empty: Codable, Equatable {}

private struct Widths: Codable, Equatable {
    var i8: Int8, i16: Int16, i32: Int32, i64: Int64, int: Int
    var u8: UInt8, u16: UInt16, u32: UInt32, u64: UInt64, uint: UInt
    var i128: Int128, u128: UInt128
}

private struct Optionals: Codable, Equatable {
    var present: Int?
    var absent: Int?
    var doubled: Int??
    var doubledNil: Int??
    var list: [Int?]
    var nested: Particle?
}

private class Shape: Codable {
    var name: String
    init(name: String) { self.name = name }
}

/// Encodes its superclass through `superEncoder()`, as hand-written subclasses do.
private final class Circle: Shape {
    var radius: Double
    init(name: String, radius: Double) {
        self.radius = radius
        super.init(name: name)
    }

    private enum CodingKeys: String, CodingKey { case radius }

    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        radius = try container.decode(Double.self, forKey: .radius)
        try super.init(from: container.superDecoder())
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try super.encode(to: container.superEncoder())
        try container.encode(radius, forKey: .radius)
    }
}

/// Shares its encoder with its superclass instead, so both write one keyed container.
private final class Square: Shape {
    var side: Int
    init(name: String, side: Int) {
        self.side = side
        super.init(name: name)
    }

    private enum CodingKeys: String, CodingKey { case side }

    required init(from decoder: any Decoder) throws {
        side = try decoder.container(keyedBy: CodingKeys.self).decode(Int.self, forKey: .side)
        try super.init(from: decoder)
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(side, forKey: .side)
        try super.encode(to: encoder)
    }
}

/// Decodes its keys in the reverse of the order it encodes them.
private struct Reversed: Codable, Equatable {
    var a: Int, b: String, c: [Int]

    init(a: Int, b: String, c: [Int]) { (self.a, self.b, self.c) = (a, b, c) }

    private enum CodingKeys: CodingKey { case a, b, c }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        c = try container.decode([Int].self, forKey: .c)
        b = try container.decode(String.self, forKey: .b)
        a = try container.decode(Int.self, forKey: .a)
    }
}

private func roundTrip<T: Codable>(_ value: T) throws -> T {
    try MessageDecoder().decode(T.self, from: MessageEncoder().encode(value))
}

private let sample = Particle(
    id: 42, position: [1.5, -2.25, 1e300], label: "électron ⚛️", charge: -1, tags: ["a", "", "👩‍👩‍👧‍👦"],
    kind: .composite(parts: [.neutral, .charged(-3), .measured(value: 1, error: 0.5)], name: nil))

@Suite("Binary coding")
struct BinaryCodingTests {
    @Test func structsRoundTrip() throws {
        #expect(try roundTrip(sample) == sample)
        let many = (0..<50).map { Particle(id: $0, position: [Double($0)], label: "p\($0)", charge: nil, tags: [], kind: .charged(Int8($0))) }
        #expect(try roundTrip(many) == many)
    }

    @Test func enumsWithAssociatedValues() throws {
        let kinds: [Kind] = [
            .neutral, .charged(.min), .charged(.max), .composite(parts: [], name: "x"),
            .composite(parts: [.composite(parts: [.neutral], name: nil)], name: "nested"), .measured(value: -0.0, error: .infinity),
        ]
        for kind in kinds { #expect(try roundTrip(kind) == kind) }
        #expect(try roundTrip(kinds) == kinds)
        #expect(try roundTrip([Color.green, .red]) == [.green, .red])
    }

    @Test func nestedArraysAndDictionaries() throws {
        let grid: [[Int]] = [[1, 2, 3], [], [-4], Array(0..<300)]
        #expect(try roundTrip(grid) == grid)
        let byName: [String: [Double]] = ["x": [1, 2], "y": [], "": [3], "ü": [.pi]]
        #expect(try roundTrip(byName) == byName)
        let byNumber: [Int: String] = [0: "zero", -7: "minus seven", .max: "max", .min: "min", 1 << 62: "big"]
        #expect(try roundTrip(byNumber) == byNumber)
        // String keys that look like numbers stay the strings they were.
        let numeric: [String: Int] = ["1": 1, "01": 2, "-0": 3, "+5": 4, "12345678901234567890": 5]
        #expect(try roundTrip(numeric) == numeric)
        let deep: [String: [Int: [Kind?]]] = ["a": [1: [.neutral, nil], 2: []], "b": [:]]
        #expect(try roundTrip(deep) == deep)
        let set: Set<Int32> = [1, 5, -9]
        #expect(try roundTrip(set) == set)
        #expect(try roundTrip(["k": sample]) == ["k": sample])
    }

    @Test func largeContainersWidenTheirCount() throws {
        let strings = (0..<1000).map { "s\($0)" }
        #expect(try roundTrip(strings) == strings)
        let dictionary = Dictionary(uniqueKeysWithValues: (0..<500).map { ("key\($0)", $0) })
        #expect(try roundTrip(dictionary) == dictionary)
        let nested = [strings, [], strings.reversed()]
        #expect(try roundTrip(nested) == nested)
    }

    @Test func optionals() throws {
        let value = Optionals(present: 3, absent: nil, doubled: .some(nil), doubledNil: nil, list: [1, nil, 3, nil], nested: sample)
        let decoded = try roundTrip(value)
        #expect(decoded == value)
        #expect(decoded.doubled == .some(nil))
        #expect(decoded.doubledNil == nil)
        let empty = Optionals(present: nil, absent: nil, doubled: nil, doubledNil: nil, list: [], nested: nil)
        #expect(try roundTrip(empty) == empty)
        #expect(try roundTrip(Int?.none) == nil)
        #expect(try roundTrip(Int?.some(5)) == 5)
        #expect(try roundTrip(Int??.some(nil)) == .some(nil))
        #expect(try roundTrip(String???.some(.some(nil))) == .some(.some(nil)))
        // An optional's value reads as the wrapped type, and the wrapped type as an optional.
        #expect(try MessageDecoder().decode(Int.self, from: MessageEncoder().encode(Int?.some(8))) == 8)
        #expect(try MessageDecoder().decode(Int?.self, from: MessageEncoder().encode(8)) == 8)
    }

    @Test func strings() throws {
        for string in ["", "a", "🇫🇷👨🏽‍💻 é e\u{301} \u{0} \n\t", String(repeating: "ß∑🙂", count: 10_000)] {
            #expect(try roundTrip(string) == string)
        }
    }

    @Test func emptyValues() throws {
        #expect(try roundTrip([Int]()) == [])
        #expect(try roundTrip([String]()) == [])
        #expect(try roundTrip([String: Int]()) == [:])
        #expect(try roundTrip([Empty]()) == [])
        #expect(try roundTrip(Empty()) == Empty())
        #expect(try roundTrip([Empty(), Empty()]) == [Empty(), Empty()])
        #expect(try roundTrip([[Double]](repeating: [], count: 3)) == [[], [], []])
    }

    @Test func integerExtremes() throws {
        let low = Widths(
            i8: .min, i16: .min, i32: .min, i64: .min, int: .min, u8: .min, u16: .min, u32: .min, u64: .min, uint: .min,
            i128: .min, u128: .min)
        let high = Widths(
            i8: .max, i16: .max, i32: .max, i64: .max, int: .max, u8: .max, u16: .max, u32: .max, u64: .max, uint: .max,
            i128: .max, u128: .max)
        #expect(try roundTrip(low) == low)
        #expect(try roundTrip(high) == high)
        #expect(try roundTrip([Int.min, -1, 0, 1, .max]) == [.min, -1, 0, 1, .max])
        #expect(try roundTrip([UInt64.max, 0]) == [.max, 0])
        #expect(try roundTrip([Int128.min, .max]) == [.min, .max])
        #expect(try roundTrip([Int8.min, .max]) == [.min, .max])
        #expect(try roundTrip(Int.min) == .min)
    }

    @Test func floatBitPatternsSurvive() throws {
        let doubles: [Double] = [
            .nan, -.nan, .signalingNaN, Double(bitPattern: 0x7FF0_0000_0000_0001), Double(bitPattern: 0xFFF8_DEAD_BEEF_0001),
            .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .ulpOfOne,
        ]
        let floats: [Float] = [.nan, .signalingNaN, Float(bitPattern: 0x7FC0_1234), .infinity, -.infinity, -0.0, .leastNonzeroMagnitude]
        // Packed in arrays, and one by one behind their tags.
        #expect(try roundTrip(doubles).map(\.bitPattern) == doubles.map(\.bitPattern))
        #expect(try roundTrip(floats).map(\.bitPattern) == floats.map(\.bitPattern))
        for double in doubles { #expect(try roundTrip(double).bitPattern == double.bitPattern) }
        for float in floats { #expect(try roundTrip(float).bitPattern == float.bitPattern) }
        let set = Set(doubles.map(\.bitPattern))
        #expect(try roundTrip(set) == set)
    }

    @Test func booleans() throws {
        let flags = [true, false, false, true]
        #expect(try roundTrip(flags) == flags)
        #expect(try roundTrip(true) == true)
        // A packed Bool that is neither 0 nor 1 is corrupt, not undefined behaviour.
        var bytes = try MessageEncoder().encode(flags)
        let first = try #require(bytes.firstIndex(of: 1))
        bytes[first] = 2
        #expect(throws: DecodingError.self) { try MessageDecoder().decode([Bool].self, from: bytes) }
    }

    @Test func classHierarchies() throws {
        let circle = try roundTrip(Circle(name: "disc", radius: 2.5))
        #expect(circle.name == "disc" && circle.radius == 2.5)
        let square = try roundTrip(Square(name: "tile", side: 3))
        #expect(square.name == "tile" && square.side == 3)
        let circles = try roundTrip([Circle(name: "a", radius: 1), Circle(name: "b", radius: 2)])
        #expect(circles.map(\.name) == ["a", "b"] && circles.map(\.radius) == [1, 2])
    }

    @Test func keysReadInAnyOrder() throws {
        let value = Reversed(a: 1, b: "two", c: [3, 4])
        #expect(try roundTrip(value) == value)
        #expect(try roundTrip([value, value]) == [value, value])
    }

    @Test func arraysConvertBetweenPackedAndElementwise() throws {
        // A packed [Int] read as a Set, and a set's elements read as an array.
        let set = try MessageDecoder().decode(Set<Int>.self, from: MessageEncoder().encode([3, 1, 3]))
        #expect(set == [1, 3])
        let array = try MessageDecoder().decode([Int].self, from: MessageEncoder().encode(Set([7])))
        #expect(array == [7])
        let contiguous = try MessageDecoder().decode(ContiguousArray<Double>.self, from: MessageEncoder().encode([1.0, 2]))
        #expect(Array(contiguous) == [1, 2])
    }

    @Test func compactEncoding() throws {
        let values = (0..<1000).map { Int32($0 - 500) }
        let bytes = try MessageEncoder().encode(values)
        #expect(bytes.count >= 4000 && bytes.count <= 4000 + 16, "1000 Int32 took \(bytes.count) bytes")
        struct Wrapper: Codable { var values: [Double] }
        let wrapped = try MessageEncoder().encode(Wrapper(values: .init(repeating: 1, count: 1 << 17)))
        #expect(wrapped.count <= 8 << 17 + 32, "a struct of 2^17 Doubles took \(wrapped.count) bytes")
        // Magic byte, container tag and count, key, array tag and count, 8 bytes; the key
        // table ("values") and its size.
        let small = try MessageEncoder().encode(Wrapper(values: [1]))
        #expect(small.count == 1 + 2 + 1 + 2 + 8 + 8 + 4, "a struct of one Double took \(small.count) bytes")
        // Key names are stored once, however many elements use them.
        let particles = [Particle](repeating: sample, count: 100)
        let one = try MessageEncoder().encode([sample]).count
        let hundred = try MessageEncoder().encode(particles).count
        #expect(hundred - one < 99 * (one - 20), "100 particles took \(hundred) bytes, one \(one)")
    }

    @Test func anotherTypeFailsClearly() throws {
        struct Other: Codable { var name: String; var weight: Double }
        let bytes = try MessageEncoder().encode(sample)
        do {
            _ = try MessageDecoder().decode(Other.self, from: bytes)
            Issue.record("decoding a Particle as Other succeeded")
        } catch DecodingError.keyNotFound(let key, let context) {
            #expect(key.stringValue == "name")
            #expect(context.debugDescription.contains("'label'"), "\(context.debugDescription)")
        }
        do {
            _ = try MessageDecoder().decode([Int32].self, from: MessageEncoder().encode([Int64(1)]))
            Issue.record("decoding [Int64] as [Int32] succeeded")
        } catch DecodingError.typeMismatch(_, let context) {
            #expect(context.debugDescription.contains("Int32") && context.debugDescription.contains("Int64"), "\(context.debugDescription)")
        }
        #expect(throws: DecodingError.self) { try MessageDecoder().decode(Particle.self, from: MessageEncoder().encode([1, 2])) }
        #expect(throws: DecodingError.self) { try MessageDecoder().decode(String.self, from: MessageEncoder().encode(5)) }
        #expect(throws: DecodingError.self) { try MessageDecoder().decode(Int.self, from: MessageEncoder().encode(Int?.none)) }
        #expect(throws: DecodingError.self) { try MessageDecoder().decode(Kind.self, from: MessageEncoder().encode(Color.red)) }
    }

    @Test func truncatedMessagesThrow() throws {
        let bytes = try MessageEncoder().encode([sample, sample])
        for length in 0..<bytes.count {
            #expect(throws: DecodingError.self, "prefix of \(length) bytes") {
                try MessageDecoder().decode([Particle].self, from: Array(bytes.prefix(length)))
            }
        }
        #expect(throws: DecodingError.self) { try MessageDecoder().decode(Int.self, from: [1, 2, 3, 4, 5, 6, 7, 8]) }
    }

    @Test func corruptMessagesNeverCrash() throws {
        let bytes = try MessageEncoder().encode(["x": sample, "y": sample])
        var generator = SplitMix64(seed: 2024)
        for _ in 0..<3000 {
            var corrupt = bytes
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                corrupt[Int.random(in: 0..<corrupt.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            // Either outcome is fine; what matters is that decoding returns.
            _ = try? MessageDecoder().decode([String: Particle].self, from: corrupt)
        }
        // Counts far larger than the message must not allocate or loop before failing.
        let huge: [UInt8] = [0xB1, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00, 1, 0, 0, 0]
        #expect(throws: DecodingError.self) { try MessageDecoder().decode([String].self, from: huge) }
    }

    @Test func outOfOrderEncodingThrows() throws {
        struct Interleaved: Encodable {
            func encode(to encoder: any Encoder) throws {
                var outer = encoder.unkeyedContainer()
                var first = outer.nestedUnkeyedContainer()
                var second = outer.nestedUnkeyedContainer()
                try second.encode(2)
                try first.encode(1)
            }
        }
        #expect(throws: EncodingError.self) { try MessageEncoder().encode(Interleaved()) }
    }
}

/// A seeded generator, so the corruption test is the same every run.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
