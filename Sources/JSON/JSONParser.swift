/// Strict RFC 8259 parser with `JSONLimits`; see the design notes in JSONValue.swift.
///
/// Every entry point checks `maxBytes` first, then parses one contiguous buffer in
/// a single pass. Errors carry the byte offset where they were detected.
package enum JSONParser {
    /// Parses one JSON document (any value at top level, surrounding whitespace allowed).
    package static func parse(_ bytes: [UInt8], limits: JSONLimits = JSONLimits()) throws(JSONError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { parse(buffer: $0, limits: limits) }.get()
    }

    /// Parses one JSON document from raw memory.
    package static func parse(
        _ bytes: UnsafeRawBufferPointer, limits: JSONLimits = JSONLimits()
    ) throws(JSONError) -> JSONValue {
        try bytes.withMemoryRebound(to: UInt8.self) { parse(buffer: $0, limits: limits) }.get()
    }

    /// Parses one JSON document from any byte collection (copied once if it is not contiguous).
    package static func parse(
        _ bytes: some Collection<UInt8>, limits: JSONLimits = JSONLimits()
    ) throws(JSONError) -> JSONValue {
        if bytes.count > limits.maxBytes { return try tooLarge(bytes.count, limits).get() }
        if let result = bytes.withContiguousStorageIfAvailable({ parse(buffer: $0, limits: limits) }) {
            return try result.get()
        }
        return try parse(Array(bytes), limits: limits)
    }

    /// Parses one JSON document from the UTF-8 of `text`.
    package static func parse(_ text: String, limits: JSONLimits = JSONLimits()) throws(JSONError) -> JSONValue {
        var text = text
        return try text.withUTF8 { parse(buffer: $0, limits: limits) }.get()
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>, limits: JSONLimits) -> Result<JSONValue, JSONError> {
        if buffer.count > limits.maxBytes { return tooLarge(buffer.count, limits) }
        return Result { () throws(JSONError) in
            var reader = Reader(bytes: buffer, limits: limits)
            return try reader.document()
        }
    }

    private static func tooLarge(_ count: Int, _ limits: JSONLimits) -> Result<JSONValue, JSONError> {
        .failure(
            JSONError(
                .inputTooLarge, "input of \(count) bytes is over the limit of \(limits.maxBytes)",
                offset: limits.maxBytes))
    }
}

extension JSONParser {
    /// The state of one parse: the input, the read position, the current depth
    /// and a reusable buffer for decoding strings with escapes.
    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        let limits: JSONLimits
        var offset = 0
        var depth = 0
        var scratch: [UInt8] = []

        init(bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
            self.bytes = bytes
            self.limits = limits
        }

        /// The whole input: whitespace, one value, whitespace, end.
        mutating func document() throws(JSONError) -> JSONValue {
            skipWhitespace()
            let value = try value()
            skipWhitespace()
            if offset < bytes.count { throw .unexpected(bytes[offset], at: offset, "after the value") }
            return value
        }

        /// One value starting at `offset` (whitespace already skipped).
        mutating func value() throws(JSONError) -> JSONValue {
            guard offset < bytes.count else { throw .endOfInput(at: offset, "where a value was expected") }
            switch bytes[offset] {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case let byte: throw .unexpected(byte, at: offset)
            }
        }

        private mutating func array() throws(JSONError) -> JSONValue {
            try enterContainer()
            skipWhitespace()
            var elements: [JSONValue] = []
            if try peek("an array element or ']'") == UInt8(ascii: "]") {
                offset += 1
                depth -= 1
                return .array(elements)
            }
            while true {
                if elements.count == limits.maxElements {
                    throw JSONError(
                        .tooManyElements, "array with more than \(limits.maxElements) elements", offset: offset)
                }
                elements.append(try value())
                skipWhitespace()
                switch try peek("in an array") {
                case UInt8(ascii: ","):
                    offset += 1
                    skipWhitespace()
                case UInt8(ascii: "]"):
                    offset += 1
                    depth -= 1
                    return .array(elements)
                case let byte:
                    throw .unexpected(byte, at: offset, "in an array, expected ',' or ']'")
                }
            }
        }

        private mutating func object() throws(JSONError) -> JSONValue {
            try enterContainer()
            skipWhitespace()
            var members = JSONObject()
            if try peek("an object key or '}'") == UInt8(ascii: "}") {
                offset += 1
                depth -= 1
                return .object(members)
            }
            while true {
                let keyOffset = offset
                let byte = try peek("where an object key was expected")
                guard byte == UInt8(ascii: "\"") else {
                    throw .unexpected(byte, at: offset, "where an object key was expected")
                }
                if members.count == limits.maxElements {
                    throw JSONError(
                        .tooManyElements, "object with more than \(limits.maxElements) members", offset: offset)
                }
                let key = try string()
                skipWhitespace()
                let colon = try peek("after an object key")
                guard colon == UInt8(ascii: ":") else {
                    throw .unexpected(colon, at: offset, "after an object key, expected ':'")
                }
                offset += 1
                skipWhitespace()
                let member = try value()
                guard members.insertNew(key, member) else { throw .duplicateKey(key, at: keyOffset) }
                skipWhitespace()
                switch try peek("in an object") {
                case UInt8(ascii: ","):
                    offset += 1
                    skipWhitespace()
                case UInt8(ascii: "}"):
                    offset += 1
                    depth -= 1
                    return .object(members)
                case let byte:
                    throw .unexpected(byte, at: offset, "in an object, expected ',' or '}'")
                }
            }
        }

        /// Steps over `[` or `{` and counts the level against `maxDepth`.
        private mutating func enterContainer() throws(JSONError) {
            if depth == limits.maxDepth {
                throw JSONError(.tooDeep, "nesting deeper than \(limits.maxDepth) levels", offset: offset)
            }
            depth += 1
            offset += 1
        }

        /// The byte at `offset`, or an end-of-input error naming what was expected.
        @inline(__always)
        private func peek(_ expected: @autoclosure () -> String) throws(JSONError) -> UInt8 {
            guard offset < bytes.count else { throw .endOfInput(at: offset, expected()) }
            return bytes[offset]
        }

        /// Consumes `true`, `false` or `null`, whose first byte is already known to match.
        private mutating func literal(_ word: StaticString) throws(JSONError) {
            for expected in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
                guard offset < bytes.count else { throw .endOfInput(at: offset, "in '\(word)'") }
                guard bytes[offset] == expected else { throw .unexpected(bytes[offset], at: offset, "in '\(word)'") }
                offset += 1
            }
        }

        /// Skips JSON whitespace: space, tab, line feed, carriage return.
        @inline(__always)
        mutating func skipWhitespace() {
            while offset < bytes.count {
                switch bytes[offset] {
                case 0x20, 0x0A, 0x0D, 0x09: offset += 1
                default: return
                }
            }
        }
    }
}
