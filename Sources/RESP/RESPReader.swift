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
        bytes.withUnsafeBufferPointer { Self.next(in: $0, at: &index) }
    }

    /// Like `next`, but an array comes back with its elements (nested ones too) skipped.
    package mutating func nextSkippingContents() -> Element? {
        bytes.withUnsafeBufferPointer { Self.nextSkippingContents(in: $0, at: &index) }
    }

    /// `next` over bytes the caller holds: reads the element at `index` and moves past it.
    package static func next(in bytes: UnsafeBufferPointer<UInt8>, at index: inout Int) -> Element? {
        guard let read = element(in: bytes, at: index) else { return nil }
        index = read.next
        return read.element
    }

    /// `nextSkippingContents` over bytes the caller holds.
    package static func nextSkippingContents(in bytes: UnsafeBufferPointer<UInt8>, at index: inout Int) -> Element? {
        let element = next(in: bytes, at: &index)
        guard case .array(let count?)? = element else { return element }
        var left = count
        while left > 0 {
            guard let inner = next(in: bytes, at: &index) else { return nil }
            left -= 1
            if case .array(let nested?) = inner { left += nested }
        }
        return element
    }

    private static func element(in bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> (element: Element, next: Int)? {
        guard start < bytes.count else { return nil }
        if let bulk = plainBulk(in: bytes, at: start) { return bulk }
        var lineEnd = start + 1
        while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\r") { lineEnd += 1 }
        guard lineEnd + 1 < bytes.count else { return nil }
        let line = (start + 1)..<lineEnd
        let next = lineEnd + 2
        switch bytes[start] {
        case UInt8(ascii: "$"):
            guard let length = number(bytes, line) else { return nil }
            if length < 0 { return (.bulk(nil), next) }
            let end = next + Int(length)
            guard end + 2 <= bytes.count else { return nil }
            return (.bulk(next..<end), end + 2)
        case UInt8(ascii: "*"):
            guard let count = number(bytes, line) else { return nil }
            return (.array(count < 0 ? nil : Int(count)), next)
        case UInt8(ascii: ":"):
            guard let value = number(bytes, line) else { return nil }
            return (.integer(value), next)
        case UInt8(ascii: "+"):
            return (.simpleString(line), next)
        case UInt8(ascii: "-"):
            return (.error(line), next)
        default:
            return nil
        }
    }

    /// The common element, a bulk string with a plain length, read in one pass over its
    /// length; nil for anything else (a null, a partial element), which `element` reads.
    private static func plainBulk(in bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> (element: Element, next: Int)?
    {
        var next = start
        guard let range = plainBulk(in: bytes, at: &next) else { return nil }
        return (.bulk(range), next)
    }

    /// The bulk string with a plain length at `index`, its bytes' range, with `index`
    /// moved past it; nil (and `index` unchanged) for any other element, which `next`
    /// reads. Inlinable: a caller walking a reply of bulk strings (a hash's fields and
    /// values) reads each in a few instructions, without a call per element.
    @inlinable
    @inline(__always)
    package static func plainBulk(in bytes: UnsafeBufferPointer<UInt8>, at index: inout Int) -> Range<Int>? {
        let start = index
        guard start < bytes.count, bytes[start] == UInt8(ascii: "$") else { return nil }
        var position = start + 1
        var length = 0
        let digitsEnd = min(bytes.count, position + 18)
        while position < digitsEnd {
            let digit = bytes[position] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            length = length * 10 + Int(digit)
            position += 1
        }
        guard position > start + 1, position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\r") else {
            return nil
        }
        let dataStart = position + 2
        let end = dataStart + length
        guard end + 2 <= bytes.count else { return nil }
        index = end + 2
        return dataStart..<end
    }

    /// The text of an error or simple string range.
    package func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    /// An optionally negative decimal; nil when it is not one or overflows.
    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) -> Int64? {
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
                negative
                ? times10.subtractingReportingOverflow(Int64(digit)) : times10.addingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            position += 1
        }
        return value
    }
}
