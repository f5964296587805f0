/// One element read from the front of the buffer: a finished scalar, or the header of an aggregate
/// whose elements follow.
enum RESPElement {
    case value(RESPValue)
    case aggregateHeader(Aggregate.Kind, count: Int)
}

private let cr = UInt8(ascii: "\r")
private let lf = UInt8(ascii: "\n")

/// Length, count, integer, boolean and null lines are short; a longer one is garbage, and is
/// rejected without waiting for up to `maxInlineLength` bytes of it.
private let shortLineLimit = 32

extension RESPDecoder {
    /// Parses the element at `readIndex` and consumes it. Returns nil, consuming nothing, when it is
    /// incomplete; `bytesNeeded` then says how much must be buffered before trying again.
    mutating func parseElement() throws(RESPDecodeError) -> RESPElement? {
        let type = buffer[readIndex]
        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ","), UInt8(ascii: "("):
            guard let line = try nextLine(limit: limits.maxInlineLength, tooLong: .lineTooLong(limits.maxInlineLength))
            else { return nil }
            // Inside an array kept encoded, simple strings and errors need no text.
            let skipsText = encodedStart != nil && (type == UInt8(ascii: "+") || type == UInt8(ascii: "-"))
            let value = skipsText ? .null : try inlineValue(type: type, line: line)
            consume(upTo: line.upperBound + 2)
            return .value(value)
        case UInt8(ascii: ":"), UInt8(ascii: "#"), UInt8(ascii: "_"):
            guard let line = try nextLine(limit: shortLineLimit, tooLong: .protocolError("malformed scalar"))
            else { return nil }
            let value = try shortValue(type: type, line: line)
            consume(upTo: line.upperBound + 2)
            return .value(value)
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            return try blob(type: type)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: "%"), UInt8(ascii: ">"), UInt8(ascii: "|"):
            return try aggregateHeader(type: type)
        default:
            throw .protocolError("unknown type byte \(type)")
        }
    }

    /// `+OK` and `+QUEUED` at top level (what MULTI and each command it queues answer),
    /// matched whole, without a line scan or decoding the text; nil for anything else.
    mutating func commonStatusReply() -> RESPValue? {
        guard buffer[readIndex] == UInt8(ascii: "+") else { return nil }
        if matches(Self.okReply) {
            consume(upTo: readIndex + Self.okReply.count)
            return .simpleString("OK")
        }
        if matches(Self.queuedReply) {
            consume(upTo: readIndex + Self.queuedReply.count)
            return .simpleString("QUEUED")
        }
        return nil
    }

    private static let okReply: [UInt8] = Array("+OK\r\n".utf8)
    private static let queuedReply: [UInt8] = Array("+QUEUED\r\n".utf8)

    private func matches(_ reply: [UInt8]) -> Bool {
        guard buffer.count - readIndex >= reply.count else { return false }
        for offset in 1..<reply.count where buffer[readIndex + offset] != reply[offset] { return false }
        return true
    }

    /// Inside an array kept encoded: skips complete bulk strings and unsigned integers from
    /// `readIndex` on, at most `limit` (what the innermost open aggregate still holds), in
    /// one tight pass, and returns how many (the caller counts them). Stops, consuming
    /// nothing more, at anything else (other types, signs, nulls, long or partial
    /// elements, malformed bytes), which `parseElement` then handles, errors included;
    /// what this accepts it accepts too.
    mutating func skipPlainEncodedElements(upTo limit: Int) -> Int {
        let maxBulkLength = limits.maxBulkLength
        let start = readIndex
        var skipped = 0
        let next = buffer.withUnsafeBufferPointer { bytes in
            var index = start
            while skipped < limit, let next = Self.plainElementEnd(in: bytes, at: index, maxBulkLength: maxBulkLength) {
                index = next
                skipped += 1
            }
            return index
        }
        if skipped > 0 { consume(upTo: next) }
        return skipped
    }

    /// Where the whole bulk string or integer at `start` ends (past its CRLF); nil for
    /// any other element, one not all buffered, or a bulk string over `maxBulkLength`.
    @inline(__always)
    private static func plainElementEnd(in bytes: UnsafeBufferPointer<UInt8>, at start: Int, maxBulkLength: Int)
        -> Int?
    {
        let count = bytes.count
        guard start < count else { return nil }
        let type = bytes[start]
        guard type == UInt8(ascii: "$") || type == UInt8(ascii: ":") else { return nil }
        let digitsStart = start + 1
        var index = digitsStart
        var value = 0
        let digitsEnd = min(count, digitsStart + 18)
        while index < digitsEnd {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            value = value * 10 + Int(digit)
            index += 1
        }
        guard index > digitsStart, index + 1 < count, bytes[index] == cr, bytes[index + 1] == lf else { return nil }
        index += 2
        if type == UInt8(ascii: "$") {
            guard value <= maxBulkLength else { return nil }
            let end = index + value
            guard end + 2 <= count, bytes[end] == cr, bytes[end + 1] == lf else { return nil }
            index = end + 2
        }
        return index
    }

    private mutating func consume(upTo index: Int) {
        readIndex = index
        bytesNeeded = 0
        lineScanOffset = 0
    }

    /// The content of the line at `readIndex` (after the type byte, before CRLF), or nil if its end
    /// has not arrived. The scan resumes where the last call stopped, so a long line that arrives in
    /// small pieces is scanned once. A line is judged by its first CR or LF alone, whatever the
    /// chunking: past `limit` bytes it is too long, a lone LF or a CR without LF is an error.
    private mutating func nextLine(limit: Int, tooLong: RESPDecodeError) throws(RESPDecodeError) -> Range<Int>? {
        let contentStart = readIndex + 1
        let lastAllowedCR = contentStart + min(limit, 1 << 48)
        let scanEnd = min(buffer.count, lastAllowedCR + 1)
        var index = readIndex + max(1, lineScanOffset)
        while index < scanEnd {
            switch buffer[index] {
            case cr:
                guard index + 1 < buffer.count else {
                    lineScanOffset = index - readIndex
                    bytesNeeded = index + 2 - readIndex
                    return nil
                }
                guard buffer[index + 1] == lf else { throw .protocolError("CR not followed by LF") }
                return contentStart..<index
            case lf:
                throw .protocolError("bare LF")
            default:
                index += 1
            }
        }
        if index > lastAllowedCR { throw tooLong }
        lineScanOffset = index - readIndex
        bytesNeeded = index + 1 - readIndex
        return nil
    }

    private func inlineValue(type: UInt8, line: Range<Int>) throws(RESPDecodeError) -> RESPValue {
        switch type {
        case UInt8(ascii: "+"): return .simpleString(text(line))
        case UInt8(ascii: "-"): return .error(text(line))
        case UInt8(ascii: ","): return .double(try double(line))
        default: return .bigNumber(try bigNumber(line))
        }
    }

    private func shortValue(type: UInt8, line: Range<Int>) throws(RESPDecodeError) -> RESPValue {
        switch type {
        case UInt8(ascii: ":"):
            return .integer(try integer(line))
        case UInt8(ascii: "#"):
            guard line.count == 1 else { throw .protocolError("malformed boolean") }
            switch buffer[line.lowerBound] {
            case UInt8(ascii: "t"): return .boolean(true)
            case UInt8(ascii: "f"): return .boolean(false)
            default: throw .protocolError("malformed boolean")
            }
        default:
            guard line.isEmpty else { throw .protocolError("malformed null") }
            return .null
        }
    }

    /// `$` bulk string, `!` bulk error or `=` verbatim string: a length line, then that many bytes and CRLF.
    private mutating func blob(type: UInt8) throws(RESPDecodeError) -> RESPElement? {
        guard let line = try nextLine(limit: shortLineLimit, tooLong: .protocolError("malformed length"))
        else { return nil }
        guard let length = try length(line, allowsNull: type == UInt8(ascii: "$")) else {
            consume(upTo: line.upperBound + 2)
            return .value(.bulkString(nil))
        }
        guard length <= min(limits.maxBulkLength, 1 << 48) else { throw .bulkTooLong(length) }
        let isVerbatim = type == UInt8(ascii: "=")
        if isVerbatim && length < 4 { throw .protocolError("malformed verbatim string") }

        let dataStart = line.upperBound + 2
        let dataEnd = dataStart + length
        guard buffer.count >= dataEnd + 2 else {
            bytesNeeded = dataEnd + 2 - readIndex
            return nil
        }
        guard buffer[dataEnd] == cr, buffer[dataEnd + 1] == lf else {
            throw .protocolError("bulk data not followed by CRLF")
        }

        let value: RESPValue
        if encodedStart != nil {
            // Inside an array kept encoded: checked, not copied.
            if isVerbatim, buffer[dataStart + 3] != UInt8(ascii: ":") {
                throw .protocolError("malformed verbatim string")
            }
            value = .null
        } else if isVerbatim {
            guard buffer[dataStart + 3] == UInt8(ascii: ":") else { throw .protocolError("malformed verbatim string") }
            value = .verbatim(format: text(dataStart..<dataStart + 3), text: Array(buffer[dataStart + 4..<dataEnd]))
        } else if type == UInt8(ascii: "!") {
            value = .error(text(dataStart..<dataEnd))
        } else {
            value = .bulkString(Array(buffer[dataStart..<dataEnd]))
        }
        consume(upTo: dataEnd + 2)
        return .value(value)
    }

    private mutating func aggregateHeader(type: UInt8) throws(RESPDecodeError) -> RESPElement? {
        guard let line = try nextLine(limit: shortLineLimit, tooLong: .protocolError("malformed length"))
        else { return nil }
        let kind: Aggregate.Kind
        switch type {
        case UInt8(ascii: "*"): kind = .array
        case UInt8(ascii: "~"): kind = .set
        case UInt8(ascii: "%"): kind = .map
        case UInt8(ascii: ">"): kind = .push
        default: kind = .attribute
        }
        guard let count = try length(line, allowsNull: kind == .array) else {
            consume(upTo: line.upperBound + 2)
            return .value(.array(nil))
        }
        guard count <= min(limits.maxElements, Int.max / 2) else { throw .tooManyElements(count) }
        guard open.count < limits.maxDepth else { throw .tooDeep(open.count + 1) }
        consume(upTo: line.upperBound + 2)
        return .aggregateHeader(kind, count: count)
    }

    /// Decimal digits, or `-1` (nil) where a null is allowed.
    private func length(_ line: Range<Int>, allowsNull: Bool) throws(RESPDecodeError) -> Int? {
        guard !line.isEmpty else { throw .protocolError("empty length") }
        if buffer[line.lowerBound] == UInt8(ascii: "-") {
            guard allowsNull, line.count == 2, buffer[line.lowerBound + 1] == UInt8(ascii: "1") else {
                throw .protocolError("negative length")
            }
            return nil
        }
        var value = 0
        for index in line {
            let digit = buffer[index] &- UInt8(ascii: "0")
            guard digit < 10 else { throw .protocolError("invalid length") }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(digit))
            guard !overflow1 && !overflow2 else { throw .protocolError("length out of range") }
            value = sum
        }
        return value
    }

    /// An optional sign and decimal digits that fit in Int64. Negative values are accumulated
    /// downwards so that Int64.min parses.
    private func integer(_ line: Range<Int>) throws(RESPDecodeError) -> Int64 {
        var index = line.lowerBound
        let negative = index < line.upperBound && buffer[index] == UInt8(ascii: "-")
        if index < line.upperBound && (negative || buffer[index] == UInt8(ascii: "+")) { index += 1 }
        guard index < line.upperBound else { throw .protocolError("malformed integer") }
        var value: Int64 = 0
        while index < line.upperBound {
            let digit = buffer[index] &- UInt8(ascii: "0")
            guard digit < 10 else { throw .protocolError("malformed integer") }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative
                ? times10.subtractingReportingOverflow(Int64(digit))
                : times10.addingReportingOverflow(Int64(digit))
            guard !overflow1 && !overflow2 else { throw .protocolError("integer out of range") }
            value = next
            index += 1
        }
        return value
    }

    private func double(_ line: Range<Int>) throws(RESPDecodeError) -> Double {
        let spelled = text(line)
        switch spelled {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: break
        }
        var sawDigit = false
        for index in line {
            switch buffer[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-"): break
            default: throw .protocolError("malformed double")
            }
        }
        guard sawDigit, let value = Double(spelled) else { throw .protocolError("malformed double") }
        return value
    }

    private func bigNumber(_ line: Range<Int>) throws(RESPDecodeError) -> String {
        var digits = line
        if let first = digits.first, buffer[first] == UInt8(ascii: "-") || buffer[first] == UInt8(ascii: "+") {
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ buffer[$0] &- UInt8(ascii: "0") < 10 }) else {
            throw .protocolError("malformed big number")
        }
        return text(line)
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: buffer[range], as: UTF8.self)
    }
}
