/// Walks a reply kept as bytes (`RESPValue.encodedArray`) one element at a time, handing
/// out bulk strings as ranges of those bytes instead of building values. RESP2 only (what
/// the store speaks on the data path): any other type byte, like anything malformed, ends
/// the walk with nil, which the caller treats as an unexpected reply.
package struct RESPReader {
    package enum Element: Equatable {
        /// An array header and its element count; nil for a null array.
        case array(Int?)
        /// A bulk string's bytes; nil for a null bulk string.
        case bulk(Range<Int>?)
        case integer(Int64)
        case simpleString(Range<Int>)
        case error(Range<Int>)
    }

    package let bytes: [UInt8]
    /// Where the next element starts.
    package private(set) var index: Int

    package init(_ bytes: [UInt8], at index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    /// The element at `index`, which then moves past it (past an array's header only).
    package mutating func next() -> Element? {
        guard index < bytes.count, let lineEnd = lineEnd(from: index + 1) else { return nil }
        let type = bytes[index]
        let line = (index + 1)..<lineEnd
        index = lineEnd + 2
        switch type {
        case UInt8(ascii: "$"):
            guard let length = number(line) else { return nil }
            if length < 0 { return .bulk(nil) }
            let end = index + Int(length)
            guard end + 2 <= bytes.count else { return nil }
            let range = index..<end
            index = end + 2
            return .bulk(range)
        case UInt8(ascii: "*"):
            guard let count = number(line) else { return nil }
            return .array(count < 0 ? nil : Int(count))
        case UInt8(ascii: ":"):
            return number(line).map(Element.integer)
        case UInt8(ascii: "+"):
            return .simpleString(line)
        case UInt8(ascii: "-"):
            return .error(line)
        default:
            return nil
        }
    }

    /// Like `next`, but an array comes back with its elements (nested ones too) skipped.
    package mutating func nextSkippingContents() -> Element? {
        let element = next()
        guard case .array(let count?)? = element else { return element }
        var left = count
        while left > 0 {
            guard let inner = next() else { return nil }
            left -= 1
            if case .array(let nested?) = inner { left += nested }
        }
        return element
    }

    /// The text of an error or simple string range.
    package func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    private func lineEnd(from start: Int) -> Int? {
        var position = start
        while position + 1 < bytes.count {
            if bytes[position] == UInt8(ascii: "\r") { return position }
            position += 1
        }
        return nil
    }

    /// An optionally negative decimal; nil when it is not one or overflows.
    private func number(_ line: Range<Int>) -> Int64? {
        var position = line.lowerBound
        let negative = position < line.upperBound && bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        guard position < line.upperBound else { return nil }
        var value: Int64 = 0
        while position < line.upperBound {
            let digit = bytes[position] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) =
                negative ? times10.subtractingReportingOverflow(Int64(digit)) : times10.addingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            position += 1
        }
        return value
    }
}
