import Synchronization

/// Caller-owned memory for nonblocking operations: a fixed-size buffer of message elements that
/// can be lent to pending sends and receives safely.
///
/// While a receive into the buffer is pending, any access to its elements traps; while sends
/// from it are pending, writes trap and reads are fine. Pending requests keep the buffer alive,
/// so its memory can be neither freed, moved nor changed under an operation (the borrow rules
/// rsmpi gets from Rust's checker, enforced at run time).
public final class MessageBuffer<Element: MessageElement>: @unchecked Sendable {
    @usableFromInline let storage: UnsafeMutableBufferPointer<Element>
    /// The memory and its lend state. A pending operation holds this object, not the buffer:
    /// it keeps the memory alive and is given back without a generic or existential call.
    @usableFromInline let lock: BufferLock

    /// A buffer of `count` copies of `value`.
    public init(repeating value: Element, count: Int) {
        lock = BufferLock(byteCount: count * MemoryLayout<Element>.stride, alignment: MemoryLayout<Element>.alignment)
        storage = lock.base.bindMemory(to: Element.self, capacity: count).buffer(count)
        storage.initialize(repeating: value)
    }

    /// A buffer holding the elements of `array`.
    public init(_ array: [Element]) {
        lock = BufferLock(byteCount: array.count * MemoryLayout<Element>.stride, alignment: MemoryLayout<Element>.alignment)
        storage = lock.base.bindMemory(to: Element.self, capacity: array.count).buffer(array.count)
        _ = storage.initialize(fromContentsOf: array)
    }

    /// Number of elements.
    public var count: Int { storage.count }

    /// The element at `index`. Reading traps while a receive into the buffer is pending;
    /// writing traps while any operation is pending.
    public subscript(index: Int) -> Element {
        get {
            precondition(lock.lendState.load(ordering: .acquiring) >= 0, "MessageBuffer read while a receive into it is pending")
            return storage[index]
        }
        set {
            precondition(lock.lendState.load(ordering: .acquiring) == 0, "MessageBuffer written while an operation on it is pending")
            storage[index] = newValue
        }
    }

    /// The elements as a new array.
    public var array: [Element] {
        precondition(lock.lendState.load(ordering: .acquiring) >= 0, "MessageBuffer read while a receive into it is pending")
        return Array(storage)
    }

    /// Calls `body` with the elements for reading.
    public func withUnsafeBufferPointer<R, E>(_ body: (UnsafeBufferPointer<Element>) throws(E) -> R) throws(E) -> R {
        precondition(lock.lendState.load(ordering: .acquiring) >= 0, "MessageBuffer read while a receive into it is pending")
        return try body(UnsafeBufferPointer(storage))
    }

    /// Calls `body` with the elements for reading and writing.
    public func withUnsafeMutableBufferPointer<R, E>(_ body: (UnsafeMutableBufferPointer<Element>) throws(E) -> R) throws(E) -> R {
        precondition(lock.lendState.load(ordering: .acquiring) == 0, "MessageBuffer written while an operation on it is pending")
        return try body(storage)
    }

    /// Whether an operation on the buffer is pending.
    public var isLent: Bool { lock.lendState.load(ordering: .acquiring) != 0 }

    /// The elements in `range`, as a buffer an operation can take (locking this whole buffer
    /// while the operation is pending).
    public subscript(range: Range<Int>) -> MessageBufferSlice<Element> {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "MessageBuffer range \(range) out of bounds 0..<\(count)")
        return MessageBufferSlice(buffer: self, range: range)
    }

    @inlinable
    func lendForSend() throws(MPIError) { try lock.lendForSend() }

    @inlinable
    func lendForReceive() throws(MPIError) { try lock.lendForReceive() }

    @inlinable
    func giveBack() { lock.giveBack() }
}

extension UnsafeMutablePointer {
    @usableFromInline
    func buffer(_ count: Int) -> UnsafeMutableBufferPointer<Pointee> { UnsafeMutableBufferPointer(start: self, count: count) }
}

