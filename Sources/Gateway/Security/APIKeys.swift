/// What a key may do. `write` implies `read`; `admin` is only the admin routes
/// (`/v1/cluster`, `POST /v1/kitchen/restock`), not data.
package enum Scope: String, Sendable, CaseIterable {
    case read, write, admin
}

/// One configured API key, held only as the SHA-256 digest of its text, with the
/// scopes it has and the namespaces they apply to (`nil`: every namespace, `*`).
/// `id` names where it was configured (`keys.txt:3`), so logs can point at a key
/// without holding the secret.
package struct APIKey: Sendable {
    package let digest: [UInt8]
    package let scopes: Set<Scope>
    package let namespaces: Set<String>?
    package let id: String

    package func allows(_ scope: Scope, namespace: String) -> Bool {
        let hasScope = scope == .read ? (scopes.contains(.read) || scopes.contains(.write)) : scopes.contains(scope)
        return hasScope && (namespaces?.contains(namespace) ?? true)
    }

    package var isAdmin: Bool { scopes.contains(.admin) }
}

/// A bad line in a key file or in STOREGATE_API_KEYS; the message names the line but
/// never repeats the key.
package struct APIKeyError: Error, CustomStringConvertible {
    package let description: String
}

/// Every configured key. Built once at start-up; `authenticate` hashes the presented
/// token and compares it with every stored digest in constant time, so neither the
/// comparison nor the position of a match in the list shows in the timing.
package struct APIKeyRing: Sendable {
    package private(set) var keys: [APIKey] = []
    package static let maxKeyLength = 512

    package init() {}

    package var isEmpty: Bool { keys.isEmpty }
    package var count: Int { keys.count }

    /// Adds the keys in `text`: one `KEY:SCOPES:NAMESPACES` a line (or a segment
    /// between `;` when `semicolonSeparated`); `#` comments and blank lines are skipped.
    package mutating func add(_ text: String, source: String, semicolonSeparated: Bool = false) throws(APIKeyError) {
        // `isNewline` covers "\r\n", which Swift holds as one Character.
        let lines = text.split(omittingEmptySubsequences: false) { $0.isNewline || (semicolonSeparated && $0 == ";") }
        for (index, rawLine) in lines.enumerated() {
            let line = trimmed(rawLine)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let key = try Self.parse(line, id: "\(source):\(index + 1)")
            for existing in keys where constantTimeEquals(existing.digest, key.digest) {
                throw APIKeyError(description: "\(key.id): the same key is already configured at \(existing.id)")
            }
            keys.append(key)
        }
    }

    private static func parse(_ line: Substring, id: String) throws(APIKeyError) -> APIKey {
        let fields = line.split(separator: ":", omittingEmptySubsequences: false).map(trimmed)
        guard fields.count == 3 else {
            throw APIKeyError(
                description: "\(id): expected KEY:SCOPES:NAMESPACES (3 fields separated by ':'), found \(fields.count)")
        }
        let token = fields[0]
        guard !token.isEmpty, token.utf8.count <= maxKeyLength, isBearerToken(token) else {
            throw APIKeyError(
                description: "\(id): the key must be 1–\(maxKeyLength) of A–Z a–z 0–9 - . _ ~ + / (then = padding)")
        }
        var scopes = Set<Scope>()
        for name in fields[1].split(separator: ",", omittingEmptySubsequences: false).map(trimmed) {
            guard let scope = Scope(rawValue: String(name)) else {
                throw APIKeyError(description: "\(id): unknown scope '\(name.prefix(32))' (read, write, admin)")
            }
            scopes.insert(scope)
        }
        let names = fields[2].split(separator: ",", omittingEmptySubsequences: false).map(trimmed)
        var namespaces: Set<String>? = []
        for name in names {
            if name == "*" {
                namespaces = nil
            } else {
                guard RecordKey.isName(String(name)) else {
                    throw APIKeyError(
                        description: "\(id): namespace '\(name.prefix(64))' must be * or 1–63 of A–Z a–z 0–9 _ -")
                }
                namespaces?.insert(String(name))
            }
        }
        if namespaces == nil, names.count > 1 {
            throw APIKeyError(description: "\(id): '*' stands alone in the namespace field")
        }
        return APIKey(digest: SHA256.digest(token.utf8), scopes: scopes, namespaces: namespaces, id: id)
    }

    /// The key whose text is `token`, or nil. Looks at every key whatever matches.
    package func authenticate(_ token: some Collection<UInt8>) -> APIKey? {
        let digest = SHA256.digest(token)
        var found: APIKey?
        for key in keys where constantTimeEquals(key.digest, digest) && found == nil { found = key }
        return found
    }

    /// RFC 6750 b64token: ALPHA DIGIT - . _ ~ + / then any number of `=`.
    static func isBearerToken(_ text: some StringProtocol) -> Bool {
        var padding = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "="): padding = true
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                if padding { return false }
            default: return false
            }
        }
        return true
    }
}

private func trimmed(_ text: Substring) -> Substring {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    guard let start = text.firstIndex(where: { !isSpace($0) }) else { return text[text.endIndex...] }
    let end = text.lastIndex(where: { !isSpace($0) })!
    return text[start...end]
}
