/// A growable array in manually managed memory: elements are mutated in place through
/// `unsafeAddress` accessors with no copy-on-write uniqueness check, which matters on the
/// message path where the engine touches its queues several times per message. It lives inside
/// the engine, which has a fixed address and a single owner, and is never copied.
///
/// Queues here are mostly first-in first-out, so removing the first element is O(1): the live
/// elements start `start` places into the allocation, and are moved back to its beginning only
/// when the allocation is full.
struct Slab<Element> {
    private var storage: UnsafeMutablePointer<Element>
    private var start = 0
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        storage = .allocate(capacity: self.capacity)
    }

    /// The first element (valid until the next append or removal).
    var base: UnsafeMutablePointer<Element> {
        @inline(__always) get { storage + start }
    }

    var isEmpty: Bool { @inline(__always) get { count == 0 } }

    subscript(index: Int) -> Element {
        @inline(__always) unsafeAddress { UnsafePointer(base + index) }
        @inline(__always) unsafeMutableAddress { base + index }
    }

    @inline(__always)
    mutating func append(_ element: Element) {
        if start + count == capacity { makeRoom() }
        (base + count).initialize(to: element)
        count += 1
    }

    /// Removes and returns the element at `index`, keeping the order of the rest.
    @inline(__always)
    mutating func remove(at index: Int) -> Element {
        let element = (base + index).move()
        if index == 0 {
            start += 1
        } else if index + 1 < count {
            (base + index).moveInitialize(from: base + index + 1, count: count - index - 1)
        }
        count -= 1
        if count == 0 { start = 0 }
        return element
    }

    @inline(__always)
    func firstIndex(where predicate: (Element) -> Bool) -> Int? {
        var index = 0
        while index < count {
            if predicate(base[index]) { return index }
            index &+= 1
        }
        return nil
    }

    /// Moves the elements back to the start of the allocation, or to a larger one when more
    /// than half of it is in use.
    private mutating func makeRoom() {
        if count <= capacity / 2 {
            storage.moveInitialize(from: base, count: count)
        } else {
            let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
            bigger.moveInitialize(from: base, count: count)
            storage.deallocate()
            storage = bigger
            capacity *= 2
        }
        start = 0
    }

    /// Removes every element, keeping the memory.
    @inline(__always)
    mutating func removeAll() {
        base.deinitialize(count: count)
        count = 0
        start = 0
    }

    /// Frees the memory (the slab must not be used afterwards).
    func deallocate() {
        base.deinitialize(count: count)
        storage.deallocate()
    }
}
