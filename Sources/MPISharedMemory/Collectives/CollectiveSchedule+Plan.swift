import MPICore

// The shared-memory collective algorithms, as schedules.
//
// Every operation begins with ⌈log₂ n⌉ dissemination rounds (rank r sends to r + 2ᵏ and receives
// from r − 2ᵏ) whose messages carry the sender's signature, so that after them every rank knows
// whether any two ranks disagree on the kind, datatype, operation, root or count, and all stop
// together with an error. Whatever the arguments, every operation's first rounds have this same
// pattern, so ranks that disagree still exchange exactly the messages the others wait for.
//
// Small operations put their data in those same messages ("fused"): a dissemination all-gather
// (Bruck) of each rank's contribution, after which each rank computes its result locally, or a
// dissemination broadcast in which holders forward the data. ⌈log₂ n⌉ message latencies, and
// reductions are combined by every rank in one fixed order, so an all-reduce gives every rank
// the same bits and non-commutative operations see rank order.
//
// Larger operations check in those rounds and then move data directly between the ranks that
// need it, in one round, so large messages go by single copy (cross-memory attach) and in
// parallel: a reduction is a direct reduce-scatter (rank p receives everyone's piece of block p
// and folds the pieces in rank order) followed by an all-gather or a gather of the blocks.
// Operations whose counts legitimately differ between ranks (the v variants) check every
// message's size and end with more signature rounds, so a size mismatch is reported everywhere.

extension CollectiveSchedule {
    /// Data a rank may receive in the fused rounds; beyond it an operation checks first and then
    /// moves its data directly.
    static let fusedLimit = 16 << 10
    /// A fused broadcast copies its data five times (into and out of the messages' scratch as
    /// well as the rings), so it pays only for small data.
    static let fusedBroadcastLimit = 2 << 10
    /// From this size a broadcast splits the copying between root and receivers (below it the
    /// two extra synchronizations cost more than the copying saved, above all with more ranks
    /// than cores).
    static let splitBroadcastLimit = 16 << 10
    /// Broadcasts up to this size go through the rings in pieces of `broadcastPiece` bytes.
    static let pipelinedBroadcastLimit = 8 << 10
    static let broadcastPiece = 4 << 10
    /// Reductions to a root up to this size send every vector to the root, which folds them: one
    /// round where reduce-scatter + gather take two (beyond it, sharing the copying and folding
    /// among the ranks wins).
    static let directReduceLimit = 64 << 10

    /// Message numbers: signature or fused rounds from 0, final signature rounds from 32, data
    /// from 64.
    private static let checkMessages = 0
    private static let finalCheckMessages = 32
    private static let dataMessages = 64

    func plan(_ operation: CollectiveFields) {
        let elementBytes = operation.type.size
        switch operation.kind {
        case .barrier:
            signatureRounds(message: CollectiveSchedule.checkMessages)
        case .broadcast:
            planBroadcast(operation, elementBytes)
        case .reduce, .allReduce:
            planReduce(operation, elementBytes)
        case .scan, .exclusiveScan:
            planScan(operation, elementBytes)
        case .gather, .allGather:
            planGather(operation, elementBytes)
        case .scatter:
            planScatter(operation, elementBytes)
        case .allToAll:
            planAllToAll(operation, elementBytes)
        case .reduceScatterBlock, .reduceScatter:
            planReduceScatter(operation, elementBytes)
        case .gatherv:
            planGatherv(operation, elementBytes)
        case .scatterv:
            planScatterv(operation, elementBytes)
        case .allGatherv:
            planAllGatherv(operation, elementBytes)
        case .allToAllv:
            planAllToAllv(operation, elementBytes)
        }
    }

    // MARK: Building blocks

