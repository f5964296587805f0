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
        guard !key.isEmpty, key.utf8.count <= Self.maxKeyBytes, key.unicodeScalars.count <= Self.maxKeyCharacters,
            !key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw GatewayError.badRequest(
                "invalid_key",
                "key must be 1–\(Self.maxKeyCharacters) characters (at most \(Self.maxKeyBytes) bytes) without control characters")
        }
        self.namespace = namespace
        self.set = set
        self.key = key
    }

    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= maxNameLength && text.utf8.allSatisfy(isNameByte)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    var redisKey: String { "sg:{\(namespace)/\(set)/\(Self.escape(key))}" }

    /// The SCAN pattern for every record of a set (names hold no glob characters).
    static func scanPattern(namespace: String, set: String) -> String { "sg:{\(namespace)/\(set)/*}" }

    /// The user key back from a Redis key of `namespace`/`set`; nil if it is not one.
    static func userKey(fromRedisKey redisKey: String, namespace: String, set: String) -> String? {
        let prefix = "sg:{\(namespace)/\(set)/"
        guard redisKey.hasPrefix(prefix), redisKey.hasSuffix("}") else { return nil }
        return unescape(redisKey.dropFirst(prefix.count).dropLast())
    }

    static func escape(_ key: String) -> String {
        guard key.contains(where: { $0 == "%" || $0 == "{" || $0 == "}" }) else { return key }
        var out = ""
        for character in key {
            switch character {
            case "%": out += "%25"
            case "{": out += "%7B"
            case "}": out += "%7D"
            default: out.append(character)
            }
        }
        return out
    }

    static func unescape(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        return String(text).replacingAll("%7B", "{").replacingAll("%7D", "}").replacingAll("%25", "%")
    }
}

/// Bin names: 1–64 of A–Z a–z 0–9 _ - . ; stored as hash field `b:<name>`.
enum BinName {
    static let maxLength = 64
    static let fieldPrefix = "b:"

    static func validate(_ name: String) throws(GatewayError) {
        guard !name.isEmpty, name.utf8.count <= maxLength,
            name.utf8.allSatisfy({ RecordKey.isName(String(UnicodeScalar($0))) || $0 == UInt8(ascii: ".") })
        else {
            throw GatewayError.badRequest("invalid_bin", "bin name '\(name.prefix(80))' must be 1–64 of A–Z a–z 0–9 _ - .")
        }
    }

    static func field(_ name: String) -> String { fieldPrefix + name }
}

extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
