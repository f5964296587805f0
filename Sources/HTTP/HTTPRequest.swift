/// Header fields in arrival order; names compared case-insensitively (ASCII).
package struct HTTPHeaders: Sendable, Sequence {
    package private(set) var fields: [(name: String, value: String)] = []

    package init() {}
    package init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }

    package mutating func add(name: String, value: String) { fields.append((name, value)) }

    package mutating func reserveCapacity(_ count: Int) { fields.reserveCapacity(count) }

    package subscript(name: String) -> String? {
        fields.first { asciiCaseInsensitiveEquals($0.name, name) }?.value
    }

    package func values(_ name: String) -> [String] {
        fields.filter { asciiCaseInsensitiveEquals($0.name, name) }.map(\.value)
    }

    package func count(of name: String) -> Int {
        fields.reduce(0) { $0 + (asciiCaseInsensitiveEquals($1.name, name) ? 1 : 0) }
    }

    package var count: Int { fields.count }

    package func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}

package func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    var a = a, b = b  // withUTF8 is mutating (it may make a bridged string contiguous)
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
        guard let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return target[...] }
        return target[..<mark]
    }

    /// The target after `?`, if any.
    package var query: Substring? {
        guard let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        return target[target.utf8.index(after: mark)...]
    }
}
