import Synchronization

/// Caller-owned memory for nonblocking operations: a fixed-size buffer of message elements that
/// can be lent to pending sends and receives safely.
///
/// While a receive into the buffer is pending, any access to its elements traps; while sends
/// from it are pending, writes trap and reads are fine. Pending requests keep the buffer alive,
/// so its memory can be neither freed, moved nor changed under an operation (the borrow rules
/// rsmpi gets from Rust's checker, enforced at run time).
public final class MessageBuffer<Element: MessageElement>: LendableBuffer, @unchecked Sendable {
    @usableFromInline let storage: UnsafeMutableBufferPointer<Element>
    /// 0: free; n > 0: n sends pending; -1: a receive pending.
    @usableFromInline let lendState = Atomic<Int>(0)

    /// A buffer of `count` copies of `value`.
    public init(repeating value: Element, count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: value)
    }

    /// A buffer holding the elements of `array`.
    public init(_ array: [Element]) {
        storage = .allocate(capacity: array.count)
        _ = storage.initialize(fromContentsOf: array)
    }

    deinit { storage.deallocate() }

    /// Number of elements.
    public var count: Int { storage.count }

    /// The element at `index`. Reading traps while a receive into the buffer is pending;
    /// writing traps while any operation is pending.
    public subscript(index: Int) -> Element {
        get {
            precondition(lendState.load(ordering: .acquiring) >= 0, "MessageBuffer read while a receive into it is pending")
            return storage[index]
        }
        set {
            precondition(lendState.load(ordering: .acquiring) == 0, "MessageBuffer written while an operation on it is pending")
            storage[index] = newValue
        }
    }

    /// The elements as a new array.
    public var array: [Element] {
        precondition(lendState.load(ordering: .acquiring) >= 0, "MessageBuffer read while a receive into it is pending")
        return Array(storage)
    }

    /// Calls `body` with the elements for reading.
    public func withUnsafeBufferPointer<R, E>(_ body: (UnsafeBufferPointer<Element>) throws(E) -> R) throws(E) -> R {
        precondition(lendState.load(ordering: .acquiring) >= 0, "MessageBuffer read while a receive into it is pending")
        return try body(UnsafeBufferPointer(storage))
    }

    /// Calls `body` with the elements for reading and writing.
    public func withUnsafeMutableBufferPointer<R, E>(_ body: (UnsafeMutableBufferPointer<Element>) throws(E) -> R) throws(E) -> R {
        precondition(lendState.load(ordering: .acquiring) == 0, "MessageBuffer written while an operation on it is pending")
        return try body(storage)
    }

    /// Whether an operation on the buffer is pending.
    public var isLent: Bool { lendState.load(ordering: .acquiring) != 0 }

    @usableFromInline
    package func lend(receiving: Bool) throws(MPIError) {
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
    package func giveBack() {
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
    /// An array kept alive, and unchanged, by holding a reference to its storage.
    case retained(Any)
    /// A message buffer lent to the operation (for a receive when `receiving`).
    case buffer(any LendableBuffer, receiving: Bool)

    /// Lends the buffer again (a persistent request starting anew).
    @inlinable
    func renew() throws(MPIError) {
        if case .buffer(let buffer, let receiving) = self { try buffer.lend(receiving: receiving) }
    }

    @inlinable
    func end() {
        if case .buffer(let buffer, _) = self { buffer.giveBack() }
    }
}

/// A buffer that can be lent to a pending operation and given back when it completes.
@usableFromInline
package protocol LendableBuffer: AnyObject {
    func lend(receiving: Bool) throws(MPIError)
    func giveBack()
}
