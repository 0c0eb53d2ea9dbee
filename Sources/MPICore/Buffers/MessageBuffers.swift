// The buffer protocols every operation takes: one generic entry point per operation accepts
// arrays, slices, contiguous arrays, buffer pointers, `MessageBuffer`s (and their slices) and
// single values alike.
//
// | protocol | what an operation does with it | adopted by |
// |---|---|---|
// | ``SendBuffer`` | reads its elements (blocking), or lends them to a pending operation | all of the above, ``InPlace`` |
// | ``ReceiveBuffer`` | writes its elements during a blocking call (`inout`) | `Array`, `ArraySlice`, `ContiguousArray`, `UnsafeMutableBufferPointer`, `MessageBuffer`, `MessageBufferSlice`, a single value |
// | ``LendableReceiveBuffer`` | lends its memory to a pending receive or collective | `MessageBuffer`, `MessageBufferSlice`, `UnsafeMutableBufferPointer` |
//
// Values (arrays, single values) cannot lend their memory to an operation that outlives the
// call, so a nonblocking send from one sends a copy the request owns, and a nonblocking receive
// either returns a new array (`immediateReceiveArray`) or goes into a reference to memory that
// is lent: a `MessageBuffer` (checked) or an `UnsafeMutableBufferPointer` (the caller keeps it
// alive and untouched until the request completes).

/// Memory a message can be sent from: contiguous elements of one ``MessageElement`` type.
///
/// Conform a type of your own (a tensor, an image) to send it without copying: give the
/// elements to `body` in ``withSendElements(_:)``, and lend them to a pending operation in
/// ``lendForSending()``, with a ``BufferLoan`` that keeps the memory alive until the operation
/// completes.
public protocol SendBuffer<Element> {
    /// The type of the elements.
    associatedtype Element: MessageElement
    /// Calls `body` with the elements to send; the memory need be valid only during `body`.
    func withSendElements<R>(_ body: (UnsafeBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R
    /// Lends the elements to a nonblocking operation: the memory returned stays valid and
    /// unchanged until the loan ends (when the operation completes).
    func lendForSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan)
    /// The elements for a persistent send, with a loan that is not yet in force: each start
    /// lends them again, each completion gives them back.
    func lendForPersistentSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan)
}

extension SendBuffer {
    @inlinable
    public func lendForPersistentSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan) {
        let lent = try lendForSending()
        lent.loan.loan.end()
        return lent
    }
}

/// Memory a blocking operation can write a message into.
public protocol ReceiveBuffer<Element>: SendBuffer {
    /// Calls `body` with the memory to write; it need be valid only during `body`.
    mutating func withReceiveElements<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R
}

/// Memory with reference semantics that a nonblocking receive or collective can write into
/// after the call that starts it has returned: a ``MessageBuffer`` (lent and locked until the
/// operation completes) or an `UnsafeMutableBufferPointer` (the caller keeps it alive and
/// untouched until then).
public protocol LendableReceiveBuffer<Element>: ReceiveBuffer {
    /// Lends the memory to a pending operation that writes it, until the loan ends.
    func lendForReceiving() throws(MPIError) -> (elements: UnsafeMutableBufferPointer<Element>, loan: BufferLoan)
    /// The memory for a persistent receive, with a loan that is not yet in force: each start
    /// lends it again, each completion gives it back.
    func lendForPersistentReceiving() throws(MPIError) -> (elements: UnsafeMutableBufferPointer<Element>, loan: BufferLoan)
}

extension LendableReceiveBuffer {
    @inlinable
    public func lendForPersistentReceiving() throws(MPIError) -> (elements: UnsafeMutableBufferPointer<Element>, loan: BufferLoan) {
        let lent = try lendForReceiving()
        lent.loan.loan.end()
        return lent
    }
}

/// What a pending operation holds on to until it completes: an owner kept alive, or a
/// ``MessageBuffer`` lent and locked.
public struct BufferLoan: @unchecked Sendable {
    @usableFromInline var loan: Loan

    @inlinable init(_ loan: Loan) { self.loan = loan }

    /// Nothing to hold: the caller guarantees the memory outlives the operation.
    @inlinable public static var none: BufferLoan { BufferLoan(.none) }

