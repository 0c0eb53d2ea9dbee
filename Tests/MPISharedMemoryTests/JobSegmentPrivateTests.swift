import MPISharedMemory
import Testing

/// The private segment of a one-process world: sized by the layout formula, one rank, no name.
@Test func privateSegmentHasTheLayoutSize() throws {
    let segment = try JobSegment(privateRingBytes: 1 << 14)
    defer { segment.detach() }
    #expect(segment.ranks == 1)
    #expect(segment.name == nil)
    #expect(segment.totalBytes == JobSegment.totalBytes(ranks: 1, ringBytes: 1 << 14))
    #expect(segment.abortCode == nil)
}
