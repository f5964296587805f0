internal import TLS

/// SHA-256, for holding API keys only as digests: libcrypto's (`Digest`).
package enum SHA256 {
    package static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] { Digest.sha256(bytes) }

    package static func digest(_ text: String) -> [UInt8] { Digest.sha256(text.utf8) }

    package static func hexDigest(_ text: String) -> String { Digest.hex(digest(text)) }
}

/// Compares two byte strings in time that depends only on their lengths, never on
/// where they first differ: every byte is looked at, differences are OR-ed together.
/// Unequal lengths are unequal, after the same scan over the longer input.
package func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    let length = max(a.count, b.count)
    var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | (a.count == b.count ? 0 : 1)
    for index in 0..<length {
        let x = index < a.count ? a[index] : 0
        let y = index < b.count ? b[index] : 0
        difference |= x ^ y
    }
    return difference == 0
}
