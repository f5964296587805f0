/// Header fields in arrival order; names compared case-insensitively (ASCII). Every
/// field lives in one byte buffer, so a header block costs one allocation however many
/// fields it has, lookups compare bytes, serialising copies bytes, and a `String` is
/// made only for a field someone reads. From `start` on, `storage` holds each field as
/// an 8-byte prefix (name and value lengths, `UInt32` little-endian) then the name and
/// value bytes; what precedes `start` belongs to whoever filled the buffer (the parser
/// keeps the request line there).
package struct HTTPHeaders: Sendable, Sequence {
    private(set) var storage: [UInt8] = []
    private(set) var start = 0
    package private(set) var count = 0

    static let prefixBytes = 8

    package init() {}

    package init(_ fields: [(String, String)]) {
        for (name, value) in fields { add(name: name, value: value) }
    }

    /// A block the parser filled (fields from `start` on).
    init(storage: [UInt8], start: Int, count: Int) {
        self.storage = storage
        self.start = start
        self.count = count
    }

    package mutating func add(name: String, value: String) {
        var name = name
        var value = value  // withUTF8 is mutating (it may make a bridged string contiguous)
        name.withUTF8 { name in value.withUTF8 { value in append(name: name, value: value) } }
    }

    /// The field's prefix and bytes are put together in scratch memory and appended in one piece.
    private mutating func append(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        let size = Self.prefixBytes + name.count + value.count
        if storage.isEmpty { storage.reserveCapacity(Swift.max(64, size)) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: size) { scratch in
            var field = ByteWriter(scratch)
            field.writeUInt32(UInt32(truncatingIfNeeded: name.count))
            field.writeUInt32(UInt32(truncatingIfNeeded: value.count))
            field.write(name)
            field.write(value)
            storage.append(contentsOf: UnsafeBufferPointer(scratch))
        }
        count += 1
    }

    /// Appends an empty 8-byte field prefix to `storage` (its lengths are set later).
    static func appendPrefix(to storage: inout [UInt8]) {
        withUnsafeBytes(of: UInt64(0)) { storage.append(contentsOf: $0.assumingMemoryBound(to: UInt8.self)) }
    }

    package mutating func reserveCapacity(_ count: Int) { storage.reserveCapacity(storage.count + 48 * count) }

    package subscript(name: String) -> String? {
        var found: String?
        forEachField(named: name) { valueRange in
            found = string(valueRange)
            return false
        }
        return found
    }

    package func values(_ name: String) -> [String] {
        var values: [String] = []
        forEachField(named: name) { valueRange in
            values.append(string(valueRange))
            return true
        }
        return values
    }

    package func count(of name: String) -> Int {
        var found = 0
        forEachField(named: name) { _ in
            found += 1
            return true
        }
        return found
    }

    /// Whether the first field called `name` is there and its value is exactly `value`
    /// (no `String` is made for it).
    package func firstValue(of name: String, is value: String) -> Bool {
        var equal = false
        var value = value  // withUTF8 is mutating (it may make a bridged string contiguous)
        value.withUTF8 { expected in
            forEachField(named: name) { valueRange in
                // A byte loop: the generic `elementsEqual` costs about 30 instructions a byte.
                equal =
                    valueRange.count == expected.count
                    && storage.withUnsafeBufferPointer { bytes in
                        var index = 0
                        while index < expected.count, bytes[valueRange.lowerBound + index] == expected[index] {
                            index += 1
                        }
                        return index == expected.count
                    }
                return false
            }
        }
        return equal
    }

    /// Calls `body` with the value range of each field called `name` (ASCII
    /// case-insensitively), in order, until it returns false. Names are compared as
    /// bytes, with the length first.
    private func forEachField(named name: String, _ body: (Range<Int>) -> Bool) {
        var name = name
        name.withUTF8 { key in
            storage.withUnsafeBufferPointer { bytes in
                var offset = start
                while offset < bytes.count {
                    let (nameRange, valueRange) = ranges(at: offset)
                    offset = valueRange.upperBound
                    guard nameRange.count == key.count else { continue }
                    var equal = true
                    for index in 0..<key.count
                    where asciiLowercased(bytes[nameRange.lowerBound + index]) != asciiLowercased(key[index]) {
                        equal = false
                        break
                    }
                    if equal, !body(valueRange) { return }
                }
            }
        }
    }

    package var fields: [(name: String, value: String)] { Array(self) }

    package func makeIterator() -> Iterator { Iterator(headers: self, offset: start) }

    package struct Iterator: IteratorProtocol {
        let headers: HTTPHeaders
        var offset: Int

        package mutating func next() -> (name: String, value: String)? {
            guard offset < headers.storage.count else { return nil }
            let (name, value) = headers.ranges(at: offset)
            offset = value.upperBound
            return (headers.string(name), headers.string(value))
        }
    }

    /// Calls `body` with each field's name and value ranges in `storage`, in order,
    /// until it returns false.
    @inline(__always)
    func forEachField(_ body: (Range<Int>, Range<Int>) -> Bool) {
        var offset = start
        while offset < storage.count {
            let (name, value) = ranges(at: offset)
            guard body(name, value) else { return }
            offset = value.upperBound
        }
    }

    @inline(__always)
    func ranges(at prefix: Int) -> (name: Range<Int>, value: Range<Int>) {
        let (nameLength, valueLength) = storage.withUnsafeBytes {
            (
                Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: prefix, as: UInt32.self))),
                Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: prefix + 4, as: UInt32.self)))
            )
        }
        let nameStart = prefix + Self.prefixBytes
        return (nameStart..<nameStart + nameLength, nameStart + nameLength..<nameStart + nameLength + valueLength)
    }

    func string(_ range: Range<Int>) -> String {
        storage.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    /// Whether the bytes at `range` are `name`, ASCII case-insensitively.
    @inline(__always)
    func nameIs(_ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        return storage.withUnsafeBufferPointer { bytes in
            let text = name.utf8Start
            for index in 0..<range.count
            where asciiLowercased(bytes[range.lowerBound + index]) != asciiLowercased(text[index]) {
                return false
            }
            return true
        }
    }

    /// The bytes `serialize` writes.
    var serializedByteCount: Int { storage.count - start - 4 * count }

    /// Writes `\r\nName: value` for each field.
    func serialize(to out: inout ByteWriter) {
        guard count > 0 else { return }
        storage.withUnsafeBufferPointer { bytes in
            forEachField { name, value in
                out.write("\r\n")
                out.write(UnsafeBufferPointer(rebasing: bytes[name]))
                out.write(": ")
                out.write(UnsafeBufferPointer(rebasing: bytes[value]))
                return true
            }
        }
    }

    /// Writes a field's lengths into its 8-byte prefix at `prefix` of `storage`.
    static func setLengths(_ storage: inout [UInt8], at prefix: Int, name: Int, value: Int) {
        storage.withUnsafeMutableBytes {
            $0.storeBytes(of: UInt32(truncatingIfNeeded: name).littleEndian, toByteOffset: prefix, as: UInt32.self)
            $0.storeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian, toByteOffset: prefix + 4, as: UInt32.self)
        }
    }
}

