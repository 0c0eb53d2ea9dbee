import MPICore
import Testing

@Suite("Datatype")
struct DatatypeTests {
    /// Checks that `T` travels as `expected`, whose size is exactly the Swift stride of `T`.
    private func check<T: MessageElement>(_ type: T.Type, _ expected: Datatype) {
        #expect(T.datatype == expected, "\(T.self) travels as \(T.datatype), expected \(expected)")
        #expect(T.datatype.size == MemoryLayout<T>.stride, "\(T.self): datatype size \(T.datatype.size), stride \(MemoryLayout<T>.stride)")
    }

    @Test func everyScalarHasADatatypeOfItsSize() {
        check(Int8.self, .int8)
        check(Int16.self, .int16)
        check(Int32.self, .int32)
        check(Int64.self, .int64)
        check(UInt8.self, .uint8)
        check(UInt16.self, .uint16)
        check(UInt32.self, .uint32)
        check(UInt64.self, .uint64)
        check(Int.self, MemoryLayout<Int>.size == 8 ? .int64 : .int32)
        check(UInt.self, MemoryLayout<UInt>.size == 8 ? .uint64 : .uint32)
        check(Float.self, .float)
        check(Double.self, .double)
        check(Bool.self, .bool)
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        check(Float16.self, .float16)
        #endif
    }

    @Test func sizesOfThePredefinedDatatypes() {
        let sizes: [(Datatype, Int)] = [
            (.int8, 1), (.uint8, 1), (.bool, 1), (.byte, 1),
            (.int16, 2), (.uint16, 2), (.float16, 2),
            (.int32, 4), (.uint32, 4), (.float, 4),
            (.int64, 8), (.uint64, 8), (.double, 8),
        ]
        #expect(sizes.count == Datatype.Builtin.allCases.count)
        for (type, size) in sizes { #expect(type.size == size, "\(type)") }
    }

    @Test func descriptionsNameTheType() {
        #expect(Datatype.double.description == "float64")
        #expect(Datatype.float16.description == "float16")
        #expect(Datatype.byte.description == "byte")
    }
}
