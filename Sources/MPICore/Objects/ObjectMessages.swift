import MPIBinaryCoding

// Object messages: any Codable value, encoded by `MessageEncoder` into a byte message — the
// counterpart of mpi4py's lowercase methods (`comm.send`, `comm.recv`, `comm.bcast`, …), which
// pickle Python objects. The operations themselves live beside their typed forms (Send.swift,
// Receive.swift, SendReceive.swift, Broadcast.swift, Gather.swift, AllGather.swift); this file
// holds the payload encoding they share.

extension Communicator {
    // MARK: Payloads for collective object operations
    //
    // The collective object operations (broadcast, gather, allGather of Codable values, as
    // mpi4py's comm.bcast/gather/allgather) are these two helpers around the byte collectives:
    // broadcast sends the root's payload size, then the payload, and every rank decodes it;
    // gather and allGather collect each rank's payload size, then the payloads with gatherv /
    // allGatherv, and decode each rank's slice of the result with `decodeMessage(_:from:sender:)`.

    /// The object message for `value`; failures become `MPIError`s of class `.type`, or
    /// `.other` for an error of the value's own.
    static func encodeMessage<T: Encodable>(_ value: T) throws(MPIError) -> [UInt8] {
        do {
            return try MessageEncoder().encode(value)
        } catch let error as MPIError {
            throw error
        } catch let error as EncodingError {
            throw MPIError(.type, "cannot encode \(T.self) as an object message: \(summary(of: error))")
        } catch {
            throw MPIError(.other, "encoding \(T.self) as an object message threw \(error)")
        }
    }

    /// Decodes a `T` from the object message `bytes` sent by rank `sender`; failures become
    /// `MPIError`s of class `.type` (or `.other`) that name the sender and what did not match.
    static func decodeMessage<T: Decodable>(
        _ type: T.Type, from bytes: UnsafeRawBufferPointer, sender: Int
    ) throws(MPIError) -> T {
        do {
            return try MessageDecoder().decode(T.self, from: bytes)
        } catch let error as MPIError {
            throw error
        } catch let error as DecodingError {
            throw MPIError(.type, "cannot decode \(T.self) from the \(bytes.count)-byte object message of rank \(sender): \(summary(of: error))")
        } catch {
            throw MPIError(.other, "decoding \(T.self) from the object message of rank \(sender) threw \(error)")
        }
    }

    /// Decodes one `T` from each rank's object message, in rank order.
    static func decodeMessages<T: Decodable>(_ type: T.Type, from blocks: [[UInt8]]) throws(MPIError) -> [T] {
        var values: [T] = []
        values.reserveCapacity(blocks.count)
        for (sender, block) in blocks.enumerated() {
            values.append(try decodeMessage(T.self, from: block, sender: sender))
        }
        return values
    }

    static func decodeMessage<T: Decodable>(_ type: T.Type, from bytes: [UInt8], sender: Int) throws(MPIError) -> T {
        try bytes.withUnsafeBufferPointer { (buffer) throws(MPIError) in
            try decodeMessage(T.self, from: UnsafeRawBufferPointer(buffer), sender: sender)
        }
    }
}

/// What a coding error says, with where: "at items[2].name: no value for key 'name'…".
private func summary(of error: any Error) -> String {
    let context: (path: [any CodingKey], description: String)
    switch error {
    case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.keyNotFound(_, let c),
        DecodingError.dataCorrupted(let c):
        context = (c.codingPath, c.debugDescription)
    case EncodingError.invalidValue(_, let c):
        context = (c.codingPath, c.debugDescription)
    default:
        return "\(error)"
    }
    guard !context.path.isEmpty else { return context.description }
    let path = context.path.map { key in
        if key is MessageCodingKey, let index = key.intValue { "[\(index)]" } else { ".\(key.stringValue)" }
    }.joined()
    return "at \(path.hasPrefix(".") ? String(path.dropFirst()) : path): \(context.description)"
}

