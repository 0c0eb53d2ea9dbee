import Testing

@testable import MPICore

/// The arithmetic of file views (`FileViewMap`), which the shared-memory backend's I/O walks:
/// which file bytes an access of the view's data stream covers, and back.
@Suite("File views without a backend")
struct FileViewMapTests {
    /// The runs `map` gives for stream bytes `start ..< start + bytes`.
    func runs(_ map: FileViewMap, from start: Int, bytes: Int) -> [[Int]] {
        var runs: [[Int]] = []
        map.forEachRun(from: start, bytes: bytes) { (file: Int, access: Int, length: Int) -> Bool in
            runs.append([file, access, length])
            return true
        }
        return runs
    }

    @Test func theDefaultViewIsTheFile() {
        let map = FileViewMap.bytes
        #expect(map.isContiguous)
        #expect(runs(map, from: 10, bytes: 5) == [[10, 0, 5]])
        #expect(map.fileOffset(ofStream: 7) == 7)
        #expect(map.streamBytes(beforeFileOffset: 100) == 100)
    }

    @Test func aDisplacedContiguousViewShiftsEverything() {
        let map = FileViewMap(displacement: 64, elementType: .double, fileType: .double)
        #expect(map.isContiguous && map.elementSize == 8)
        #expect(runs(map, from: 16, bytes: 24) == [[80, 0, 24]])
        #expect(map.streamBytes(beforeFileOffset: 60) == 0)
        #expect(map.streamBytes(beforeFileOffset: 100) == 36)
    }

    @Test func aSubarrayTileMapsRowByRow() throws {
        // Rows 1–2, columns 2–4 of a 4 × 6 grid of Int32s: 2 runs of 12 bytes per tile.
        let tile = try Datatype.subarray(sizes: [4, 6], subsizes: [2, 3], starts: [1, 2], order: .rowMajor, of: .int32)
        let map = FileViewMap(displacement: 8, elementType: .int32, fileType: tile)
        #expect(!map.isContiguous && map.tileSize == 24 && map.tileExtent == 96)
        #expect(runs(map, from: 0, bytes: 24) == [[8 + 32, 0, 12], [8 + 56, 12, 12]])
        // Starting inside a block, running into the next tile.
        #expect(runs(map, from: 16, bytes: 20) == [[8 + 60, 0, 8], [8 + 96 + 32, 8, 12]])
        #expect(map.fileOffset(ofStream: 12) == 8 + 56)
        #expect(map.fileOffset(ofStream: 24) == 8 + 96 + 32)
        // A file ending in the middle of the second tile's first block.
        #expect(map.streamBytes(beforeFileOffset: 8 + 96 + 36) == 24 + 4)
    }

    @Test func blocksThatTouchAcrossTilesMerge() throws {
        // The last 4 bytes of each 8-byte tile: tile n's block ends where tile n+1's begins? No —
        // a resized type whose data ends at its extent and starts at 0 of the next is one run.
        let tail = try Datatype.resized(try Datatype.contiguous(2, of: .int32), extent: 8)
        let map = FileViewMap(displacement: 0, elementType: .int32, fileType: tail)
        #expect(map.isContiguous)
        #expect(runs(map, from: 4, bytes: 20) == [[4, 0, 20]])
        let strided = try Datatype.vector(count: 2, blockLength: 1, stride: 2, of: .int32)
        let gaps = FileViewMap(displacement: 0, elementType: .int32, fileType: try Datatype.resized(strided, extent: 16))
        #expect(runs(gaps, from: 0, bytes: 16) == [[0, 0, 4], [8, 4, 4], [16, 8, 4], [24, 12, 4]])
    }

    @Test func aRunCanStopTheWalk() throws {
        let strided = try Datatype.vector(count: 4, blockLength: 1, stride: 2, of: .int64)
        let map = FileViewMap(displacement: 0, elementType: .int64, fileType: strided)
        var seen = 0
        map.forEachRun(from: 0, bytes: 32) { (_: Int, _: Int, _: Int) -> Bool in
            seen += 1
            return seen < 2
        }
        #expect(seen == 2)
    }
}
