/// A record's bins as the store holds them, read back for a test's own checks: the
/// `_b` field (`<name length>:<name><value length>:<value>` per bin), decoded here
/// independently of the gateway's `BinsBlob`, or the `b:<name>` fields of a record
/// written before `_b`.
package enum StoredBins {
    /// (name, JSON text) per bin, in order; nil when `blob` is not well formed.
    package static func decode(_ blob: String) -> [(name: String, value: String)]? {
        var bytes = Substring(blob).utf8[...]
        var bins: [(String, String)] = []
        func piece() -> String? {
            guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
                let count = Int(String(decoding: bytes[..<colon], as: UTF8.self)), count >= 0
            else { return nil }
            let start = bytes.index(after: colon)
            guard bytes.distance(from: start, to: bytes.endIndex) >= count else { return nil }
            let end = bytes.index(start, offsetBy: count)
            defer { bytes = bytes[end...] }
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
        while !bytes.isEmpty {
            guard let name = piece(), let value = piece() else { return nil }
            bins.append((name, value))
        }
        return bins
    }

    /// `_b`'s text for `bins`, as the gateway writes it.
    package static func encode(_ bins: [(String, String)]) -> String {
        bins.map { "\($0.0.utf8.count):\($0.0)\($0.1.utf8.count):\($0.1)" }.joined()
    }
}

extension RedisServer {
    /// The bin's stored JSON text ("" when the record has no such bin, as `HGET` of a
    /// missing field prints), from `_b`, or from `b:<name>` when there is no `_b`.
    package func storedBin(_ key: String, _ name: String) throws -> String {
        let blob = try cli(["HGET", key, "_b"])
        if try cli(["HEXISTS", key, "_b"]) == "1" {
            guard let bins = StoredBins.decode(blob) else { return "<malformed _b: \(blob)>" }
            return bins.first(where: { $0.name == name })?.value ?? ""
        }
        return try cli(["HGET", key, "b:" + name])
    }

    /// The record's bin names, in stored order.
    package func storedBinNames(_ key: String) throws -> [String] {
        if try cli(["HEXISTS", key, "_b"]) == "1" {
            return StoredBins.decode(try cli(["HGET", key, "_b"]))?.map(\.name) ?? ["<malformed _b>"]
        }
        return try cli(["HKEYS", key]).split(separator: "\n").filter { $0.hasPrefix("b:") }.map {
            String($0.dropFirst(2))
        }
    }
}
