/// A first-in first-out queue over one array and a head index: `append` and
/// `popFirst` are O(1) amortised, and the consumed prefix is dropped once it is at
/// least half the storage, so memory follows what is queued, not what ever was.
/// `capacity`, when set, is a bound the owner checks with `isFull` before appending
/// (the queue itself never refuses: a full queue is the owner's backpressure signal).
/// Public and inlinable so that each module's FIFO of a concrete type is specialised and
/// inlined: the compiler does not specialise package-level inlinable code across modules.
public struct FIFO<Element> {
    @usableFromInline var storage: [Element] = []
    @usableFromInline var head = 0
    public let capacity: Int?

    @inlinable
    public init(capacity: Int? = nil) {
        self.capacity = capacity
    }

    @inlinable
    public var count: Int { storage.count - head }
    @inlinable
    public var isEmpty: Bool { head == storage.count }
    @inlinable
    public var isFull: Bool { capacity.map { count >= $0 } ?? false }
    @inlinable
    public var first: Element? { isEmpty ? nil : storage[head] }

    @inlinable
    public mutating func append(_ element: Element) {
        storage.append(element)
    }

    @inlinable
    public mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        compact()
        return element
    }

    /// Removes and returns everything queued, oldest first.
    @inlinable
    public mutating func removeAll() -> ArraySlice<Element> {
        let rest = storage[head...]
        storage = []
        head = 0
        return rest
    }

    /// The queued elements, oldest first.
    @inlinable
    public var elements: ArraySlice<Element> { storage[head...] }

    @inlinable
    mutating func compact() {
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 256)
            head = 0
        } else if head >= 64, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }
}
