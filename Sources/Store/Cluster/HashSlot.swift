/// Redis Cluster's key → slot function: CRC16 (XMODEM: polynomial 0x1021, initial 0,
/// no reflection) of the key, or of its hash tag, modulo 16384. The hash tag is the
/// text between the first `{` and the first `}` after it, when that text is not empty;
/// it lets several keys share one slot (`sg:{ns/set/key}` and friends).
package enum HashSlot {
    package static let count = 16384

    package static func of(_ key: String) -> Int {
        var key = key
        return key.withUTF8 { of(UnsafeRawBufferPointer($0)) }
    }

    package static func of(_ key: UnsafeRawBufferPointer) -> Int {
        Int(crc16(hashed(key)) & 0x3FFF)
    }

    package static func of(_ key: [UInt8]) -> Int {
        key.withUnsafeBytes { of($0) }
    }

    /// The part of `key` that is hashed: its tag, or all of it.
    static func hashed(_ key: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return key }
        guard let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 else { return key }
        return UnsafeRawBufferPointer(rebasing: key[(open + 1)..<close])
    }

    package static func crc16(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    package static func crc16(_ text: String) -> UInt16 {
        Array(text.utf8).withUnsafeBytes { crc16($0) }
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
