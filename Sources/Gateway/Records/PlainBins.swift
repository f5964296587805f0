internal import HTTP
internal import JSON
internal import RESP

/// A write's bins: read from the body in one pass (`PlainBins`) when the body is plain,
/// otherwise parsed into a `JSONObject` and validated (`binsFromBody`). Both give the
/// store the same arguments and the response the same JSON.
enum WriteBins {
    case parsed(JSONObject)
    case plain(PlainBins)

    /// Members of the bins object, nulls included.
    var count: Int {
        switch self {
        case .parsed(let object): object.count
        case .plain(let plain): plain.members.count
        }
    }

    /// `{"bins": {…}}` from a PUT or POST body: the one-pass read when it applies, else the
    /// tree, which answers every malformed or unusual body with its errors.
    static func fromBody(_ request: HTTPRequest) throws(GatewayError) -> WriteBins {
        try RequestInput.requireJSONContentType(request)
        if let plain = PlainBins(body: request.body) { return .plain(plain) }
        return .parsed(try binsFromBody(try RequestInput.jsonObject(of: request), allowNull: true))
    }
}

/// A body `{"bins":{…}}` whose every token is already in the form `JSONWriter` writes,
/// found by one scan that keeps byte ranges into the body instead of building a tree:
/// bin names of 1–64 name bytes; values that are ASCII strings without escapes,
/// integers of up to 18 digits with no leading zero (`-0` excluded), `true`, `false`
/// or `null`. Whitespace between tokens is allowed (and left out of the copies). Any
/// other body, valid or not, is not plain: the `JSONValue` path reads it, so errors,
/// limits and canonical forms stay that path's.
struct PlainBins {
    /// One member of the bins object: ranges into `body`.
    struct Member {
        /// The name, between its quotes.
        let name: Range<Int>
        /// The value's JSON text.
        let value: Range<Int>
        let isNull: Bool
    }

    /// The request body the ranges point into.
    let body: [UInt8]
    let members: [Member]
    /// Members whose value is not null (the bins the write stores).
    let storedCount: Int
    /// The bins object's own range when it holds no whitespace and no null, so it is
    /// already the JSON the response shows; nil otherwise.
    let compactRange: Range<Int>?

    /// Nil when the body is not plain (the tree path then reads it).
    init?(body: [UInt8]) {
        guard body.count <= JSONLimits().maxBytes,
            let scanned = body.withUnsafeBufferPointer({ bytes in
                var scanner = Scanner(bytes: bytes)
                return scanner.document()
            })
        else { return nil }
        self.body = body
        members = scanned.members
        storedCount = scanned.members.reduce(0) { $1.isNull ? $0 : $0 + 1 }
        compactRange = scanned.compactRange
    }

    /// The non-null bins as `_b`'s text (`BinsBlob`), the bins as the response's JSON
    /// object, and the record's size (`b:<name>` and value of each bin, as limits count it).
    func blob() -> (blob: [UInt8], binsJSON: ArraySlice<UInt8>, size: Int) {
        var size = 0
        var blobSize = 0
        for member in members where !member.isNull {
            blobSize += BinsBlob.entrySize(nameCount: member.name.count, valueCount: member.value.count)
            size += BinName.fieldPrefixBytes.count + member.name.count + member.value.count
        }
        var blob: [UInt8] = []
        blob.reserveCapacity(blobSize)
        var assembled: [UInt8] = []
        if compactRange == nil {
            assembled.reserveCapacity(body.count)
            assembled.append(UInt8(ascii: "{"))
        }
        body.withUnsafeBufferPointer { bytes in
            for member in members where !member.isNull {
                let name = UnsafeBufferPointer(rebasing: bytes[member.name])
                let value = UnsafeBufferPointer(rebasing: bytes[member.value])
                BinsBlob.appendEntry(name: name, value: value, to: &blob)
                guard compactRange == nil else { continue }
                if assembled.count > 1 { assembled.append(UInt8(ascii: ",")) }
                assembled.append(UInt8(ascii: "\""))
                assembled.append(contentsOf: name)
                assembled.append(UInt8(ascii: "\""))
                assembled.append(UInt8(ascii: ":"))
                assembled.append(contentsOf: value)
            }
        }
        if let compactRange { return (blob, body[compactRange], size) }
        assembled.append(UInt8(ascii: "}"))
        return (blob, assembled[...], size)
    }