package func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    var a = a
    var b = b  // withUTF8 is mutating (it may make a bridged string contiguous)
    return a.withUTF8 { a in
        b.withUTF8 { b in
            for index in 0..<a.count where asciiLowercased(a[index]) != asciiLowercased(b[index]) { return false }
            return true
        }
    }
}

@inline(__always) package func asciiLowercased(_ byte: UInt8) -> UInt8 {
    byte &- 0x41 < 26 ? byte | 0x20 : byte
}

/// One parsed request: head and whole body (bodies are bounded by `HTTPLimits`).
package struct HTTPRequest: Sendable {
    package var method: String
    /// The raw request-target, e.g. `/v1/kv/ns/set/key?bins=a`.
    package var target: String
    package var versionMajor: Int
    package var versionMinor: Int
    package var headers: HTTPHeaders
    package var body: [UInt8]
    /// Whether the connection may stay open after this request (version and Connection header).
    package var keepAlive: Bool
    /// Per-process unique id, used in logs and error bodies.
    package var id: String

    package init(
        method: String, target: String, versionMajor: Int = 1, versionMinor: Int = 1,
        headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], keepAlive: Bool = true, id: String = ""
    ) {
        self.method = method
        self.target = target
        self.versionMajor = versionMajor
        self.versionMinor = versionMinor
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
        self.id = id
    }

    /// The target before any `?`.
    package var path: Substring {
        guard let mark = queryMark else { return target[...] }
        return target[..<mark]
    }

    /// Whether the target has a query string (a `?`), found as a byte.
    package var hasQuery: Bool {
        let utf8 = target.utf8
        return utf8.withContiguousStorageIfAvailable { $0.contains(UInt8(ascii: "?")) }
            ?? utf8.contains(UInt8(ascii: "?"))
    }

    /// The target after `?`, if any.
    package var query: Substring? {
        guard let mark = queryMark else { return nil }
        return target[target.utf8.index(after: mark)...]
    }

    private var queryMark: String.Index? {
        let utf8 = target.utf8
        let offset = utf8.withContiguousStorageIfAvailable { $0.firstIndex(of: UInt8(ascii: "?")) }
        guard let offset else { return utf8.firstIndex(of: UInt8(ascii: "?")) }
        return offset.map { utf8.index(utf8.startIndex, offsetBy: $0) }
    }
}
