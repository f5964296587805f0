internal import COpenSSL

/// libcrypto's SHA-256 and SHA-1 (linked for TLS anyway): API keys are held as SHA-256
/// digests, and Redis names cached scripts by their SHA-1.
package enum Digest {
    package static func sha256(_ bytes: some Collection<UInt8>) -> [UInt8] {
        digest(bytes, EVP_sha256(), length: 32)
    }

    package static func sha1(_ bytes: some Collection<UInt8>) -> [UInt8] {
        digest(bytes, EVP_sha1(), length: 20)
    }

    /// Lowercase hex, two digits a byte.
    package static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(digest.count * 2)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func digest(_ bytes: some Collection<UInt8>, _ kind: OpaquePointer?, length: Int) -> [UInt8] {
        if let result = bytes.withContiguousStorageIfAvailable({
            digest(buffer: UnsafeRawBufferPointer($0), kind, length)
        }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { digest(buffer: $0, kind, length) }
    }

    private static func digest(buffer: UnsafeRawBufferPointer, _ kind: OpaquePointer?, _ length: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: length)
        var written: UInt32 = 0
        let ok = result.withUnsafeMutableBufferPointer { out in
            EVP_Digest(buffer.baseAddress, buffer.count, out.baseAddress, &written, kind, nil)
        }
        precondition(ok == 1 && Int(written) == length, "libcrypto digest failed")
        return result
    }
}
