internal import RESP

/// A record's address (namespace, set, user key), validated, and its Redis key
/// `sg:{ns/set/key}`. The braces are a Redis Cluster hash tag around the whole address,
/// so records spread over slots; `%`, `{` and `}` in the user key are percent-escaped
/// so the tag always ends where it should.
struct RecordKey: Equatable {
    let namespace: String
    let set: String
    let key: String

    static let maxNameLength = 63
    static let maxKeyBytes = 1024
    static let maxKeyCharacters = 256

    init(namespace: String, set: String, key: String) throws(GatewayError) {
        guard Self.isName(namespace) else {
            throw GatewayError.badRequest("invalid_namespace", "namespace must be 1–63 of A–Z a–z 0–9 _ -")
        }
        guard Self.isName(set) else {
            throw GatewayError.badRequest("invalid_set", "set must be 1–63 of A–Z a–z 0–9 _ -")
        }
        // Printable ASCII (the common key) has as many characters as bytes and no control character.
        let isPrintableASCII = Self.allBytes(of: key) { $0 >= 0x20 && $0 < 0x7F }
        guard !key.isEmpty, key.utf8.count <= Self.maxKeyBytes,
            isPrintableASCII
                ? key.utf8.count <= Self.maxKeyCharacters
                : key.unicodeScalars.count <= Self.maxKeyCharacters
                    && !key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw GatewayError.badRequest(
                "invalid_key",
                "key must be 1–\(Self.maxKeyCharacters) characters (at most \(Self.maxKeyBytes) bytes) without control characters"
            )
        }
        self.namespace = namespace
        self.set = set
        self.key = key
    }

    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= maxNameLength && allBytes(of: text, satisfy: isNameByte)
    }

    /// `text.utf8.allSatisfy(test)`, over the contiguous bytes a native string has.
    static func allBytes(of text: String, satisfy test: (UInt8) -> Bool) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where !test(byte) { return false }
            return true
        } ?? text.utf8.allSatisfy(test)
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    var redisKey: String { "sg:{\(namespace)/\(set)/\(Self.escape(key))}" }

    /// `redisKey` as bytes, written without an intermediate String.
    var redisKeyBytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + namespace.utf8.count + set.utf8.count + key.utf8.count)
        bytes.append(contentsOf: Self.prefixBytes)
        Self.appendUTF8(namespace, to: &bytes)
        bytes.append(UInt8(ascii: "/"))
        Self.appendUTF8(set, to: &bytes)
        bytes.append(UInt8(ascii: "/"))
        if Self.allBytes(of: key, satisfy: Self.isUnescaped) {
            Self.appendUTF8(key, to: &bytes)
        } else {
            Self.appendUTF8(Self.escape(key), to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private static let prefixBytes: [UInt8] = Array("sg:{".utf8)

    /// `head` (an encoded command's start) followed by `redisKey` as a RESP bulk string,
    /// in one array of the exact size with the key written in place (no array of its
    /// own), and where the key's bytes lie in it. Written on the stack and appended in
    /// one piece to a reserved array (`Array(unsafeUninitializedCapacity:)` would take
    /// the standard library's unspecialised path, dearer than the copy). A user key
    /// that `escape` changes takes the plain way through `redisKeyBytes`.
    func command(head: [UInt8]) -> (encoded: [UInt8], keyBytes: Range<Int>) {
        guard Self.allBytes(of: key, satisfy: Self.isUnescaped) else {
            let redisKey = redisKeyBytes
            var encoded = head
            encoded.reserveCapacity(head.count + redisKey.count + 16)
            RESPEncoder.appendBulkHeader(redisKey.count, to: &encoded)
            let start = encoded.count
            encoded.append(contentsOf: redisKey)
            encoded.append(contentsOf: [UInt8(ascii: "\r"), UInt8(ascii: "\n")])
            return (encoded, start..<start + redisKey.count)
        }
        var namespace = namespace
        var set = set
        var key = key  // withUTF8 is mutating (it may make a bridged string contiguous)
        let keyCount = 7 + namespace.utf8.count + set.utf8.count + key.utf8.count
        var digits = 1
        var power = 10
        while power <= keyCount {
            digits += 1
            power *= 10
        }
        let start = head.count + digits + 3
        var encoded: [UInt8] = []
        encoded.reserveCapacity(start + keyCount + 2)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: start + keyCount + 2) { buffer in
            var position = 0
            func write(_ bytes: UnsafeBufferPointer<UInt8>) {
                UnsafeMutableBufferPointer(rebasing: buffer[position..<position + bytes.count])
                    .initialize(fromContentsOf: bytes)
                position += bytes.count
            }
            func write(_ byte: UInt8) {
                buffer[position] = byte
                position += 1
            }
            head.withUnsafeBufferPointer { write($0) }
            write(UInt8(ascii: "$"))
            var remaining = keyCount
            for offset in stride(from: digits - 1, through: 0, by: -1) {
                buffer[position + offset] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                remaining /= 10
            }
            position += digits
            write(UInt8(ascii: "\r"))
            write(UInt8(ascii: "\n"))
            for byte in Self.prefixBytes { write(byte) }
            namespace.withUTF8 { write($0) }
            write(UInt8(ascii: "/"))
            set.withUTF8 { write($0) }
            write(UInt8(ascii: "/"))
            key.withUTF8 { write($0) }
            write(UInt8(ascii: "}"))
            write(UInt8(ascii: "\r"))
            write(UInt8(ascii: "\n"))
            encoded.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<position]))
        }
        return (encoded, start..<start + keyCount)
    }

    private static func isUnescaped(_ byte: UInt8) -> Bool {
        byte != UInt8(ascii: "%") && byte != UInt8(ascii: "{") && byte != UInt8(ascii: "}")
    }

    /// Appends `text`'s UTF-8 in one copy.
    private static func appendUTF8(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// The SCAN pattern for every record of a set (names hold no glob characters).
    static func scanPattern(namespace: String, set: String) -> String { "sg:{\(namespace)/\(set)/*}" }

    /// The user key back from a Redis key of `namespace`/`set`; nil if it is not one.
    /// Compared and cut as UTF-8, never as Characters: a key starting with a combining
    /// mark would join the `/` before it into one Character and fail `hasPrefix`.
    static func userKey(fromRedisKey redisKey: String, namespace: String, set: String) -> String? {
        let prefix = "sg:{\(namespace)/\(set)/".utf8
        let bytes = redisKey.utf8
        guard bytes.count > prefix.count, bytes.starts(with: prefix), bytes.last == UInt8(ascii: "}") else {
            return nil
        }
        return unescape(bytes.dropFirst(prefix.count).dropLast())
    }

    /// `%`, `{` and `}` as `%25`, `%7B`, `%7D`, scalar by scalar (a `{` followed by a
    /// combining mark is one Character, and must still be escaped).
    static func escape(_ key: String) -> String {
        guard
            key.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "}") })
        else { return key }
        var out = String.UnicodeScalarView()
        for scalar in key.unicodeScalars {
            switch scalar {
            case "%": out.append(contentsOf: "%25".unicodeScalars)
            case "{": out.append(contentsOf: "%7B".unicodeScalars)
            case "}": out.append(contentsOf: "%7D".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// The inverse of `escape`, in one pass over the UTF-8.
    static func unescape(_ text: Substring.UTF8View) -> String {
        guard text.contains(UInt8(ascii: "%")) else { return String(decoding: text, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var index = text.startIndex
        while index != text.endIndex {
            let byte = text[index]
            index = text.index(after: index)
            guard byte == UInt8(ascii: "%"), text.distance(from: index, to: text.endIndex) >= 2 else {
                out.append(byte)
                continue
            }
            let code = (text[index], text[text.index(after: index)])
            let decoded: UInt8? =
                switch code {
                case (UInt8(ascii: "2"), UInt8(ascii: "5")): UInt8(ascii: "%")
                case (UInt8(ascii: "7"), UInt8(ascii: "B")): UInt8(ascii: "{")
                case (UInt8(ascii: "7"), UInt8(ascii: "D")): UInt8(ascii: "}")
                default: nil
                }
            if let decoded {
                out.append(decoded)
                index = text.index(index, offsetBy: 2)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Bin names: 1–64 of A–Z a–z 0–9 _ - . ; stored as hash field `b:<name>`.
enum BinName {
    static let maxLength = 64
    static let fieldPrefix = "b:"
    static let fieldPrefixBytes: [UInt8] = Array(fieldPrefix.utf8)

    static func validate(_ name: String) throws(GatewayError) {
        guard !name.isEmpty, name.utf8.count <= maxLength,
            RecordKey.allBytes(of: name, satisfy: isNameByte)
        else {
            throw GatewayError.badRequest(
                "invalid_bin", "bin name '\(name.prefix(80))' must be 1–64 of A–Z a–z 0–9 _ - .")
        }
    }

    static func field(_ name: String) -> String { fieldPrefix + name }

    static func isNameByte(_ byte: UInt8) -> Bool { RecordKey.isNameByte(byte) || byte == UInt8(ascii: ".") }

    /// `b:<name>` as bytes.
    static func fieldBytes(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "b"), UInt8(ascii: ":")]
        bytes.append(contentsOf: name.utf8)
        return bytes
    }
}
