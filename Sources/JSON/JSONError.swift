/// Bounds on what `JSONParser` accepts; exceeding any of them is a `JSONError`
/// of a limit kind (`JSONError.isLimit`).
package struct JSONLimits: Sendable, Equatable {
    /// Deepest nesting of arrays and objects (a top-level `[]` is depth 1). Also
    /// the parser's recursion bound, so keep it modest.
    package var maxDepth: Int
    /// Largest input, in bytes, checked before parsing starts.
    package var maxBytes: Int
    /// Largest string or key, in decoded UTF-8 bytes.
    package var maxStringBytes: Int
    /// Most elements in one array, or members in one object.
    package var maxElements: Int

    package init(
        maxDepth: Int = 64, maxBytes: Int = 1 << 20, maxStringBytes: Int = 1 << 20, maxElements: Int = 100_000
    ) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
        self.maxStringBytes = maxStringBytes
        self.maxElements = maxElements
    }
}

/// Why a parse failed, with the byte offset where it was detected.
///
/// `description` reads like "unexpected character 'x' at offset 12"; it may quote
/// a little of the input (a duplicate key, escaped and cut to 32 characters).
package struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The category of the failure.
    package enum Kind: Equatable, Sendable {
        /// Not JSON: unexpected byte, unexpected end, malformed number or literal.
        case syntax
        /// A string with a raw control character, a bad escape or an unpaired surrogate.
        case invalidString
        /// Bytes that are not well-formed UTF-8.
        case invalidUTF8
        /// A key repeated within one object.
        case duplicateKey
        /// A number too large in magnitude for a Double.
        case numberOutOfRange
        /// Input longer than `JSONLimits.maxBytes`.
        case inputTooLarge
        /// Nesting deeper than `JSONLimits.maxDepth`.
        case tooDeep
        /// A container with more than `JSONLimits.maxElements` elements.
        case tooManyElements
        /// A string or key longer than `JSONLimits.maxStringBytes`.
        case stringTooLong
    }

    package var kind: Kind
    /// What went wrong, without the offset.
    package var message: String
    /// Byte offset into the input where the problem was detected.
    package var offset: Int

    package init(_ kind: Kind, _ message: String, offset: Int) {
        self.kind = kind
        self.message = message
        self.offset = offset
    }

    /// True for the kinds caused by `JSONLimits` rather than malformed input
    /// (an HTTP layer may answer these with 413 instead of 400).
    package var isLimit: Bool {
        switch kind {
        case .inputTooLarge, .tooDeep, .tooManyElements, .stringTooLong: true
        default: false
        }
    }

    package var description: String { "\(message) at offset \(offset)" }
}

extension JSONError {
    /// "unexpected character 'x'" for printable ASCII, else "unexpected byte 0xNN".
    static func unexpected(_ byte: UInt8, at offset: Int, _ context: String = "") -> JSONError {
        let what =
            (0x21...0x7E).contains(byte)
            ? "unexpected character '\(Character(Unicode.Scalar(byte)))'" : "unexpected byte \(hex(byte))"
        return JSONError(.syntax, context.isEmpty ? what : "\(what) \(context)", offset: offset)
    }

    static func endOfInput(at offset: Int, _ context: String = "") -> JSONError {
        JSONError(
            .syntax, context.isEmpty ? "unexpected end of input" : "unexpected end of input \(context)", offset: offset)
    }

    static func duplicateKey(_ key: String, at offset: Int) -> JSONError {
        var quoted: [UInt8] = []
        JSONWriter.appendString(String(key.prefix(32)), to: &quoted)
        let text = String(decoding: quoted, as: UTF8.self)
        return JSONError(.duplicateKey, "duplicate key \(text)\(key.count > 32 ? "…" : "")", offset: offset)
    }

    /// "0x" and two uppercase hex digits.
    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [0x30, 0x78, digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
    }
}
