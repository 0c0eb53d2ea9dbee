import MPICore
import Testing

@Test func countOfWholeElements() {
    let status = Status(source: 1, tag: 2, byteCount: 24)
    #expect(status.count(of: Double.self) == 3)
    #expect(status.count(of: Int32.self) == 6)
    #expect(Status(source: 0, tag: 0, byteCount: 6).count(of: Int32.self) == nil)
}
