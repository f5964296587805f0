/// SHA-256 (FIPS 180-4), for holding API keys only as digests. Pure Swift so the
/// Gateway module needs no crypto library; keys are short, so speed does not matter.
package enum SHA256 {
    private static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]
    private static let initialState: [UInt32] = [
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
    ]

    /// The 32-byte digest of `bytes`. Works in two stack buffers (the padded message,
    /// the schedule and state), so a digest costs one allocation: the result.
    package static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] {
        if let digest = bytes.withContiguousStorageIfAvailable(digest(buffer:)) { return digest }
        return Array(bytes).withUnsafeBufferPointer(digest(buffer:))
    }

    private static func digest(buffer bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let count = bytes.count
        let padded = (count + 9 + 63) / 64 * 64
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: padded) { message in
            message.initialize(repeating: 0)
            if let base = bytes.baseAddress { message.baseAddress!.update(from: base, count: count) }
            message[count] = 0x80
            let bitLength = UInt64(count) &* 8
            for i in 0..<8 { message[padded - 1 - i] = UInt8(truncatingIfNeeded: bitLength >> UInt64(8 * i)) }
            return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 72) { words in
                words.initialize(repeating: 0)
                for i in 0..<8 { words[64 + i] = initialState[i] }
                roundConstants.withUnsafeBufferPointer { k in
                    for chunk in stride(from: 0, to: padded, by: 64) {
                        compress(UnsafeBufferPointer(rebasing: message[chunk..<chunk + 64]), words, k)
                    }
                }
                var out = [UInt8](repeating: 0, count: 32)
                for i in 0..<32 { out[i] = UInt8(truncatingIfNeeded: words[64 + i / 4] >> UInt32(24 - 8 * (i % 4))) }
                return out
            }
        }
    }

    package static func digest(_ text: String) -> [UInt8] { digest(Array(text.utf8)) }

    package static func hexDigest(_ text: String) -> String {
        digest(text).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// One 64-byte block: `words[0..<64]` is the schedule, `words[64..<72]` the state.
    private static func compress(
        _ block: UnsafeBufferPointer<UInt8>, _ words: UnsafeMutableBufferPointer<UInt32>,
        _ k: UnsafeBufferPointer<UInt32>
    ) {
        for i in 0..<16 {
            words[i] =
                UInt32(block[i * 4]) << 24 | UInt32(block[i * 4 + 1]) << 16 | UInt32(block[i * 4 + 2]) << 8
                | UInt32(block[i * 4 + 3])
        }
        for i in 16..<64 {
            let s0 = rotr(words[i - 15], 7) ^ rotr(words[i - 15], 18) ^ (words[i - 15] >> 3)
            let s1 = rotr(words[i - 2], 17) ^ rotr(words[i - 2], 19) ^ (words[i - 2] >> 10)
            words[i] = words[i - 16] &+ s0 &+ words[i - 7] &+ s1
        }
        var (a, b, c, d) = (words[64], words[65], words[66], words[67])
        var (e, f, g, h) = (words[68], words[69], words[70], words[71])
        for i in 0..<64 {
            let sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let choose = (e & f) ^ (~e & g)
            let t1 = h &+ sum1 &+ choose &+ k[i] &+ words[i]
            let sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            (h, g, f, e) = (g, f, e, d &+ t1)
            (d, c, b, a) = (c, b, a, t1 &+ sum0 &+ majority)
        }
        words[64] &+= a
        words[65] &+= b
        words[66] &+= c
        words[67] &+= d
        words[68] &+= e
        words[69] &+= f
        words[70] &+= g
        words[71] &+= h
    }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
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
