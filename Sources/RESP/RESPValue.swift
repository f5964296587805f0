/// One reply from a Redis server, RESP2 or RESP3.
///
/// RESP2 nulls keep their RESP2 spelling (`.bulkString(nil)`, `.array(nil)`); RESP3 servers send
/// `.null`. `isNull` treats all three alike. RESP3 bulk errors (`!`) decode to `.error`, and
/// attributes (`|`) are skipped by the decoder, so they never appear here.
package enum RESPValue: Equatable, Sendable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString([UInt8]?)
    case array([RESPValue]?)
    case null
    case boolean(Bool)
    /// Includes `inf`, `-inf` and `nan`; note that `.double(.nan) != .double(.nan)`, as for `Double`.
    case double(Double)
    /// The decimal digits as sent, with an optional leading sign.
    case bigNumber(String)
    /// `format` is the three-letter type, such as `txt` or `mkd`.
    case verbatim(format: String, text: [UInt8])
    case map([RESPPair])
    case set([RESPValue])
    case push([RESPValue])
    /// An array reply kept as the bytes it arrived in (`*` header included), for a caller that
    /// asked the decoder not to build it (`next(keepingArraysEncoded:)`); read it with `RESPReader`.
    case encodedArray([UInt8])
}

/// One key-value entry of a RESP3 map, in the order the server sent it.
package struct RESPPair: Equatable, Sendable {
    package var key: RESPValue
    package var value: RESPValue

    package init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    package var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// `.null`, `.bulkString(nil)` and `.array(nil)`.
    package var isNull: Bool {
        switch self {
        case .null, .bulkString(nil), .array(nil): return true
        default: return false
        }
    }

    /// The text of a simple string, bulk string or verbatim string; nil for other kinds and for
    /// bytes that are not valid UTF-8.
    package var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes?): return String(validating: bytes, as: UTF8.self)
        case .verbatim(_, let text): return String(validating: text, as: UTF8.self)
        default: return nil
        }
    }

    /// The value of an integer reply only; numbers sent as bulk strings stay strings.
    package var int: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The raw bytes of a bulk string, simple string or verbatim string.
    package var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes?): return bytes
        case .simpleString(let text): return Array(text.utf8)
        case .verbatim(_, let text): return text
        default: return nil
        }
    }

    /// The elements of an array, set or push (RESP3 sends sets where RESP2 sent arrays).
    package var array: [RESPValue]? {
        switch self {
        case .array(let elements?), .set(let elements), .push(let elements): return elements
        default: return nil
        }
    }
}