/// A ``MessageBuffer``'s memory and lend state: 0 free, n > 0 n sends pending, -1 a receive
/// pending. Not generic, so a pending operation gives it back with a direct call.
@usableFromInline
final class BufferLock: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let lendState = Atomic<Int>(0)

    init(byteCount: Int, alignment: Int) {
        base = .allocate(byteCount: max(byteCount, 1), alignment: alignment)
    }

    // Elements are bitwise copyable: nothing to deinitialize.
    deinit { base.deallocate() }

    @usableFromInline
    func lend(receiving: Bool) throws(MPIError) {
        if receiving { try lendForReceive() } else { try lendForSend() }
    }

    @usableFromInline
    func lendForSend() throws(MPIError) {
        var state = lendState.load(ordering: .relaxed)
        while true {
            guard state >= 0 else { throw MPIError(.buffer, "cannot send from a MessageBuffer while a receive into it is pending") }
            let (exchanged, original) = lendState.compareExchange(expected: state, desired: state + 1, ordering: .acquiringAndReleasing)
            if exchanged { return }
            state = original
        }
    }

    @usableFromInline
    func lendForReceive() throws(MPIError) {
        guard lendState.compareExchange(expected: 0, desired: -1, ordering: .acquiringAndReleasing).exchanged else {
            throw MPIError(.buffer, "cannot receive into a MessageBuffer while another operation on it is pending")
        }
    }

    @usableFromInline
    func giveBack() {
        if lendState.load(ordering: .relaxed) < 0 {
            lendState.store(0, ordering: .releasing)
        } else {
            lendState.wrappingSubtract(1, ordering: .releasing)
        }
    }
}

/// What a pending request keeps alive and must hand back when it completes.
@usableFromInline
enum Loan {
    case none
    /// Memory the operation uses (a copy, a collective's buffers and resources), kept alive.
    case retained(AnyObject)
    /// A message buffer lent to the operation (for a receive when `receiving`).
    case buffer(BufferLock, receiving: Bool)
    /// A persistent collective's send and receive memory, lent again at each start.
    case collective(CollectiveLoan)

    /// Lends the buffer again (a persistent request starting anew).
    @inlinable
    func renew() throws(MPIError) {
        switch self {
        case .buffer(let buffer, let receiving): try buffer.lend(receiving: receiving)
        case .collective(let loan): try loan.renew()
        case .none, .retained: break
        }
    }

    @inlinable
    func end() {
        switch self {
        case .buffer(let buffer, _): buffer.giveBack()
        case .collective(let loan): loan.end()
        case .none, .retained: break
        }
    }
}

/// A ``Loan`` as a pending request holds it: trivially copyable, so requests and request lists
/// move, store and drop it without reference counting. It owns one strong reference to its
/// object from `init` until ``release()``, which whoever holds it last calls exactly once.
@usableFromInline
struct PendingLoan {
    @usableFromInline enum Kind: UInt8 { case none, retained, sendBuffer, receiveBuffer, collective }

    @usableFromInline var object: Unmanaged<AnyObject>?
    @usableFromInline var kind: Kind

    @inlinable init(object: Unmanaged<AnyObject>?, kind: Kind) {
        self.object = object
        self.kind = kind
    }

    @inlinable static var none: PendingLoan { PendingLoan(object: nil, kind: .none) }

    /// Takes a strong reference to what `loan` holds.
    @inlinable init(_ loan: Loan) {
        switch loan {
        case .none: self.init(object: nil, kind: .none)
        case .retained(let owner): self.init(object: .passRetained(owner), kind: .retained)
        case .buffer(let lock, let receiving):
            self.init(object: .passRetained(lock), kind: receiving ? .receiveBuffer : .sendBuffer)
        case .collective(let loan): self.init(object: .passRetained(loan), kind: .collective)
        }
    }

    /// Lends the buffer again (a persistent request starting anew).
    @inlinable
    func renew() throws(MPIError) {
        switch kind {
        case .sendBuffer, .receiveBuffer:
            let receiving = kind == .receiveBuffer
            try object.unsafelyUnwrapped._withUnsafeGuaranteedRef { owner in
                Result { () throws(MPIError) in try unsafeDowncast(owner, to: BufferLock.self).lend(receiving: receiving) }
            }.get()
        case .collective:
            try object.unsafelyUnwrapped._withUnsafeGuaranteedRef { owner in
                Result { () throws(MPIError) in try unsafeDowncast(owner, to: CollectiveLoan.self).renew() }
            }.get()
        case .none, .retained: break
        }
    }

