@testable import MPICore
import Testing

/// Group arithmetic with MPI's ordering rules (MPI-4.1 §7.3.2), independent of any backend.
@Suite("Groups")
struct GroupTests {
    /// A group of world ranks `ranks`, seen from world rank `me`.
    func group(_ ranks: [Int], me: Int = 3) -> Group { Group(worldRanks: ranks, ownWorldRank: me) }

    @Test func setOperationsKeepMPIsOrder() {
        let a = group([5, 3, 1, 7]), b = group([7, 2, 5])
        #expect(a.union(b).worldRanks == [5, 3, 1, 7, 2])
        #expect(b.union(a).worldRanks == [7, 2, 5, 3, 1])
        #expect(a.intersection(b).worldRanks == [5, 7])
        #expect(b.intersection(a).worldRanks == [7, 5])
        #expect(a.difference(b).worldRanks == [3, 1])
        #expect(a.difference(a) == .empty && Group.empty.size == 0)
    }

    @Test func rankSizeAndComparison() {
        let a = group([5, 3, 1, 7])
        #expect(a.size == 4 && a.rank == 1)
        #expect(group([0, 1]).rank == nil)
        #expect(a.compare(group([5, 3, 1, 7])) == .identical)
        #expect(a.compare(group([7, 1, 3, 5])) == .similar)
        #expect(a.compare(group([5, 3, 1])) == .unequal)
    }

    @Test func inclusionExclusionAndRanges() throws {
        let a = group([10, 11, 12, 13, 14, 15, 16])
        #expect(try a.including([3, 0]).worldRanks == [13, 10])
        #expect(try a.excluding([0, 6, 2]).worldRanks == [11, 13, 14, 15])
        #expect(try a.including(ranges: [stride(from: 0, through: 6, by: 3), stride(from: 5, through: 4, by: -1)]).worldRanks == [10, 13, 16, 15, 14])
        #expect(try a.excluding(ranges: [stride(from: 1, through: 5, by: 2)]).worldRanks == [10, 12, 14, 16])
        #expect(throws: MPIError.self) { try a.including([1, 1]) }
        #expect(throws: MPIError.self) { try a.excluding([7]) }
        #expect(throws: MPIError.self) { try a.including([-2]) }
    }

    @Test func translateRanks() throws {
        let a = group([5, 3, 1, 7]), b = group([1, 5])
        #expect(try a.translate([0, 1, 2, Communicator.nullProcess], to: b) == [1, nil, 0, Communicator.nullProcess])
        #expect(throws: MPIError.self) { try a.translate([4], to: b) }
    }
}
