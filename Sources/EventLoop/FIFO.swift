/// A first-in first-out queue over one array and a head index: `append` and
/// `popFirst` are O(1) amortised, and the consumed prefix is dropped once it is at
/// least half the storage, so memory follows what is queued, not what ever was.
/// `capacity`, when set, is a bound the owner checks with `isFull` before appending
/// (the queue itself never refuses: a full queue is the owner's backpressure signal).
package struct FIFO<Element> {
    private var storage: [Element] = []
    private var head = 0
    package let capacity: Int?

    package init(capacity: Int? = nil) {
        self.capacity = capacity
    }

    package var count: Int { storage.count - head }
    package var isEmpty: Bool { head == storage.count }
    package var isFull: Bool { capacity.map { count >= $0 } ?? false }
    package var first: Element? { isEmpty ? nil : storage[head] }

    package mutating func append(_ element: Element) {
        storage.append(element)
    }

    package mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        compact()
        return element
    }

    /// Removes and returns everything queued, oldest first.
    package mutating func removeAll() -> ArraySlice<Element> {
        let rest = storage[head...]
        storage = []
        head = 0
        return rest
    }

    /// The queued elements, oldest first.
    package var elements: ArraySlice<Element> { storage[head...] }

    private mutating func compact() {
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 256)
            head = 0
        } else if head >= 64, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }
}
