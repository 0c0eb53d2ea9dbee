import MPICore
import Testing

@Suite("Cartesian layout arithmetic")
struct CartesianTopologyTests {
    @Test(arguments: [
        (1, 2, [1, 1]), (2, 2, [2, 1]), (4, 2, [2, 2]), (6, 2, [3, 2]), (7, 2, [7, 1]),
        (8, 3, [2, 2, 2]), (12, 2, [4, 3]), (16, 3, [4, 2, 2]), (30, 3, [5, 3, 2]),
    ])
    func balancedDimensionsMatchMPIDimsCreate(ranks: Int, count: Int, expected: [Int]) throws {
        #expect(try CartesianTopology.balancedDimensions(ranks: ranks, constraints: Array(repeating: 0, count: count)) == expected)
    }

    @Test func fixedExtentsAreKept() throws {
        #expect(try CartesianTopology.balancedDimensions(ranks: 12, constraints: [0, 3, 0]) == [2, 3, 2])
        #expect(throws: MPIError.self) { try CartesianTopology.balancedDimensions(ranks: 10, constraints: [3, 0]) }
        #expect(throws: MPIError.self) { try CartesianTopology.balancedDimensions(ranks: 6, constraints: [2, 2]) }
    }
}