    /// The scan itself; every method returns nil (or false) at the first byte that is not plain.
    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        mutating func document() -> (members: [Member], compactRange: Range<Int>?)? {
            guard take(UInt8(ascii: "{")), takeBinsKey(), take(UInt8(ascii: ":")), take(UInt8(ascii: "{")) else {
                return nil
            }
            let binsStart = position - 1
            var members: [Member] = []
            members.reserveCapacity(8)
            var canonicalCount = 2
            var hasNull = false
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
            } else {
                while true {
                    guard members.count < RecordService.maxBinsPerRecord, let member = self.member(),
                        isNew(member.name, among: members)
                    else { return nil }
                    if !members.isEmpty { canonicalCount += 1 }
                    canonicalCount += member.name.count + 3 + member.value.count
                    hasNull = hasNull || member.isNull
                    members.append(member)
                    if take(UInt8(ascii: ",")) { continue }
                    guard take(UInt8(ascii: "}")) else { return nil }
                    break
                }
            }
            let binsRange = binsStart..<position
            guard take(UInt8(ascii: "}")) else { return nil }
            skipWhitespace()
            guard position == bytes.count else { return nil }
            return (members, !hasNull && binsRange.count == canonicalCount ? binsRange : nil)
        }

        /// `"name": value`, whitespace before each token.
        private mutating func member() -> Member? {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
            let start = position + 1
            var end = start
            while end < bytes.count, BinName.isNameByte(bytes[end]) { end += 1 }
            guard end < bytes.count, bytes[end] == UInt8(ascii: "\""), end > start, end - start <= BinName.maxLength
            else { return nil }
            position = end + 1
            guard take(UInt8(ascii: ":")) else { return nil }
            skipWhitespace()
            guard let (value, isNull) = value() else { return nil }
            return Member(name: start..<end, value: value, isNull: isNull)
        }

        private mutating func value() -> (Range<Int>, isNull: Bool)? {
            guard position < bytes.count else { return nil }
            let start = position
            switch bytes[start] {
            case UInt8(ascii: "\""):
                let end = JSONUTF8.endOfPlainRun(bytes, from: start + 1, stopAtNonASCII: true)
                guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
                position = end + 1
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard integer() else { return nil }
            case UInt8(ascii: "t"): guard literal("true") else { return nil }
            case UInt8(ascii: "f"): guard literal("false") else { return nil }
            case UInt8(ascii: "n"):
                guard literal("null") else { return nil }
                return (start..<position, true)
            default: return nil
            }
            return (start..<position, false)
        }

        /// `-?(0|[1-9][0-9]{0,17})` not followed by a fraction or exponent; `-0` is not plain (it is written `0`).
        private mutating func integer() -> Bool {
            let negative = bytes[position] == UInt8(ascii: "-")
            let digitsStart = negative ? position + 1 : position
            var end = digitsStart
            while end < bytes.count, bytes[end] &- UInt8(ascii: "0") < 10 { end += 1 }
            let digits = end - digitsStart
            guard digits >= 1, digits <= 18 else { return false }
            if bytes[digitsStart] == UInt8(ascii: "0"), digits > 1 || negative { return false }
            if end < bytes.count, bytes[end] == UInt8(ascii: ".") || bytes[end] | 0x20 == UInt8(ascii: "e") {
                return false
            }
            position = end
            return true
        }

        private mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard bytes.count - position >= count else { return false }
            for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] { return false }
            position += count
            return true
        }

        /// `"bins"`, exactly (a key spelled with escapes is not plain).
        private mutating func takeBinsKey() -> Bool {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return false }
            position += 1
            return literal("bins\"")
        }

        /// No earlier member has this name (compared as bytes: plain names are ASCII).
        private func isNew(_ name: Range<Int>, among members: [Member]) -> Bool {
            for member in members where member.name.count == name.count {
                var offset = 0
                while offset < name.count, bytes[name.lowerBound + offset] == bytes[member.name.lowerBound + offset] {
                    offset += 1
                }
                if offset == name.count { return false }
            }
            return true
        }

        /// Whitespace, then `byte`.
        private mutating func take(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        private mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
        }
    }
}
