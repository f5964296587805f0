internal import RESP

/// FuzzRESP: the RESP decoder on arbitrary bytes fed in fuzzer-chosen chunks. Input:
/// byte 0 picks the limits (bit 0: tight) and the chunk size (bits 1–7, plus 1); the
/// rest is the stream. The replies and the error must be those of one-shot feeding, the
/// error must be sticky, and every reply must respect the limits.
package enum RESPCheck {
    static let tight = RESPLimits(maxBulkLength: 64, maxElements: 8, maxDepth: 4, maxInlineLength: 32)

    package static func check(_ input: [UInt8]) throws(FuzzFailure) {
        guard let control = input.first else { return }
        let limits = control & 1 == 1 ? Self.tight : RESPLimits()
        let chunkSize = Int(control >> 1) + 1
        let stream = Array(input.dropFirst())

        let whole = decode(stream, limits: limits, chunkSize: max(stream.count, 1))
        let chunked = decode(stream, limits: limits, chunkSize: chunkSize)
        try require(
            whole.values.count == chunked.values.count && zip(whole.values, chunked.values).allSatisfy(same),
            "chunks of \(chunkSize) gave other replies: \(whole.values.count) vs \(chunked.values.count)")
        try require(
            whole.error == chunked.error,
            "chunks of \(chunkSize) gave another error: \(String(describing: whole.error)) vs \(String(describing: chunked.error))"
        )
        try require(whole.sticky && chunked.sticky, "an error was not repeated by the next call")
        for value in whole.values { try checkBounds(value, limits: limits, depth: 0) }
        if whole.error == nil {
            try require(whole.buffered <= stream.count, "decoder holds \(whole.buffered) of \(stream.count) bytes")
        }
    }

    struct Outcome {
        var values: [RESPValue] = []
        var error: RESPDecodeError?
        var sticky = true
        var buffered = 0
    }

    static func decode(_ stream: [UInt8], limits: RESPLimits, chunkSize: Int) -> Outcome {
        var decoder = RESPDecoder(limits: limits)
        var outcome = Outcome()
        var start = 0
        repeat {
            let end = min(start + chunkSize, stream.count)
            decoder.feed(Array(stream[start..<end]))
            start = end
            do {
                while let value = try decoder.next() { outcome.values.append(value) }
            } catch {
                outcome.error = error
                do {
                    _ = try decoder.next()
                    outcome.sticky = false
                } catch let again {
                    outcome.sticky = again == error
                }
                return outcome
            }
        } while start < stream.count
        outcome.buffered = decoder.bufferedByteCount
        return outcome
    }

    static func checkBounds(_ value: RESPValue, limits: RESPLimits, depth: Int) throws(FuzzFailure) {
        func children(_ elements: [RESPValue]) throws(FuzzFailure) {
            try require(
                depth + 1 <= limits.maxDepth, "aggregate at depth \(depth + 1) over maxDepth \(limits.maxDepth)")
            try require(elements.count <= limits.maxElements, "\(elements.count) elements over the limit")
            for element in elements { try checkBounds(element, limits: limits, depth: depth + 1) }
        }
        switch value {
        case .simpleString(let text), .error(let text), .bigNumber(let text):
            // Bulk errors (`!`) also decode to `.error`, so errors may be as long as a bulk. Scalars,
            // not UTF-8: a byte that is not UTF-8 becomes U+FFFD (three bytes).
            let length = text.unicodeScalars.count
            try require(length <= max(limits.maxInlineLength, limits.maxBulkLength), "line of \(length) bytes")
        case .bulkString(let data?):
            try require(data.count <= limits.maxBulkLength, "bulk of \(data.count) bytes over the limit")
        case .verbatim(let format, let text):
            try require(format.utf8.count + 1 + text.count <= limits.maxBulkLength, "verbatim over the limit")
        case .array(let elements?), .set(let elements), .push(let elements):
            try children(elements)
        case .map(let pairs):
            try require(depth + 1 <= limits.maxDepth, "map at depth \(depth + 1) over maxDepth \(limits.maxDepth)")
            try require(pairs.count <= limits.maxElements, "\(pairs.count) pairs over the limit")
            for pair in pairs {
                try checkBounds(pair.key, limits: limits, depth: depth + 1)
                try checkBounds(pair.value, limits: limits, depth: depth + 1)
            }
        case .bulkString(nil), .array(nil), .null, .boolean, .integer, .double, .encodedArray:
            break
        }
    }

    /// Structural equality in which NaN equals NaN (a decoded `,nan` is a valid reply).
    static func same(_ a: RESPValue, _ b: RESPValue) -> Bool {
        switch (a, b) {
        case (.double(let x), .double(let y)): return x == y || (x.isNaN && y.isNaN)
        case (.array(let x?), .array(let y?)), (.set(let x), .set(let y)), (.push(let x), .push(let y)):
            return x.count == y.count && zip(x, y).allSatisfy(same)
        case (.map(let x), .map(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { same($0.key, $1.key) && same($0.value, $1.value) }
        default: return a == b
        }
    }
}
