extension JSONParser.Reader {
    /// A string whose opening quote is at `offset`; leaves `offset` after the
    /// closing quote. Plain runs are validated in place and copied in one piece;
    /// only when an escape shows up are the pieces gathered in `scratch`.
    mutating func string() throws(JSONError) -> String {
        let quote = offset
        offset += 1
        var runStart = offset
        var escaped = false
        while true {
            offset = JSONUTF8.endOfPlainRun(bytes, from: offset, stopAtNonASCII: true)
            guard offset < bytes.count else {
                throw .endOfInput(at: offset, "in a string that starts at offset \(quote)")
            }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                break
            } else if byte == UInt8(ascii: "\\") {
                if !escaped {
                    escaped = true
                    scratch.removeAll(keepingCapacity: true)
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<offset]))
                try escape()
                runStart = offset
                if scratch.count > limits.maxStringBytes { throw stringTooLong(quote) }
            } else if byte < 0x20 {
                throw JSONError(
                    .invalidString, "unescaped control character U+00\(JSONError.hex(byte).dropFirst(2)) in a string",
                    offset: offset)
            } else {
                guard let length = JSONUTF8.sequenceLength(bytes, at: offset) else {
                    throw JSONError(
                        .invalidUTF8, "invalid UTF-8 sequence starting with byte \(JSONError.hex(byte))", offset: offset
                    )
                }
                offset += length
            }
        }
        let run = UnsafeBufferPointer(rebasing: bytes[runStart..<offset])
        offset += 1
        if escaped {
            guard scratch.count + run.count <= limits.maxStringBytes else { throw stringTooLong(quote) }
            scratch.append(contentsOf: run)
            return String(decoding: scratch, as: UTF8.self)
        }
        guard run.count <= limits.maxStringBytes else { throw stringTooLong(quote) }
        return String(decoding: run, as: UTF8.self)
    }

    private func stringTooLong(_ quote: Int) -> JSONError {
        JSONError(.stringTooLong, "string longer than \(limits.maxStringBytes) bytes", offset: quote)
    }

    /// Decodes the escape at `offset` (a backslash) into `scratch`, pairing
    /// `\uD800`–`\uDBFF` with a following `\uDC00`–`\uDFFF`.
    private mutating func escape() throws(JSONError) {
        let start = offset
        guard offset + 1 < bytes.count else { throw .endOfInput(at: offset + 1, "in an escape sequence") }
        let decoded: UInt8
        switch bytes[offset + 1] {
        case UInt8(ascii: "\""): decoded = 0x22
        case UInt8(ascii: "\\"): decoded = 0x5C
        case UInt8(ascii: "/"): decoded = 0x2F
        case UInt8(ascii: "b"): decoded = 0x08
        case UInt8(ascii: "f"): decoded = 0x0C
        case UInt8(ascii: "n"): decoded = 0x0A
        case UInt8(ascii: "r"): decoded = 0x0D
        case UInt8(ascii: "t"): decoded = 0x09
        case UInt8(ascii: "u"):
            let unit = try hexQuad(at: offset + 2)
            offset += 6
            var scalar = UInt32(unit)
            switch unit {
            case 0xD800...0xDBFF:
                guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"),
                    bytes[offset + 1] == UInt8(ascii: "u")
                else { throw unpairedSurrogate(unit, at: start) }
                let low = try hexQuad(at: offset + 2)
                guard (0xDC00...0xDFFF).contains(low) else { throw unpairedSurrogate(unit, at: start) }
                offset += 6
                scalar = 0x1_0000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            case 0xDC00...0xDFFF:
                throw unpairedSurrogate(unit, at: start)
            default:
                break
            }
            JSONUTF8.append(scalar: scalar, to: &scratch)
            return
        case let other:
            let shown =
                (0x21...0x7E).contains(other)
                ? "'\\\(Character(Unicode.Scalar(other)))'" : "'\\' before byte \(JSONError.hex(other))"
            throw JSONError(.invalidString, "invalid escape \(shown)", offset: start)
        }
        scratch.append(decoded)
        offset += 2
    }

    /// The value of four hex digits at `position`.
    private func hexQuad(at position: Int) throws(JSONError) -> UInt16 {
        guard bytes.count - position >= 4 else {
            // Report the first missing or non-hex byte.
            var at = position
            while at < bytes.count, Self.hexValue(bytes[at]) != nil { at += 1 }
            if at < bytes.count { throw badHex(at) }
            throw .endOfInput(at: bytes.count, "in a \\u escape")
        }
        var value: UInt16 = 0
        for at in position..<(position + 4) {
            guard let digit = Self.hexValue(bytes[at]) else { throw badHex(at) }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private func badHex(_ at: Int) -> JSONError {
        let byte = bytes[at]
        let shown = (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : JSONError.hex(byte)
        return JSONError(.invalidString, "invalid hex digit \(shown) in a \\u escape", offset: at)
    }

    private func unpairedSurrogate(_ unit: UInt16, at start: Int) -> JSONError {
        let digits = JSONError.hex(UInt8(unit >> 8)).dropFirst(2) + JSONError.hex(UInt8(unit & 0xFF)).dropFirst(2)
        return JSONError(.invalidString, "unpaired surrogate \\u\(digits)", offset: start)
    }

    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Byte-level helpers shared by the parser and the writer: finding the end of a
/// run of bytes that need no attention (eight bytes per step with SWAR tricks),
/// validating one multi-byte UTF-8 sequence, and encoding a scalar as UTF-8.
package enum JSONUTF8 {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// True when some byte of `word` is below 0x20, `"` or `\`. Each test is the
    /// classic "has a zero/less-than byte" trick; borrows only start at a byte
    /// that really matches, so "any match" is exact (which byte is not needed).
    @inline(__always)
    private static func hasSpecial(_ word: UInt64) -> Bool {
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let control = (word &- ones &* 0x20) & ~word
        let quoteHit = (quote &- ones) & ~quote
        let backslashHit = (backslash &- ones) & ~backslash
        return (control | quoteHit | backslashHit) & highBits != 0
    }

    /// The first index at or after `start` whose byte is `"`, `\`, a control
    /// character or (when `stopAtNonASCII`) above 0x7F; `bytes.count` if none.
    @inline(__always)
    package static func endOfPlainRun(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, stopAtNonASCII: Bool) -> Int
    {
        var position = start
        let count = bytes.count
        if count - position >= 8, let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            let stopMask: UInt64 = stopAtNonASCII ? highBits : 0
            while count - position >= 8 {
                let word = raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)
                if word & stopMask != 0 || hasSpecial(word) { break }
                position += 8
            }
        }
        while position < count {
            let byte = bytes[position]
            if byte < 0x20 || byte == 0x22 || byte == 0x5C || (stopAtNonASCII && byte >= 0x80) { break }
            position += 1
        }
        return position
    }

    /// Length of the well-formed UTF-8 sequence starting at `start` (whose first
    /// byte is ≥ 0x80), or nil when it is ill-formed or cut off. Rejects stray
    /// continuation bytes, overlong forms, encoded surrogates and values above
    /// U+10FFFF (RFC 3629, table 3-7 of the Unicode standard).
    @inline(__always)
    static func sequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        let lead = bytes[start]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            secondRange = 0x80...0x9F
        case 0xF0:
            length = 4
            secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            secondRange = 0x80...0x8F
        default: return nil
        }
        guard bytes.count - start >= length, secondRange.contains(bytes[start + 1]) else { return nil }
        for position in (start + 2)..<(start + length) where bytes[position] & 0xC0 != 0x80 {
            return nil
        }
        return length
    }

    /// Appends the UTF-8 encoding of a scalar value (≤ 0x10FFFF, not a surrogate).
    @inline(__always)
    static func append(scalar value: UInt32, to out: inout [UInt8]) {
        switch value {
        case ..<0x80:
            out.append(UInt8(value))
        case ..<0x800:
            out.append(UInt8(0xC0 | value >> 6))
            out.append(UInt8(0x80 | value & 0x3F))
        case ..<0x1_0000:
            out.append(UInt8(0xE0 | value >> 12))
            out.append(UInt8(0x80 | (value >> 6) & 0x3F))
            out.append(UInt8(0x80 | value & 0x3F))
        default:
            out.append(UInt8(0xF0 | value >> 18))
            out.append(UInt8(0x80 | (value >> 12) & 0x3F))
            out.append(UInt8(0x80 | (value >> 6) & 0x3F))
            out.append(UInt8(0x80 | value & 0x3F))
        }
    }
}