    /// Keeps `owner` alive until the operation completes.
    @inlinable public static func retaining(_ owner: AnyObject) -> BufferLoan { BufferLoan(.retained(owner)) }
}

/// Lends `send` for sending and `receive` for receiving, both or neither: an operation that
/// uses both buffers posts nothing before both are its (one `MessageBuffer` cannot be both).
@inlinable
package func lendBoth<S: SendBuffer, R: LendableReceiveBuffer>(_ send: S, _ receive: R) throws(MPIError)
    -> (sent: (elements: UnsafeBufferPointer<S.Element>, loan: BufferLoan), received: (elements: UnsafeMutableBufferPointer<R.Element>, loan: BufferLoan))
{
    let sent = try send.lendForSending()
    do throws(MPIError) {
        return (sent, try receive.lendForReceiving())
    } catch {
        sent.loan.loan.end()
        throw error
    }
}

// MARK: The in-place marker

/// `MPI_IN_PLACE`: the input of a collective is already where its output goes. Pass
/// `.inPlace()` as the send buffer:
///
/// ```swift
/// try world.allReduce(.inPlace(), into: &gradients, op: .sum)
/// ```
///
/// Where MPI allows it: reductions, scans, reduce-scatter, all-gather(v) and all-to-all on every
/// rank; reduce, gather(v) and scatter(v) at the root only (other ranks pass their data).
public struct InPlace<Element: MessageElement>: SendBuffer, Sendable {
    @inlinable public init() {}

    @inlinable
    public func withSendElements<R>(_ body: (UnsafeBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try body(UnsafeBufferPointer(start: nil, count: 0))
    }

    @inlinable
    public func lendForSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan) {
        (UnsafeBufferPointer(start: nil, count: 0), .none)
    }
}

extension SendBuffer {
    /// The in-place marker (`MPI_IN_PLACE`): the input is already in the receive buffer.
    @inlinable
    public static func inPlace<T>() -> InPlace<T> where Self == InPlace<T> { InPlace() }

    /// Whether this is the in-place marker; folds to a constant where the operation specializes.
    @inlinable
    var isInPlace: Bool { Self.self == InPlace<Element>.self }
}

// MARK: Arrays and slices

/// A copy of `elements` the request owns, for values that cannot lend their own storage.
@inlinable
func ownedCopy<T: MessageElement>(_ elements: UnsafeBufferPointer<T>) -> (elements: UnsafeBufferPointer<T>, loan: BufferLoan) {
    guard !elements.isEmpty else { return (UnsafeBufferPointer(start: nil, count: 0), .none) }
    let copy = OwnedElements<T>(copying: elements)
    return (UnsafeBufferPointer(copy.storage), BufferLoan(.retained(copy)))
}

/// Memory a request owns outright (a copy of a value's elements).
@usableFromInline
final class OwnedElements<T: MessageElement> {
    @usableFromInline let storage: UnsafeMutableBufferPointer<T>

    @inlinable
    init(copying elements: UnsafeBufferPointer<T>) {
        storage = .allocate(capacity: elements.count)
        _ = storage.initialize(fromContentsOf: elements)
    }

    /// `count` zeroed elements, for a result the operation writes.
    @inlinable
    init(zeroedCount count: Int) {
        storage = .allocate(capacity: count)
        UnsafeMutableRawBufferPointer(storage).initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { storage.deallocate() }

    /// The first `count` elements as a new array.
    @inlinable
    func array(prefix count: Int) -> [T] {
        Array(UnsafeBufferPointer(rebasing: storage[..<Swift.min(count, storage.count)]))
    }
}

extension Array: SendBuffer, ReceiveBuffer where Element: MessageElement {
    @inlinable
    public func withSendElements<R>(_ body: (UnsafeBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try withUnsafeBufferPointer { (buffer) throws(MPIError) in try body(buffer) }
    }

    /// Sends a copy: an array's storage cannot be lent beyond the call.
    @inlinable
    public func lendForSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan) {
        withUnsafeBufferPointer { ownedCopy($0) }
    }

    @inlinable
    public mutating func withReceiveElements<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in try body(buffer) }
    }
}

