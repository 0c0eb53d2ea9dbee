// Send-receive (MPI-4.1 §3.10): one call that sends and receives without deadlocking against
// the partner's, for any pair of buffers, in one buffer (replace), between two layouts of one
// array (a halo step), and for objects.

extension Communicator {
    /// Sends `sendBuffer` to `dest` and receives into `receiveBuffer` from `source` in one call
    /// that cannot deadlock against the partner's send-receive (`MPI_Sendrecv`). Either peer
    /// may be ``nullProcess``.
    @inlinable @discardableResult
    public func sendReceive<Outgoing: SendBuffer, Incoming: ReceiveBuffer>(
        _ sendBuffer: Outgoing, to dest: Int, sendTag: Int = 0,
        into receiveBuffer: inout Incoming,
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try checkActive()
        try checkSendTag(sendTag)
        try checkReceiveTag(receiveTag)
        let sends = try validDestination(dest)
        let receives = try validSource(source)
        switch (sends, receives) {
        case (false, false):
            return .null
        case (true, false):
            try send(sendBuffer, to: dest, tag: sendTag)
            return .null
        case (false, true):
            return try receive(into: &receiveBuffer, from: source, tag: receiveTag)
        case (true, true):
            return try sendBuffer.withSendElements { (outgoing) throws(MPIError) in
                try receiveBuffer.withReceiveElements { (incoming) throws(MPIError) in
                    try backend.sendReceive(
                        UnsafeRawPointer(outgoing.baseAddress), sendCount: outgoing.count, sendType: Outgoing.Element.datatype,
                        to: dest, sendTag: sendTag,
                        into: UnsafeMutableRawPointer(incoming.baseAddress), receiveCount: incoming.count,
                        receiveType: Incoming.Element.datatype, from: source, receiveTag: receiveTag, comm: handle)
                }
            }
        }
    }

    /// Sends the contents of `buffer` to `dest`, then replaces them with a message from
    /// `source` of at most the same length (`MPI_Sendrecv_replace`).
    @inlinable @discardableResult
    public func sendReceiveReplace<Buffer: ReceiveBuffer>(
        _ buffer: inout Buffer, to dest: Int, sendTag: Int = 0,
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try buffer.withReceiveElements { (elements) throws(MPIError) in
            let outgoing = OwnedElements(copying: UnsafeBufferPointer(elements))
            var incoming = elements
            return try sendReceive(
                UnsafeBufferPointer(outgoing.storage), to: dest, sendTag: sendTag, into: &incoming, from: source, receiveTag: receiveTag)
        }
    }