    /// Gives a lent buffer back (the operation completed); what is held stays held.
    @inlinable
    func end() {
        switch kind {
        case .sendBuffer, .receiveBuffer:
            object.unsafelyUnwrapped._withUnsafeGuaranteedRef { unsafeDowncast($0, to: BufferLock.self).giveBack() }
        case .collective:
            object.unsafelyUnwrapped._withUnsafeGuaranteedRef { unsafeDowncast($0, to: CollectiveLoan.self).end() }
        case .none, .retained: break
        }
    }

    /// Drops the strong reference; the loan is spent.
    @inlinable
    func release() { object?.release() }
}

extension MessageBuffer: LendableReceiveBuffer {
    /// Sends the buffer's elements; throws `MPIError(.buffer)` while a receive into it is pending.
    @inlinable
    public func withSendElements<R>(_ body: (UnsafeBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try lendForSend()
        defer { giveBack() }
        return try body(UnsafeBufferPointer(storage))
    }

    @inlinable
    public func lendForSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan) {
        try lendForSend()
        return (UnsafeBufferPointer(storage), BufferLoan(.buffer(lock, receiving: false)))
    }

    /// Receives into the buffer; throws `MPIError(.buffer)` while another operation on it is
    /// pending.
    @inlinable
    public func withReceiveElements<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try lendForReceive()
        defer { giveBack() }
        return try body(storage)
    }

    @inlinable
    public func lendForReceiving() throws(MPIError) -> (elements: UnsafeMutableBufferPointer<Element>, loan: BufferLoan) {
        try lendForReceive()
        return (storage, BufferLoan(.buffer(lock, receiving: true)))
    }

    /// Not locked until the persistent request starts.
    @inlinable
    public func lendForPersistentSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan) {
        (UnsafeBufferPointer(storage), BufferLoan(.buffer(lock, receiving: false)))
    }

    /// Not locked until the persistent request starts.
    @inlinable
    public func lendForPersistentReceiving() throws(MPIError) -> (elements: UnsafeMutableBufferPointer<Element>, loan: BufferLoan) {
        (storage, BufferLoan(.buffer(lock, receiving: true)))
    }
}

/// A range of a ``MessageBuffer``'s elements (`buffer[2..<10]`), which every operation takes
/// like the buffer itself; a pending operation on it locks the whole buffer.
public struct MessageBufferSlice<Element: MessageElement>: LendableReceiveBuffer, @unchecked Sendable {
    /// The buffer the elements belong to.
    public let buffer: MessageBuffer<Element>
    /// Which of its elements.
    public let range: Range<Int>

    @inlinable
    init(buffer: MessageBuffer<Element>, range: Range<Int>) {
        self.buffer = buffer
        self.range = range
    }

    @inlinable
    var elements: UnsafeMutableBufferPointer<Element> {
        UnsafeMutableBufferPointer(rebasing: buffer.storage[range])
    }

    @inlinable
    public func withSendElements<R>(_ body: (UnsafeBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try buffer.lendForSend()
        defer { buffer.giveBack() }
        return try body(UnsafeBufferPointer(elements))
    }

    @inlinable
    public func lendForSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan) {
        try buffer.lendForSend()
        return (UnsafeBufferPointer(elements), BufferLoan(.buffer(buffer.lock, receiving: false)))
    }

    @inlinable
    public func withReceiveElements<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try buffer.lendForReceive()
        defer { buffer.giveBack() }
        return try body(elements)
    }

    @inlinable
    public func lendForReceiving() throws(MPIError) -> (elements: UnsafeMutableBufferPointer<Element>, loan: BufferLoan) {
        try buffer.lendForReceive()
        return (elements, BufferLoan(.buffer(buffer.lock, receiving: true)))
    }

    /// Not locked until the persistent request starts.
    @inlinable
    public func lendForPersistentSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan) {
        (UnsafeBufferPointer(elements), BufferLoan(.buffer(buffer.lock, receiving: false)))
    }

    /// Not locked until the persistent request starts.
    @inlinable
    public func lendForPersistentReceiving() throws(MPIError) -> (elements: UnsafeMutableBufferPointer<Element>, loan: BufferLoan) {
        (elements, BufferLoan(.buffer(buffer.lock, receiving: true)))
    }
}