    /// Dissemination rounds that exchange only signatures, then a checkpoint. They start once
    /// everything before them has completed, so they carry what it found.
    func signatureRounds(message base: Int) {
        endRound()
        var distance = 1
        var round = 0
        while distance < size {
            let from = (rank - distance + size) % size
            let incoming = allocate(CollectiveSignature.size)
            receive(incoming, CollectiveSignature.size, from: from, message: base + round, exact: false)
            send(UnsafeRawPointer(signature), CollectiveSignature.size, to: (rank + distance) % size, message: base + round)
            compare(incoming, from: from)
            distance <<= 1
            round += 1
        }
        checkpoint()
    }

    /// A dissemination all-gather of `bytes` at `payload` whose messages carry the signature
    /// (Bruck's algorithm: round k sends what this rank has gathered so far, at most 2ᵏ blocks).
    /// Returns the gathered blocks: block j is rank (r − j) mod n's (see `gatheredBlock`).
    func fusedAllGather(_ payload: UnsafeRawPointer?, bytes: Int) -> UnsafeMutableRawPointer {
        // The signature sits just before the blocks, so one message carries both.
        let area = allocate(64 + size * bytes)
        let gathered = area + 64
        placeSignature(at: area + 64 - CollectiveSignature.size)
        copy(payload, to: gathered, bytes: bytes)
        var largest = 0
        var distance = 1
        while distance < size {
            largest = max(largest, min(distance, size - distance))
            distance <<= 1
        }
        let landing = allocate(64 + largest * bytes) + 64
        distance = 1
        var round = 0
        while distance < size {
            let blocks = min(distance, size - distance)
            let from = (rank - distance + size) % size
            let messageBytes = CollectiveSignature.size + blocks * bytes
            receive(landing - CollectiveSignature.size, messageBytes, from: from, message: round, exact: false)
            send(UnsafeRawPointer(gathered - CollectiveSignature.size), messageBytes, to: (rank + distance) % size, message: round)
            compare(landing - CollectiveSignature.size, from: from)
            copy(landing, to: gathered + distance * bytes, bytes: blocks * bytes)
            distance <<= 1
            round += 1
        }
        checkpoint()
        return gathered
    }

    /// Where `fusedAllGather` put rank `q`'s block.
    func gatheredBlock(_ gathered: UnsafeMutableRawPointer, of q: Int, bytes: Int) -> UnsafeMutableRawPointer {
        gathered + ((rank - q + size) % size) * bytes
    }

    /// A dissemination broadcast of `bytes` from `root` whose messages carry the signature: in
    /// round k the ranks that have the data (relative ranks below 2ᵏ) send it along with their
    /// signature, the others their signature alone. Returns where the data is on this rank.
    func fusedBroadcast(_ source: UnsafeRawPointer?, bytes: Int, root: Int) -> UnsafeMutableRawPointer {
        let area = allocate(64 + bytes)
        let data = area + 64
        placeSignature(at: data - CollectiveSignature.size)
        let relative = (rank - root + size) % size
        if relative == 0 { copy(source, to: data, bytes: bytes) }
        let landing = allocate(64 + bytes) + 64
        var distance = 1
        var round = 0
        while distance < size {
            let from = (rank - distance + size) % size
            receive(landing - CollectiveSignature.size, CollectiveSignature.size + bytes, from: from, message: round, exact: false)
            send(UnsafeRawPointer(data - CollectiveSignature.size), CollectiveSignature.size + (relative < distance ? bytes : 0),
                to: (rank + distance) % size, message: round)
            compare(landing - CollectiveSignature.size, from: from)
            if distance <= relative && relative < 2 * distance { copy(landing, to: data, bytes: bytes) }
            distance <<= 1
            round += 1
        }
        checkpoint()
        return data
    }

    /// `output = x₀ ∘ x₁ ∘ … ∘ x_last` over `count` elements, `x_q` at `operand(q)`, combined
    /// right to left: the same order on every rank.
    func fold(through last: Int, count: Int, elementBytes: Int, into output: UnsafeMutableRawPointer?, _ operand: (Int) -> UnsafeRawPointer?) {
        copy(operand(last), to: output, bytes: count * elementBytes)
        var q = last - 1
        while q >= 0 {
            reduce(operand(q), into: output, count: count)
            q -= 1
        }
    }

