/// Writes `JSONValue`s as compact JSON text (no insignificant whitespace).
///
/// * Integers in decimal; doubles in Swift's shortest round-trip form, with ".0"
///   appended when that form has neither a point nor an exponent, so 2.0 reads
///   back as a double. Non-finite doubles cannot be JSON and are written as
///   `null` (the parser never produces them).
/// * Strings escape `"`, `\` and U+0000–U+001F only (\b \f \n \r \t, others as
///   \u00XX); `/` and all non-ASCII text are written as raw UTF-8.
/// * Object members in their stored order.
///
/// Writing recurses once per nesting level, like the parser.
package enum JSONWriter {
    /// Appends the JSON text of `value` to `out`.
    package static func append(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null:
            appendASCII("null", to: &out)
        case .bool(let flag):
            appendASCII(flag ? "true" : "false", to: &out)
        case .integer(let number):
            appendDecimal(number.magnitude, negative: number < 0, to: &out)
        case .unsignedInteger(let number):
            appendDecimal(number, negative: false, to: &out)
        case .number(let number):
            appendDouble(number, to: &out)
        case .string(let text):
            appendString(text, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                append(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (position, member) in object.members.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                appendString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                append(member.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends the JSON text of `value` to `out`.
    package static func append(_ value: JSONValue, to out: inout String) {
        out += string(value)
    }

    /// The JSON text of `value`.
    package static func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// The JSON text of `value` as UTF-8 bytes.
    package static func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        append(value, to: &out)
        return out
    }

    /// Appends `text` as a quoted JSON string literal with the required escapes.
    package static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in appendEscaped(utf8, to: &out) }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `text` as a quoted JSON string literal with the required escapes. The
    /// one escaper for text built as a `String`: HTTP error bodies, log lines, the access log.
    package static func appendString(_ text: String, to out: inout String) {
        var text = text
        let plain = text.withUTF8 { JSONUTF8.endOfPlainRun($0, from: 0, stopAtNonASCII: false) == $0.count }
        if plain {
            out.reserveCapacity(out.utf8.count + text.utf8.count + 2)
            out += "\""
            out += text
            out += "\""
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 8)
        appendString(text, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// Copies runs that need no escaping in one piece; escapes the bytes between them.
    private static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var runStart = 0
        var position = 0
        while true {
            position = JSONUTF8.endOfPlainRun(utf8, from: position, stopAtNonASCII: false)
            if position > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position])) }
            guard position < utf8.count else { return }
            let byte = utf8[position]
            out.append(UInt8(ascii: "\\"))
            switch byte {
            case 0x22: out.append(UInt8(ascii: "\""))
            case 0x5C: out.append(UInt8(ascii: "\\"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            default:
                // Other control characters: \u00XX with lowercase hex (byte < 0x20).
                out.append(UInt8(ascii: "u"))
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "0") + byte >> 4)
                let low = byte & 0xF
                out.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
            }
            position += 1
            runStart = position
        }
    }

    /// Appends a decimal integer without allocating.
    private static func appendDecimal(_ magnitude: UInt64, negative: Bool, to out: inout [UInt8]) {
        if negative { out.append(UInt8(ascii: "-")) }
        if magnitude < 10 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        // UInt64.max has 20 digits.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = digits.count
            var rest = magnitude
            while rest > 0 {
                let (quotient, remainder) = rest.quotientAndRemainder(dividingBy: 10)
                position -= 1
                digits[position] = UInt8(ascii: "0") + UInt8(remainder)
                rest = quotient
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[position...]))
        }
    }

    /// Shortest round-trip text, made to read back as a double.
    private static func appendDouble(_ number: Double, to out: inout [UInt8]) {
        guard number.isFinite else {
            appendASCII("null", to: &out)
            return
        }
        // `description` is the shortest text that round-trips: "0.1", "1e-07",
        // "5e+20", "-0.0", "2.0". Its only non-JSON outputs are "inf"/"nan",
        // excluded above. It already writes integral values as "2.0"; the check
        // below keeps that guarantee should its format ever change.
        var text = number.description
        let needsPoint = text.withUTF8 { utf8 in
            !utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        }
        out.append(contentsOf: text.utf8)
        if needsPoint { appendASCII(".0", to: &out) }
    }

    @inline(__always)
    private static func appendASCII(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
