internal import TLS

/// SHA-1 of a script's text, for EVALSHA (Redis names cached scripts by it): libcrypto's
/// (`Digest`). Not used for anything that needs collision resistance.
enum SHA1 {
    static func hexDigest(_ text: String) -> String { Digest.hex(Digest.sha1(text.utf8)) }
}
