extension JSONParser.Reader {
    /// A number starting at `offset` (a `-` or a digit), following the RFC 8259
    /// grammar `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    ///
    /// Integers that fit 64 bits stay exact. Other numbers become Doubles,
    /// correctly rounded: Clinger's fast path when the decimal significand fits
    /// 2^53 and the power of ten is at most 22 (one exact operation), else the
    /// stdlib's `Double(String)`. Overflow to infinity is an error.
    mutating func number() throws(JSONError) -> JSONValue {
        let start = offset
        var position = offset
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }

        var significand: UInt64 = 0
        var significandOverflow = false
        func accumulate(_ byte: UInt8) {
            let digit = UInt64(byte &- UInt8(ascii: "0"))
            if significandOverflow || significand > (UInt64.max - digit) / 10 {
                significandOverflow = true
            } else {
                significand = significand * 10 + digit
            }
        }

        // Integer part.
        guard position < bytes.count else { throw .endOfInput(at: position, "in a number") }
        let first = bytes[position]
        if first == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, Self.isDigit(bytes[position]) {
                throw JSONError(.syntax, "leading zero in a number", offset: start)
            }
        } else if Self.isDigit(first) {
            while position < bytes.count, Self.isDigit(bytes[position]) {
                accumulate(bytes[position])
                position += 1
            }
        } else {
            throw .unexpected(first, at: position, "in a number, expected a digit")
        }

        // Fraction.
        var isInteger = true
        var fractionDigits = 0
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            try requireDigit(at: position, "after the decimal point")
            while position < bytes.count, Self.isDigit(bytes[position]) {
                accumulate(bytes[position])
                fractionDigits += 1
                position += 1
            }
        }

        // Exponent; its value is only needed for the fast path, so cap it.
        var exponent = 0
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            position += 1
            var exponentNegative = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                exponentNegative = bytes[position] == UInt8(ascii: "-")
                position += 1
            }
            try requireDigit(at: position, "in an exponent")
            while position < bytes.count, Self.isDigit(bytes[position]) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[position] - UInt8(ascii: "0")) }
                position += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        offset = position

        if isInteger, !significandOverflow {
            if negative {
                if significand <= UInt64(Int64.max) { return .integer(-Int64(significand)) }
                if significand == UInt64(Int64.max) + 1 { return .integer(.min) }
            } else {
                if significand <= UInt64(Int64.max) { return .integer(Int64(significand)) }
                return .unsignedInteger(significand)
            }
        }

        let power = exponent - fractionDigits
        if !significandOverflow, significand <= 1 << 53, power >= -22, power <= 22 {
            var value = Double(significand)
            value = power < 0 ? value / Self.powersOfTen[-power] : value * Self.powersOfTen[power]
            return .number(negative ? -value : value)
        }

        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw JSONError(.numberOutOfRange, "number out of range for a double", offset: start)
        }
        return .number(value)
    }

    private func requireDigit(at position: Int, _ context: String) throws(JSONError) {
        guard position < bytes.count else { throw .endOfInput(at: position, context) }
        guard Self.isDigit(bytes[position]) else {
            throw .unexpected(bytes[position], at: position, "\(context), expected a digit")
        }
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    /// 10^0 … 10^22, all exactly representable as Doubles.
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
}
