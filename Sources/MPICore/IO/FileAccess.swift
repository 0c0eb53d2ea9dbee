// The one path every data access of a `File` takes: checks, then the backend. The public forms
// (FileRead.swift, FileWrite.swift) only choose the positioning, whether the call is collective,
// and how the buffer is lent.

extension File {
    /// Checks an access of `count` `type` items at `position` before it reaches the backend.
    func checkAccess(_ what: String, write: Bool, count: Int, type: Datatype, position: FilePositioning) throws(MPIError) {
        if write {
            try checkWritable(what)
        } else {
            try checkOpen()
            if mode.contains(.writeOnly) {
                throw MPIError(.access, "\(what) on \(path), which was opened write-only")
            }
        }
        guard count >= 0 else { throw MPIError(.count, "\(what) of \(count) elements on \(path)") }
        if case .explicit(let offset) = position {
            guard offset >= 0 else { throw MPIError(.argument, "\(what) at offset \(offset) of \(path): offsets are not negative") }
            if mode.contains(.sequential) {
                throw MPIError(.unsupported, "\(what) at an explicit offset of \(path), which was opened sequential")
            }
        }
        let element = view.elementType
        guard element != .byte else { return }
        let sameKind = type.recipe != nil || element.recipe != nil || type.builtin == element.builtin
        guard sameKind, type.size % element.size == 0 else {
            throw MPIError(.type, "\(what) of \(type) elements on \(path), whose view counts in \(element): the types of memory and view must match (MPI-4.1 §14.3)")
        }
    }

    /// A blocking access: `buffer` is read (write) or written (read) during the call.
    func access(
        _ what: String, write: Bool, _ buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        _ position: FilePositioning, collective: Bool
    ) throws(MPIError) -> Status {
        try checkAccess(what, write: write, count: count, type: type, position: position)
        let result = try backend.fileAccess(
            handle, write: write, buffer: buffer, count: count, type: type, position: position, collective: collective, request: false)
        if let status = result.status { return status }
        // A backend that hands back a request for a blocking call: complete it here.
        return try backend.wait(result.request!)
    }

    /// An immediate access: the memory is lent to the request through `loan`.
    func immediateAccess(
        _ what: String, write: Bool, _ buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        _ position: FilePositioning, collective: Bool, loan: Loan
    ) throws(MPIError) -> Request {
        let origin = RequestOrigin(write ? .fileWrite : .fileRead, peer: -1, tag: -1)
        do {
            try checkAccess(what, write: write, count: count, type: type, position: position)
            let result = try backend.fileAccess(
                handle, write: write, buffer: buffer, count: count, type: type, position: position, collective: collective, request: true)
            guard let request = result.request else {
                loan.end()
                return .completed(backendReference, result.status!, origin: origin)
            }
            return Request(backend: backendReference, handle: request, loan: loan, result: nil, origin: origin)
        } catch {
            loan.end()
            throw error
        }
    }

    /// Writes the elements of `buffer`.
    func write<Buffer: SendBuffer>(_ what: String, _ buffer: Buffer, _ position: FilePositioning, collective: Bool) throws(MPIError) -> Status {
        try buffer.withSendElements { (elements) throws(MPIError) -> Status in
            try access(what, write: true, UnsafeMutableRawPointer(mutating: elements.baseAddress), count: elements.count,
                type: Buffer.Element.datatype, position, collective: collective)
        }
    }

    /// Reads into the elements of `buffer`.
    func read<Buffer: ReceiveBuffer>(_ what: String, _ buffer: inout Buffer, _ position: FilePositioning, collective: Bool) throws(MPIError) -> Status {
        try buffer.withReceiveElements { (elements) throws(MPIError) -> Status in
            try access(what, write: false, UnsafeMutableRawPointer(elements.baseAddress), count: elements.count,
                type: Buffer.Element.datatype, position, collective: collective)
        }
    }

    /// Reads up to `count` elements into a new array, as many as the file held.
    func read<Element: MessageElement>(_ what: String, count: Int, _ position: FilePositioning, collective: Bool) throws(MPIError) -> [Element] {
        guard count >= 0 else { throw MPIError(.count, "\(what) of \(count) elements on \(path)") }
        return try [Element](unsafeUninitializedCapacity: count) { (elements, initialized) throws(MPIError) in
            let status = try access(what, write: false, UnsafeMutableRawPointer(elements.baseAddress), count: count,
                type: Element.datatype, position, collective: collective)
            initialized = Element.datatype.size == 0 ? 0 : min(count, status.byteCount / Element.datatype.size)
        }
    }

    /// Starts a write of the elements of `buffer`, lent to the request.
    func immediateWrite<Buffer: SendBuffer>(_ what: String, _ buffer: Buffer, _ position: FilePositioning, collective: Bool) throws(MPIError) -> Request {
        let lent = try buffer.lendForSending()
        return try immediateAccess(what, write: true, UnsafeMutableRawPointer(mutating: lent.elements.baseAddress), count: lent.elements.count,
            type: Buffer.Element.datatype, position, collective: collective, loan: lent.loan.loan)
    }

    /// Starts a read into `buffer`, lent to the request.
    func immediateRead<Buffer: LendableReceiveBuffer>(_ what: String, _ buffer: Buffer, _ position: FilePositioning, collective: Bool) throws(MPIError) -> Request {
        let lent = try buffer.lendForReceiving()
        return try immediateAccess(what, write: false, UnsafeMutableRawPointer(lent.elements.baseAddress), count: lent.elements.count,
            type: Buffer.Element.datatype, position, collective: collective, loan: lent.loan.loan)
    }
}