    /// A copy of `bytes` at `source` in scratch memory, made before the next communication.
    func scratchCopy(_ source: UnsafeRawPointer?, bytes: Int) -> UnsafeRawPointer {
        let copy = allocate(bytes)
        self.copy(source, to: copy, bytes: bytes)
        return UnsafeRawPointer(copy)
    }

    /// The `q`th of `size` nearly equal blocks of `total` elements.
    func block(_ q: Int, of total: Int) -> (offset: Int, count: Int) {
        let base = total / size
        let extra = total % size
        return (q * base + min(q, extra), base + (q < extra ? 1 : 0))
    }

    /// Direct reduce-scatter: block p of `input` goes to rank p; this rank folds the pieces of
    /// its block into `output`: in rank order (the highest rank's piece landing in `output`
    /// itself), or, for a commutative operation, onto the next rank's piece, which lands in
    /// `output`, in rank order of the rest. Either way one fixed order per block.
    func directReduceScatter(
        _ input: UnsafeRawPointer?, elementBytes: Int, into output: UnsafeMutableRawPointer?,
        _ blockOf: (Int) -> (offset: Int, count: Int)
    ) {
        let mine = blockOf(rank)
        let bytes = mine.count * elementBytes
        var pieces = [UnsafeRawPointer?](repeating: nil, count: size)
        pieces[rank] = offset(input, mine.offset * elementBytes)
        let first = commutative ? (rank + 1) % size : size - 1
        if bytes > 0 {
            for peer in 0..<size where peer != rank {
                let landing = peer == first ? output : allocate(bytes)
                receive(landing, bytes, from: peer, message: CollectiveSchedule.dataMessages)
                pieces[peer] = UnsafeRawPointer(landing)
            }
        }
        for peer in 0..<size where peer != rank {
            let theirs = blockOf(peer)
            if theirs.count > 0 {
                send(offset(input, theirs.offset * elementBytes), theirs.count * elementBytes, to: peer,
                    message: CollectiveSchedule.dataMessages)
            }
        }
        if commutative && size > 1 {
            for q in 0..<size where q != first { reduce(pieces[q], into: output, count: mine.count) }
        } else {
            fold(through: size - 1, count: mine.count, elementBytes: elementBytes, into: output) { pieces[$0] }
        }
    }

    func offset(_ pointer: UnsafeRawPointer?, _ bytes: Int) -> UnsafeRawPointer? { pointer.map { $0 + bytes } }
    func offset(_ pointer: UnsafeMutableRawPointer?, _ bytes: Int) -> UnsafeMutableRawPointer? { pointer.map { $0 + bytes } }

    // MARK: Operations

    private func planBroadcast(_ operation: CollectiveFields, _ elementBytes: Int) {
        let bytes = operation.count * elementBytes
        let root = operation.root
        if bytes <= CollectiveSchedule.fusedBroadcastLimit {
            let data = fusedBroadcast(operation.receive, bytes: bytes, root: root)
            if rank != root { copy(data, to: operation.receive, bytes: bytes) }
            return
        }
        signatureRounds(message: CollectiveSchedule.checkMessages)
        if crossMemory && bytes >= CollectiveSchedule.splitBroadcastLimit {
            splitBroadcast(operation.receive!, bytes: bytes, root: root)
            return
        }
        // Every rank copies straight from the root's buffer, all at once; data that goes through
        // the rings goes in pieces, so a receiver copies one out while the root writes the next.
        let piece = bytes <= CollectiveSchedule.pipelinedBroadcastLimit ? CollectiveSchedule.broadcastPiece : bytes
        var offset = 0
        while offset < bytes {
            let length = min(piece, bytes - offset)
            if rank == root {
                for peer in 0..<size where peer != root {
                    send(self.offset(UnsafeRawPointer(operation.receive), offset), length, to: peer, message: CollectiveSchedule.dataMessages)
                }
            } else {
                receive(self.offset(operation.receive, offset), length, from: root, message: CollectiveSchedule.dataMessages)
            }
            offset += length
        }
    }