extension ContiguousArray: SendBuffer, ReceiveBuffer where Element: MessageElement {
    @inlinable
    public func withSendElements<R>(_ body: (UnsafeBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try withUnsafeBufferPointer { (buffer) throws(MPIError) in try body(buffer) }
    }

    /// Sends a copy: the storage cannot be lent beyond the call.
    @inlinable
    public func lendForSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan) {
        withUnsafeBufferPointer { ownedCopy($0) }
    }

    @inlinable
    public mutating func withReceiveElements<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in try body(buffer) }
    }
}

extension ArraySlice: SendBuffer, ReceiveBuffer where Element: MessageElement {
    @inlinable
    public func withSendElements<R>(_ body: (UnsafeBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try withUnsafeBufferPointer { (buffer) throws(MPIError) in try body(buffer) }
    }

    /// Sends a copy: the storage cannot be lent beyond the call.
    @inlinable
    public func lendForSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan) {
        withUnsafeBufferPointer { ownedCopy($0) }
    }

    @inlinable
    public mutating func withReceiveElements<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try withUnsafeMutableBufferPointer { (buffer) throws(MPIError) in try body(buffer) }
    }
}

// MARK: Buffer pointers (the caller manages the memory's lifetime)

extension UnsafeBufferPointer: SendBuffer where Element: MessageElement {
    @inlinable
    public func withSendElements<R>(_ body: (UnsafeBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try body(self)
    }

    /// Lends the memory itself: the caller keeps it alive and unchanged until the request
    /// completes.
    @inlinable
    public func lendForSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan) {
        (self, .none)
    }
}

extension UnsafeMutableBufferPointer: SendBuffer, ReceiveBuffer, LendableReceiveBuffer where Element: MessageElement {
    @inlinable
    public func withSendElements<R>(_ body: (UnsafeBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try body(UnsafeBufferPointer(self))
    }

    /// Lends the memory itself: the caller keeps it alive and unchanged until the request
    /// completes.
    @inlinable
    public func lendForSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Element>, loan: BufferLoan) {
        (UnsafeBufferPointer(self), .none)
    }

    @inlinable
    public func withReceiveElements<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        try body(self)
    }

    /// Lends the memory itself: the caller keeps it alive and untouched until the request
    /// completes.
    @inlinable
    public func lendForReceiving() throws(MPIError) -> (elements: UnsafeMutableBufferPointer<Element>, loan: BufferLoan) {
        (self, .none)
    }
}

// MARK: A single value

extension MessageElement {
    @inlinable
    public func withSendElements<R>(_ body: (UnsafeBufferPointer<Self>) throws(MPIError) -> R) throws(MPIError) -> R {
        try withUnsafePointer(to: self) { (pointer) throws(MPIError) in try body(UnsafeBufferPointer(start: pointer, count: 1)) }
    }

    /// Sends a copy the request owns.
    @inlinable
    public func lendForSending() throws(MPIError) -> (elements: UnsafeBufferPointer<Self>, loan: BufferLoan) {
        withUnsafePointer(to: self) { ownedCopy(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    @inlinable
    public mutating func withReceiveElements<R>(_ body: (UnsafeMutableBufferPointer<Self>) throws(MPIError) -> R) throws(MPIError) -> R {
        try withUnsafeMutablePointer(to: &self) { (pointer) throws(MPIError) in
            try body(UnsafeMutableBufferPointer(start: pointer, count: 1))
        }
    }
}

extension OwnedElements: LendableReceiveBuffer {
    @usableFromInline typealias Element = T

    @inlinable
    func withSendElements<R>(_ body: (UnsafeBufferPointer<T>) throws(MPIError) -> R) throws(MPIError) -> R {
        try body(UnsafeBufferPointer(storage))
    }

    /// Lent by keeping the owner alive: a pending operation's memory cannot go away under it.
    @inlinable
    func lendForSending() throws(MPIError) -> (elements: UnsafeBufferPointer<T>, loan: BufferLoan) {
        (UnsafeBufferPointer(storage), .retaining(self))
    }

    @inlinable
    func withReceiveElements<R>(_ body: (UnsafeMutableBufferPointer<T>) throws(MPIError) -> R) throws(MPIError) -> R {
        try body(storage)
    }

    @inlinable
    func lendForReceiving() throws(MPIError) -> (elements: UnsafeMutableBufferPointer<T>, loan: BufferLoan) {
        (storage, .retaining(self))
    }
}
