/// A growable array in manually managed memory: elements are mutated in place through
/// `unsafeAddress` accessors with no copy-on-write uniqueness check, which matters on the
/// message path where the engine touches its queues several times per message. It lives inside
/// the engine, which has a fixed address and a single owner, and is never copied.
struct Slab<Element> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        base = .allocate(capacity: self.capacity)
    }

    var isEmpty: Bool { @inline(__always) get { count == 0 } }

    subscript(index: Int) -> Element {
        @inline(__always) unsafeAddress { UnsafePointer(base + index) }
        @inline(__always) unsafeMutableAddress { base + index }
    }

    @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { grow() }
        (base + count).initialize(to: element)
        count += 1
    }

    /// Removes and returns the element at `index`, keeping the order of the rest.
    @inline(__always)
    mutating func remove(at index: Int) -> Element {
        let element = (base + index).move()
        if index + 1 < count { (base + index).moveInitialize(from: base + index + 1, count: count - index - 1) }
        count -= 1
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

    /// Removes every element, keeping the memory.
    @inline(__always)
    mutating func removeAll() {
        base.deinitialize(count: count)
        count = 0
    }

    /// Frees the memory (the slab must not be used afterwards).
    func deallocate() {
        base.deinitialize(count: count)
        base.deallocate()
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
    }
}