    /// A broadcast whose copying is shared: each receiver reads the first (n − 1)/n of the data
    /// from the root's memory while the root writes the rest into every receiver's, so every rank
    /// copies (n − 1)/n of it, in parallel. The ranks swap buffer addresses first and the outcome
    /// of their copies last (no rank returns while another may still copy from or into it).
    private func splitBroadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int, root: Int) {
        let head = (size - 1) * bytes / size
        let addresses = CollectiveSchedule.dataMessages
        let outcomes = CollectiveSchedule.dataMessages + 1
        let mine = addressSlot(buffer)
        if rank == root {
            var slots = [UnsafeMutableRawPointer?](repeating: nil, count: size)
            var statuses = [UnsafeMutablePointer<UInt8>?](repeating: nil, count: size)
            for peer in 0..<size where peer != root {
                slots[peer] = allocate(MemoryLayout<UInt>.size)
                statuses[peer] = statusByte()
                receive(slots[peer], MemoryLayout<UInt>.size, from: peer, message: addresses)
            }
            for peer in 0..<size where peer != root { send(UnsafeRawPointer(mine), MemoryLayout<UInt>.size, to: peer, message: addresses) }
            for peer in 0..<size where peer != root {
                steps.append(.push(UnsafeRawPointer(buffer + head), slot: UnsafeRawPointer(slots[peer]!), offset: head, bytes: bytes - head,
                    world: members[peer], status: statuses[peer]!))
            }
            for peer in 0..<size where peer != root { receive(allocate(1), 1, from: peer, message: outcomes) }
            for peer in 0..<size where peer != root { send(UnsafeRawPointer(statuses[peer]!), 1, to: peer, message: outcomes) }
            for peer in 0..<size where peer != root { steps.append(.checkStatus(UnsafeRawPointer(statuses[peer]!), peer: peer)) }
        } else {
            let rootAddress = allocate(MemoryLayout<UInt>.size)
            let status = statusByte()
            let rootStatus = allocate(1)
            receive(rootAddress, MemoryLayout<UInt>.size, from: root, message: addresses)
            send(UnsafeRawPointer(mine), MemoryLayout<UInt>.size, to: root, message: addresses)
            steps.append(.pull(slot: UnsafeRawPointer(rootAddress), offset: 0, into: buffer, bytes: head, world: members[root], status: status))
            receive(rootStatus, 1, from: root, message: outcomes)
            send(UnsafeRawPointer(status), 1, to: root, message: outcomes)
            steps.append(.checkStatus(UnsafeRawPointer(status), peer: root))
            steps.append(.checkStatus(UnsafeRawPointer(rootStatus), peer: root))
        }
    }

    private func planReduce(_ operation: CollectiveFields, _ elementBytes: Int) {
        let count = operation.count
        let bytes = count * elementBytes
        let everyone = operation.kind == .allReduce
        let gets = everyone || rank == operation.root
        let input = operation.inPlace ? UnsafeRawPointer(operation.receive) : operation.send
        if (size - 1) * bytes <= CollectiveSchedule.fusedLimit || count < size {
            let gathered = fusedAllGather(input, bytes: bytes)
            if gets {
                fold(through: size - 1, count: count, elementBytes: elementBytes, into: operation.receive) {
                    UnsafeRawPointer(gatheredBlock(gathered, of: $0, bytes: bytes))
                }
            }
            return
        }
        signatureRounds(message: CollectiveSchedule.checkMessages)
        let source = operation.inPlace ? scratchCopy(input, bytes: bytes) : input
        if !everyone && bytes <= CollectiveSchedule.directReduceLimit {
            // Straight to the root, which folds every vector: one round instead of two.
            directReduceScatter(source, elementBytes: elementBytes, into: gets ? operation.receive : nil) {
                $0 == operation.root ? (0, count) : (0, 0)
            }
            return
        }
        let mine = block(rank, of: count)
        let reduced = gets ? offset(operation.receive, mine.offset * elementBytes) : allocate(mine.count * elementBytes)
        directReduceScatter(source, elementBytes: elementBytes, into: reduced) { block($0, of: count) }
        let message = CollectiveSchedule.dataMessages + 1
        if gets {
            for peer in 0..<size where peer != rank {
                let theirs = block(peer, of: count)
                receive(offset(operation.receive, theirs.offset * elementBytes), theirs.count * elementBytes, from: peer, message: message)
            }
        }
        for peer in 0..<size where peer != rank && (everyone || peer == operation.root) {
            send(UnsafeRawPointer(reduced), mine.count * elementBytes, to: peer, message: message)
        }
    }

    private func planScan(_ operation: CollectiveFields, _ elementBytes: Int) {
        let count = operation.count
        let bytes = count * elementBytes
        let exclusive = operation.kind == .exclusiveScan
        let input = operation.inPlace ? UnsafeRawPointer(operation.receive) : operation.send
        if (size - 1) * bytes <= CollectiveSchedule.fusedLimit {
            let gathered = fusedAllGather(input, bytes: bytes)
            let last = exclusive ? rank - 1 : rank
            if last >= 0 {
                fold(through: last, count: count, elementBytes: elementBytes, into: operation.receive) {
                    UnsafeRawPointer(gatheredBlock(gathered, of: $0, bytes: bytes))
                }
            }
            return
        }
        // A chain: rank r receives the prefix over 0..<r from r − 1 and passes its own on.
        signatureRounds(message: CollectiveSchedule.checkMessages)
        let message = CollectiveSchedule.dataMessages
        let output = operation.receive
        if !exclusive {
            copy(input, to: output, bytes: bytes)
            if rank > 0 {
                let prefix = allocate(bytes)
                receive(prefix, bytes, from: rank - 1, message: message)
                reduce(prefix, into: output, count: count)
            }
            if rank < size - 1 { send(UnsafeRawPointer(output), bytes, to: rank + 1, message: message) }
            return
        }
        let own = operation.inPlace ? scratchCopy(input, bytes: bytes) : input
        if rank == 0 {
            if size > 1 { send(own, bytes, to: 1, message: message) }
            return
        }
        receive(output, bytes, from: rank - 1, message: message)
        if rank < size - 1 {
            let next = allocate(bytes)
            copy(own, to: next, bytes: bytes)
            reduce(UnsafeRawPointer(output), into: next, count: count)
            send(UnsafeRawPointer(next), bytes, to: rank + 1, message: message)
        }
    }

    private func planGather(_ operation: CollectiveFields, _ elementBytes: Int) {
        let bytes = operation.count * elementBytes
        let everyone = operation.kind == .allGather
        let gets = everyone || rank == operation.root
        let input = operation.inPlace ? UnsafeRawPointer(offset(operation.receive, rank * bytes)) : operation.send
        if (size - 1) * bytes <= CollectiveSchedule.fusedLimit {
            let gathered = fusedAllGather(input, bytes: bytes)
            if gets {
                for q in 0..<size where !(operation.inPlace && q == rank) {
                    copy(gatheredBlock(gathered, of: q, bytes: bytes), to: offset(operation.receive, q * bytes), bytes: bytes)
                }
            }
            return
        }
        signatureRounds(message: CollectiveSchedule.checkMessages)
        let message = CollectiveSchedule.dataMessages
        if gets {
            for peer in 0..<size where peer != rank {
                receive(offset(operation.receive, peer * bytes), bytes, from: peer, message: message)
            }
        }
        for peer in 0..<size where peer != rank && (everyone || peer == operation.root) {
            send(input, bytes, to: peer, message: message)
        }
        if gets { copyDuringRound(input, to: offset(operation.receive, rank * bytes), bytes: bytes) }
    }

    private func planScatter(_ operation: CollectiveFields, _ elementBytes: Int) {
        let bytes = operation.count * elementBytes
        let root = operation.root
        let keep = !(rank == root && operation.inPlace)
        if size * bytes <= CollectiveSchedule.fusedLimit {
            let data = fusedBroadcast(operation.send, bytes: size * bytes, root: root)
            if keep { copy(data + rank * bytes, to: operation.receive, bytes: bytes) }
            return
        }
        signatureRounds(message: CollectiveSchedule.checkMessages)
        let message = CollectiveSchedule.dataMessages
        if rank == root {
            for peer in 0..<size where peer != root {
                send(offset(operation.send, peer * bytes), bytes, to: peer, message: message)
            }
            if keep { copyDuringRound(offset(operation.send, rank * bytes), to: operation.receive, bytes: bytes) }
        } else {
            receive(operation.receive, bytes, from: root, message: message)
        }
    }

    private func planAllToAll(_ operation: CollectiveFields, _ elementBytes: Int) {
        let bytes = operation.count * elementBytes
        let input = operation.inPlace ? UnsafeRawPointer(operation.receive) : operation.send
        if (size - 1) * size * bytes <= CollectiveSchedule.fusedLimit {
            let gathered = fusedAllGather(input, bytes: size * bytes)
            for q in 0..<size {
                copy(gatheredBlock(gathered, of: q, bytes: size * bytes) + rank * bytes, to: offset(operation.receive, q * bytes), bytes: bytes)
            }
            return
        }
        signatureRounds(message: CollectiveSchedule.checkMessages)
        let source = operation.inPlace ? scratchCopy(input, bytes: size * bytes) : input
        let message = CollectiveSchedule.dataMessages
        for peer in 0..<size where peer != rank {
            receive(offset(operation.receive, peer * bytes), bytes, from: peer, message: message)
        }
        for peer in 0..<size where peer != rank {
            send(offset(source, peer * bytes), bytes, to: peer, message: message)
        }
        copyDuringRound(offset(source, rank * bytes), to: offset(operation.receive, rank * bytes), bytes: bytes)
    }

    private func planReduceScatter(_ operation: CollectiveFields, _ elementBytes: Int) {
        var counts = [Int](repeating: operation.count, count: size)
        if operation.kind == .reduceScatter { counts = Array(operation.receiveCounts) }
        var starts = [Int](repeating: 0, count: size)
        for q in 1..<max(size, 1) { starts[q] = starts[q - 1] + counts[q - 1] }
        let total = size > 0 ? starts[size - 1] + counts[size - 1] : 0
        let bytes = total * elementBytes
        let input = operation.inPlace ? UnsafeRawPointer(operation.receive) : operation.send
        if (size - 1) * bytes <= CollectiveSchedule.fusedLimit {
            let gathered = fusedAllGather(input, bytes: bytes)
            fold(through: size - 1, count: counts[rank], elementBytes: elementBytes, into: operation.receive) {
                UnsafeRawPointer(gatheredBlock(gathered, of: $0, bytes: bytes) + starts[rank] * elementBytes)
            }
            return
        }
        signatureRounds(message: CollectiveSchedule.checkMessages)
        let source = operation.inPlace ? scratchCopy(input, bytes: bytes) : input
        directReduceScatter(source, elementBytes: elementBytes, into: operation.receive) { (starts[$0], counts[$0]) }
    }

    // MARK: Operations whose counts differ between ranks

    private func planGatherv(_ operation: CollectiveFields, _ elementBytes: Int) {
        signatureRounds(message: CollectiveSchedule.checkMessages)
        let message = CollectiveSchedule.dataMessages
        if rank == operation.root {
            for peer in 0..<size where peer != rank {
                receive(offset(operation.receive, operation.receiveDisplacements[peer] * elementBytes),
                    operation.receiveCounts[peer] * elementBytes, from: peer, message: message)
            }
            if !operation.inPlace {
                copyDuringRound(operation.send, to: offset(operation.receive, operation.receiveDisplacements[rank] * elementBytes),
                    bytes: operation.count * elementBytes)
            }
        } else {
            send(operation.send, operation.count * elementBytes, to: operation.root, message: message)
        }
        signatureRounds(message: CollectiveSchedule.finalCheckMessages)
    }

    private func planScatterv(_ operation: CollectiveFields, _ elementBytes: Int) {
        signatureRounds(message: CollectiveSchedule.checkMessages)
        let message = CollectiveSchedule.dataMessages
        if rank == operation.root {
            for peer in 0..<size where peer != rank {
                send(offset(operation.send, operation.sendDisplacements[peer] * elementBytes),
                    operation.sendCounts[peer] * elementBytes, to: peer, message: message)
            }
            if !operation.inPlace {
                copyDuringRound(offset(operation.send, operation.sendDisplacements[rank] * elementBytes), to: operation.receive,
                    bytes: operation.count * elementBytes)
            }
        } else {
            receive(operation.receive, operation.count * elementBytes, from: operation.root, message: message)
        }
        signatureRounds(message: CollectiveSchedule.finalCheckMessages)
    }

    private func planAllGatherv(_ operation: CollectiveFields, _ elementBytes: Int) {
        // The signature's count is a hash of the counts, so after the check every rank knows
        // every message's size.
        signatureRounds(message: CollectiveSchedule.checkMessages)
        let counts = operation.receiveCounts
        let displacements = operation.receiveDisplacements
        let message = CollectiveSchedule.dataMessages
        let input = operation.inPlace
            ? UnsafeRawPointer(offset(operation.receive, displacements[rank] * elementBytes)) : operation.send
        for peer in 0..<size where peer != rank && counts[peer] > 0 {
            receive(offset(operation.receive, displacements[peer] * elementBytes), counts[peer] * elementBytes, from: peer, message: message)
        }
        if counts[rank] > 0 {
            for peer in 0..<size where peer != rank {
                send(input, counts[rank] * elementBytes, to: peer, message: message)
            }
        }
        copyDuringRound(input, to: offset(operation.receive, displacements[rank] * elementBytes), bytes: counts[rank] * elementBytes)
    }

    private func planAllToAllv(_ operation: CollectiveFields, _ elementBytes: Int) {
        signatureRounds(message: CollectiveSchedule.checkMessages)
        let receiveCounts = operation.receiveCounts
        let receiveDisplacements = operation.receiveDisplacements
        let sendCounts = operation.inPlace ? receiveCounts : operation.sendCounts
        let sendDisplacements = operation.inPlace ? receiveDisplacements : operation.sendDisplacements
        var source = operation.send
        if operation.inPlace {
            var extent = 0
            for q in 0..<size where receiveCounts[q] > 0 { extent = max(extent, receiveDisplacements[q] + receiveCounts[q]) }
            source = scratchCopy(operation.receive, bytes: extent * elementBytes)
        }
        let message = CollectiveSchedule.dataMessages
        for peer in 0..<size where peer != rank {
            receive(offset(operation.receive, receiveDisplacements[peer] * elementBytes), receiveCounts[peer] * elementBytes,
                from: peer, message: message)
        }
        for peer in 0..<size where peer != rank {
            send(offset(source, sendDisplacements[peer] * elementBytes), sendCounts[peer] * elementBytes, to: peer, message: message)
        }
        if sendCounts[rank] != receiveCounts[rank] {
            sizeMismatch(from: rank, expected: receiveCounts[rank] * elementBytes, received: sendCounts[rank] * elementBytes)
        }
        copyDuringRound(offset(source, sendDisplacements[rank] * elementBytes), to: offset(operation.receive, receiveDisplacements[rank] * elementBytes),
            bytes: min(sendCounts[rank], receiveCounts[rank]) * elementBytes)
        signatureRounds(message: CollectiveSchedule.finalCheckMessages)
    }
}
