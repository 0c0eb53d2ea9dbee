/// How a file view maps the stream of data an access moves to byte ranges of the file
/// (MPI-4.1 §14.3): the data starts `displacement` bytes in, then `fileType` tiles the file, each
/// tile's data blocks in order. A backend that does its own I/O (shared memory) walks the runs;
/// one with MPI-IO passes the view to `MPI_File_set_view` instead.
package struct FileViewMap: Sendable, Equatable {
    /// Bytes from the start of the file to the first tile.
    package let displacement: Int
    /// The elementary type's size in bytes: offsets and positions count in it.
    package let elementSize: Int
    /// Data bytes of one tile (the file type's size) and the distance between tiles (its extent).
    package let tileSize: Int
    package let tileExtent: Int
    /// The tile's data blocks, byte ranges relative to its start (adjacent ones merged, as the
    /// datatype keeps them), and where each starts in the tile's data.
    package let blocks: [DatatypeBlock]
    package let blockStarts: [Int]

    package init(displacement: Int, elementType: Datatype, fileType: Datatype) {
        self.displacement = displacement
        elementSize = elementType.size
        tileSize = fileType.size
        tileExtent = fileType.extent
        blocks = fileType.blocks
        blockStarts = fileType.blockStarts
    }

    /// The default view: bytes, from the start of the file.
    package static var bytes: FileViewMap { FileViewMap(displacement: 0, elementType: .byte, fileType: .byte) }

    /// Whether the view's data is one contiguous range of the file.
    package var isContiguous: Bool { blocks.count <= 1 && tileExtent == tileSize && (blocks.first?.offset ?? 0) == 0 }

    /// The file offset of byte `position` of the data stream.
    package func fileOffset(ofStream position: Int) -> Int {
        if isContiguous { return displacement + position }
        let tile = position / tileSize
        let within = position - tile * tileSize
        let index = DatatypeLayout.block(containing: within, starts: blockStarts)
        return displacement + tile * tileExtent + blocks[index].offset + (within - blockStarts[index])
    }

    /// How many bytes of the data stream lie before file offset `fileBytes` (the end of a file of
    /// that size, seen through the view).
    package func streamBytes(beforeFileOffset fileBytes: Int) -> Int {
        guard fileBytes > displacement, tileSize > 0 else { return 0 }
        let relative = fileBytes - displacement
        if isContiguous { return relative }
        let tiles = relative / tileExtent
        let rest = relative - tiles * tileExtent
        var stream = tiles * tileSize
        for block in blocks { stream += min(max(rest - block.offset, 0), block.length) }
        return stream
    }

    /// Calls `body(fileOffset, offsetInAccess, length)` for each contiguous file range that bytes
    /// `start ..< start + bytes` of the data stream occupy, in stream order, adjacent ranges
    /// merged. `body` returns `false` to stop.
    package func forEachRun<E: Error>(
        from start: Int, bytes: Int, _ body: (_ fileOffset: Int, _ accessOffset: Int, _ length: Int) throws(E) -> Bool
    ) throws(E) {
        guard bytes > 0 else { return }
        if isContiguous {
            _ = try body(displacement + start, 0, bytes)
            return
        }
        var tile = start / tileSize
        var index = DatatypeLayout.block(containing: start - tile * tileSize, starts: blockStarts)
        var within = start - tile * tileSize - blockStarts[index]
        var done = 0
        var pending: (file: Int, access: Int, length: Int)? = nil
        while done < bytes {
            let length = min(blocks[index].length - within, bytes - done)
            let file = displacement + tile * tileExtent + blocks[index].offset + within
            if let run = pending, run.file + run.length == file {
                pending!.length += length
            } else {
                if let run = pending, !(try body(run.file, run.access, run.length)) { return }
                pending = (file, done, length)
            }
            done += length
            within = 0
            index += 1
            if index == blocks.count {
                index = 0
                tile += 1
            }
        }
        if let run = pending { _ = try body(run.file, run.access, run.length) }
    }

}