    /// Starts sending `sendBuffer` to `dest` and receiving into `receiveBuffer` from `source`
    /// and returns at once (`MPI_Isendrecv`, MPI-4; an immediate receive and an immediate send,
    /// which is how it is built on Open MPI 4.1 too). Either peer may be ``nullProcess``. The
    /// lending rules of ``immediateSend(_:layout:count:at:to:tag:mode:)`` and
    /// ``immediateReceive(into:layout:count:at:from:tag:)`` apply: one `MessageBuffer` cannot be
    /// both (use ``immediateSendReceiveReplace(_:to:sendTag:from:receiveTag:)``).
    @inlinable
    public func immediateSendReceive<Outgoing: SendBuffer, Incoming: LendableReceiveBuffer>(
        _ sendBuffer: Outgoing, to dest: Int, sendTag: Int = 0,
        into receiveBuffer: Incoming,
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> SendReceiveRequest {
        let sends = try checkedPeers(destination: dest, tag: sendTag)
        let receives = try checkedPeers(source: source, tag: receiveTag)
        // Both buffers are lent before anything is posted, so a refused call (one
        // MessageBuffer as both) leaves no receive that a message could match meanwhile.
        let (sent, received) = try lendBoth(sendBuffer, receiveBuffer)
        let receiveOrigin = RequestOrigin(.receive, peer: source, tag: receiveTag)
        var receive = Request.completed(backendReference, .null, origin: receiveOrigin)
        if receives {
            do throws(MPIError) {
                let handle = try backend.immediateReceive(
                    into: UnsafeMutableRawPointer(received.elements.baseAddress), count: received.elements.count,
                    type: Incoming.Element.datatype, from: source, tag: receiveTag, comm: self.handle)
                receive = Request(backend: backendReference, handle: handle, loan: received.loan.loan, result: nil, origin: receiveOrigin)
            } catch {
                sent.loan.loan.end()
                received.loan.loan.end()
                throw error
            }
        } else {
            received.loan.loan.end()
        }
        let sendOrigin = RequestOrigin(.send, peer: dest, tag: sendTag)
        guard sends else {
            sent.loan.loan.end()
            return SendReceiveRequest(send: .completed(backendReference, .null, origin: sendOrigin), receive: receive)
        }
        do throws(MPIError) {
            let handle = try backend.immediateSend(
                UnsafeRawPointer(sent.elements.baseAddress), count: sent.elements.count, type: Outgoing.Element.datatype,
                to: dest, tag: sendTag, comm: self.handle, mode: .standard)
            return SendReceiveRequest(send: Request(backend: backendReference, handle: handle, loan: sent.loan.loan, result: nil, origin: sendOrigin),
                receive: receive)
        } catch {
            // The backend refused the send (it is shutting down): take the receive back.
            sent.loan.loan.end()
            try? receive.cancel()
            _ = try? receive.wait()
            throw error
        }
    }

    /// Starts sending the contents of `buffer` to `dest` and replacing them with a message from
    /// `source` of at most the same length, and returns at once (`MPI_Isendrecv_replace`, MPI-4).
    /// The outgoing elements are copied first, into memory the request owns.
    @inlinable
    public func immediateSendReceiveReplace<Buffer: LendableReceiveBuffer>(
        _ buffer: Buffer, to dest: Int, sendTag: Int = 0,
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> SendReceiveRequest {
        _ = try checkedPeers(destination: dest, tag: sendTag)
        let outgoing = try buffer.withSendElements { (elements) throws(MPIError) in OwnedElements(copying: elements) }
        return try immediateSendReceive(outgoing, to: dest, sendTag: sendTag, into: buffer, from: source, receiveTag: receiveTag)
    }

    /// Sends one item of `sendLayout` from `array` at element `sendOffset` to `dest` and receives
    /// one item of `receiveLayout` into the same array at `receiveOffset` from `source`
    /// (`MPI_Sendrecv` with derived datatypes): one halo exchange step. The two selections must
    /// not overlap.
    @inlinable @discardableResult
    public func sendReceive<Buffer: ReceiveBuffer>(
        _ buffer: inout Buffer,
        sending sendLayout: MessageLayout<Buffer.Element>, at sendOffset: Int, to dest: Int, sendTag: Int = 0,
        receiving receiveLayout: MessageLayout<Buffer.Element>, at receiveOffset: Int,
        from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> Status {
        try checkActive()
        try checkSendTag(sendTag)
        try checkReceiveTag(receiveTag)
        let sends = try validDestination(dest)
        let receives = try validSource(source)
        return try buffer.withReceiveElements { (elements) throws(MPIError) -> Status in
            let outgoing = try message(UnsafeBufferPointer(elements), layout: sendLayout, count: 1, offset: sendOffset)
            let incoming = try message(elements, layout: receiveLayout, count: 1, offset: receiveOffset)
            switch (sends, receives) {
            case (false, false):
                return .null
            case (true, false):
                try backend.send(outgoing.base, count: 1, type: outgoing.type, to: dest, tag: sendTag, comm: handle, mode: .standard)
                return .null
            case (false, true):
                return try backend.receive(into: incoming.base, count: 1, type: incoming.type, from: source, tag: receiveTag, comm: handle)
            case (true, true):
                return try backend.sendReceive(
                    outgoing.base, sendCount: 1, sendType: outgoing.type, to: dest, sendTag: sendTag,
                    into: incoming.base, receiveCount: 1, receiveType: incoming.type,
                    from: source, receiveTag: receiveTag, comm: handle)
            }
        }
    }

    /// Sends `object` to `dest` and receives an object from `source`, decoded as an `R`, in one
    /// call that cannot deadlock against the partner's (mpi4py's
    /// `comm.sendrecv(sendobj, dest, sendtag, source=, recvtag=)`; `MPI_Isend`, the probed
    /// receive, then `MPI_Wait`).
    ///
    /// - Throws: The errors of ``send(object:to:tag:mode:)`` and ``receiveObject(_:from:tag:)``;
    ///   the send completes even when the receive fails.
    public func sendReceive<R: Decodable>(
        object: some Encodable & Sendable, to dest: Int, sendTag: Int = 0,
        receiving type: R.Type, from source: Int = Communicator.anySource, receiveTag: Int = Communicator.anyTag
    ) throws(MPIError) -> (value: R, status: Status) {
        // Every argument is checked before anything is sent.
        guard try checkedPeers(source: source, tag: receiveTag) else { throw Communicator.noObjectFromNullProcess() }
        _ = try checkedPeers(destination: dest, tag: sendTag)
        var send = try immediateSend(Communicator.encodeMessage(object), to: dest, tag: sendTag)
        let received = try receiveObject(R.self, from: source, tag: receiveTag)
        try send.wait()
        return received
    }
}
