internal import JSON
internal import RESP

#if canImport(Glibc)
internal import Glibc
#endif

/// A record as the API shows it: bins, generation and TTL (-1: never expires).
struct Record {
    var bins: JSONObject
    var generation: Int
    var ttl: Int

    /// `{"bins":{…},"generation":N,"ttl":T}` (with `"key"` first when given).
    func json(key: String? = nil) -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        if let key { pairs.append(("key", .string(key))) }
        pairs += [("bins", .object(bins)), ("generation", .integer(Int64(generation))), ("ttl", .integer(Int64(ttl)))]
        return .object(JSONObject(pairs))
    }

    /// Bins from a flat `field, value, …` reply (an HGETALL of the record, or a script's
    /// `b:<name>`, value pairs): `_b`'s bins when there is one, else the `b:` fields.
    static func bins(fromFlat reply: [RESPValue]) throws(GatewayError) -> JSONObject {
        var bins = JSONObject([])
        var index = 0
        while index + 1 < reply.count {
            defer { index += 2 }
            guard reply[index].bytes == BinsBlob.field, let blob = reply[index + 1].bytes else { continue }
            let wellFormed = try blob.withUnsafeBufferPointer { blob throws(GatewayError) in
                try BinsBlob.forEachEntry(in: blob) { name, value throws(GatewayError) in
                    let name = String(decoding: name, as: UTF8.self)
                    bins.set(name, try binValue(value, name: name))
                }
            }
            guard wellFormed else { throw GatewayError.storeReplyError("the record's bins are not well formed") }
            return bins
        }
        index = 0
        while index + 1 < reply.count {
            defer { index += 2 }
            guard let field = reply[index].string, field.hasPrefix(BinName.fieldPrefix),
                let text = reply[index + 1].bytes
            else { continue }
            let name = String(field.dropFirst(BinName.fieldPrefix.count))
            bins.set(name, try binValue(text, name: name))
        }
        return bins
    }

    static func binValue(_ text: [UInt8], name: String) throws(GatewayError) -> JSONValue {
        do {
            return try JSONParser.parse(text)
        } catch {
            throw GatewayError.storeReplyError("bin '\(name)' does not hold JSON")
        }
    }

    static func binValue(_ text: UnsafeBufferPointer<UInt8>, name: String) throws(GatewayError) -> JSONValue {
        do {
            return try JSONParser.parse(UnsafeRawBufferPointer(text))
        } catch {
            throw GatewayError.storeReplyError("bin '\(name)' does not hold JSON")
        }
    }
}

/// A record as one read found it: the hash's fields and values as stored (the bins in
/// `_b`, or for a record written before it as fields `b:<name>` → JSON text), its
/// generation and its TTL, all from one command (or, for a record in the old layout,
/// one transaction). Renders straight to JSON bytes for a
/// single read, or to a `Record` where a response nests it (batch, scan).
struct StoredRecord {
    let generation: Int
    let ttl: Int
    /// The reply as received, at the hash's values: HGETALL's (field, value, …) or
    /// HMGET's (`leadingValues` meta values, then one value per `selected` field).
    private let reply: RESPReader
    private let valueCount: Int
    private let leadingValues: Int
    private let selected: [[UInt8]]?
    /// `_b`'s value in `reply.bytes`; nil for a record whose bins are `b:` fields.
    private let blob: Range<Int>?

    /// What one HGETALL (or HMGET `_gen _exp …`) found.
    enum Lookup {
        case missing
        /// A record without `_exp` (written before it existed): its TTL is the key's, read again with `execReply`.
        case oldLayout
        case found(StoredRecord)
    }

    /// The fields a read's HMGET asks for before the selected bins.
    static let hmgetMetaFields: [[UInt8]] = [Array("_gen".utf8), Array("_exp".utf8), BinsBlob.field]

    /// From the reply to `RecordService.read`'s HGETALL (`selected` nil) or HMGET of
    /// `hmgetMetaFields` and the selected bins, kept encoded.
    static func lookup(plainReply: RESPValue, selected: [[UInt8]]?, nowMs: Int64) throws(GatewayError) -> Lookup {
        guard case .encodedArray(let bytes) = plainReply else { throw Self.unexpected }
        var reader = RESPReader(bytes)
        guard case .array(let count?)? = reader.next() else { throw Self.unexpected }
        let valuesStart = reader.index
        var generation: Int?
        var expiresAt: Int?
        var blob: Range<Int>?
        if selected != nil {
            guard count >= 3 else { throw Self.unexpected }
            if case .bulk(let range?)? = reader.nextSkippingContents() { generation = integer(reader.bytes[range]) }
            if case .bulk(let range?)? = reader.nextSkippingContents() { expiresAt = integer(reader.bytes[range]) }
            if case .bulk(let range?)? = reader.nextSkippingContents() { blob = range }
        } else {
            try bytes.withUnsafeBufferPointer { bytes throws(GatewayError) in
                var index = valuesStart
                var position = 0
                while position + 1 < count, generation == nil || expiresAt == nil || blob == nil {
                    position += 2
                    // HGETALL answers bulk strings only.
                    guard let field = RESPReader.plainBulk(in: bytes, at: &index),
                        let value = RESPReader.plainBulk(in: bytes, at: &index)
                    else { throw Self.unexpected }
                    guard bytes[field.lowerBound] == UInt8(ascii: "_") else { continue }
                    if field.count == 2 {
                        if bytes[field.lowerBound + 1] == UInt8(ascii: "b") { blob = value }
                        continue
                    }
                    guard field.count == 4 else { continue }
                    switch (bytes[field.lowerBound + 1], bytes[field.lowerBound + 2], bytes[field.lowerBound + 3]) {
                    case (UInt8(ascii: "g"), UInt8(ascii: "e"), UInt8(ascii: "n")):
                        generation = integer(UnsafeBufferPointer(rebasing: bytes[value]))
                    case (UInt8(ascii: "e"), UInt8(ascii: "x"), UInt8(ascii: "p")):
                        expiresAt = integer(UnsafeBufferPointer(rebasing: bytes[value]))
                    default: break
                    }
                }
            }
        }
        guard let generation else { return .missing }
        guard let expiresAt else { return .oldLayout }
        return .found(
            StoredRecord(
                generation: generation, ttl: RecordExpiry.ttl(expiresAtMs: Int64(expiresAt), nowMs: nowMs),
                reply: RESPReader(bytes, at: valuesStart), valueCount: count,
                leadingValues: selected == nil ? 0 : hmgetMetaFields.count, selected: selected, blob: blob))
    }

    private init(
        generation: Int, ttl: Int, reply: RESPReader, valueCount: Int, leadingValues: Int, selected: [[UInt8]]?,
        blob: Range<Int>?
    ) {
        self.generation = generation
        self.ttl = ttl
        self.reply = reply
        self.valueCount = valueCount
        self.leadingValues = leadingValues
        self.selected = selected
        self.blob = blob
    }

    /// From EXEC's reply to `RecordService.readOldLayout` (HGETALL or HMGET `_gen _b …`,
    /// then TTL), kept encoded: nil when there is no such record.
    init?(execReply: RESPValue, selected: [[UInt8]]?) throws(GatewayError) {
        guard case .encodedArray(let bytes) = execReply else { throw Self.unexpected }
        var reader = RESPReader(bytes)
        guard case .array(let partCount?)? = reader.next() else { throw Self.unexpected }
        // A command that failed inside the transaction (WRONGTYPE) answers its element with the error.
        var values: (index: Int, count: Int)?
        var generation: Int?
        var ttl: Int64?
        for part in 0..<partCount {
            switch reader.next() {
            case .error(let message)?:
                throw GatewayError.storeReplyError(reader.text(message))
            case .array(let count?)?:
                if part == 0 { values = (reader.index, count) }
                let source: GenerationSource =
                    part != 0 ? .nowhere : selected == nil ? .afterGenerationField : .firstValue
                let found = Self.skipValues(&reader, count: count, generationAt: source)
                if part == 0 { generation = found }
            case .integer(let value)? where part == 1:
                ttl = value
            case nil:
                throw Self.unexpected
            default:
                break
            }
        }
        guard partCount == 2, let values, let ttl else { throw Self.unexpected }
        guard let generation else { return nil }
        self.generation = generation
        self.ttl = Int(ttl)
        self.reply = RESPReader(bytes, at: values.index)
        self.valueCount = values.count
        self.leadingValues = 2
        self.selected = selected
        // A replace may have moved the bins into `_b` since the first read: then they are there.
        self.blob = Self.blobRange(in: RESPReader(bytes, at: values.index), count: values.count, selected: selected)
    }

    /// `_b`'s value among a transaction's HGETALL elements (field, value, …) or HMGET
    /// values (`_gen`, `_b`, …).
    private static func blobRange(in reader: RESPReader, count: Int, selected: [[UInt8]]?) -> Range<Int>? {
        var reader = reader
        if selected != nil {
            guard count >= 2 else { return nil }
            _ = reader.nextSkippingContents()
            guard case .bulk(let range?)? = reader.nextSkippingContents() else { return nil }
            return range
        }
        var position = 0
        while position + 1 < count {
            position += 2
            guard case .bulk(let field?)? = reader.nextSkippingContents(),
                case .bulk(let value?)? = reader.nextSkippingContents()
            else { continue }
            if reader.bytes[field].elementsEqual(BinsBlob.field) { return value }
        }
        return nil
    }

    /// Where a read's generation is among the values of EXEC's first part.
    private enum GenerationSource { case nowhere, firstValue, afterGenerationField }

    /// Moves `reader` past `count` elements and returns the generation among them, if
    /// `source` says where: HMGET's first value, or the value after HGETALL's first
    /// `_gen` field.
    private static func skipValues(_ reader: inout RESPReader, count: Int, generationAt source: GenerationSource)
        -> Int?
    {
        var generation: Int?
        var searching = source != .nowhere
        var position = 0
        while position < count {
            let element = reader.nextSkippingContents()
            defer { position += 1 }
            guard searching else { continue }
            switch source {
            case .firstValue:
                if case .bulk(let range?)? = element { generation = integer(reader.bytes[range]) }
                searching = false
            case .afterGenerationField where position % 2 == 0 && position + 1 < count:
                guard case .bulk(let range?)? = element, isGenerationField(reader.bytes, range) else {
                    continue
                }
                if case .bulk(let value?)? = reader.nextSkippingContents() { generation = integer(reader.bytes[value]) }
                position += 1
                searching = false
            default:
                break
            }
        }
        return generation
    }

    private static func isGenerationField(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        range.count == 4 && bytes[range.lowerBound] == UInt8(ascii: "_")
            && bytes[range.lowerBound + 1] == UInt8(ascii: "g")
            && bytes[range.lowerBound + 2] == UInt8(ascii: "e") && bytes[range.lowerBound + 3] == UInt8(ascii: "n")
    }

    private static let unexpected = GatewayError.storeReplyError("unexpected reply to a read")

    private static func integer(_ bytes: ArraySlice<UInt8>) -> Int? {
        bytes.withUnsafeBufferPointer { integer($0) }
    }

    private static func integer(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count < 19 else { return nil }
        var number = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            number = number * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return number
    }

    /// The bulk string at `index`, past it: a plain one read inline, anything else (a
    /// null, an integer) through `RESPReader` and nil.
    @inline(__always)
    private static func nextBulk(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> Range<Int>? {
        if let range = RESPReader.plainBulk(in: bytes, at: &index) { return range }
        guard case .bulk(let range?)? = RESPReader.nextSkippingContents(in: bytes, at: &index) else { return nil }
        return range
    }

    /// Calls `body` with each bin's name (its field without `b:`) and stored JSON text,
    /// in the record's order (the asked bins' order), both borrowed from the reply.
    private func forEachBin(
        _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) throws(GatewayError) -> Void
    ) throws(GatewayError) {
        // The closure sees locals, not `self` (which it would copy).
        let start = reply.index
        let selected = selected
        let leadingValues = leadingValues
        let valueCount = valueCount
        let blob = blob
        try reply.bytes.withUnsafeBufferPointer { bytes throws(GatewayError) in
            var index = start
            func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: bytes[range])
            }
            if let blob {
                let blob = slice(blob)
                var wellFormed = true
                if let selected {
                    for field in selected {
                        try field.withUnsafeBufferPointer { field throws(GatewayError) in
                            let wanted = UnsafeBufferPointer(rebasing: field.dropFirst(2))
                            var found: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>)?
                            wellFormed =
                                BinsBlob.forEachEntry(in: blob) { name, value in
                                    if found == nil, name.elementsEqual(wanted) { found = (name, value) }
                                } && wellFormed
                            if let found { try body(found.0, found.1) }
                        }
                    }
                } else {
                    wellFormed = try BinsBlob.forEachEntry(in: blob, body)
                }
                guard wellFormed else { throw GatewayError.storeReplyError("the record's bins are not well formed") }
                return
            }
            if let selected {
                for _ in 0..<leadingValues { _ = RESPReader.nextSkippingContents(in: bytes, at: &index) }
                for (position, field) in selected.enumerated() where position + leadingValues < valueCount {
                    guard case .bulk(let value?)? = RESPReader.nextSkippingContents(in: bytes, at: &index) else {
                        continue
                    }
                    try field.withUnsafeBufferPointer { field throws(GatewayError) in
                        try body(UnsafeBufferPointer(rebasing: field.dropFirst(2)), slice(value))
                    }
                }
                return
            }
            var position = 0
            while position + 1 < valueCount {
                position += 2
                let field = Self.nextBulk(bytes, &index)
                let value = Self.nextBulk(bytes, &index)
                guard let fieldRange = field, let valueRange = value, fieldRange.count > 2,
                    bytes[fieldRange.lowerBound] == UInt8(ascii: "b"),
                    bytes[fieldRange.lowerBound + 1] == UInt8(ascii: ":")
                else { continue }
                try body(slice(fieldRange.dropFirst(2)), slice(valueRange))
            }
        }
    }

    /// `{"bins":{…},"generation":N,"ttl":T}`, each bin's stored text copied when it is
    /// already canonical JSON, else parsed and rewritten (the text a parse would give).
    func appendJSON(to out: inout [UInt8]) throws(GatewayError) {
        if try writePlainJSON({ out.append(contentsOf: $0) }) { return }
        out.append(contentsOf: JSONText.binsKey)
        out.append(UInt8(ascii: "{"))
        var first = true
        try forEachBin { name, value throws(GatewayError) in
            guard let nameText = Self.validName(name) else { return }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            if let nameText {
                JSONWriter.appendString(nameText, to: &out)
            } else {
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: name)
                out.append(UInt8(ascii: "\""))
            }
            out.append(UInt8(ascii: ":"))
            if JSONText.isCanonicalScalar(value) {
                out.append(contentsOf: value)
            } else {
                JSONWriter.append(try Record.binValue(value, name: String(decoding: name, as: UTF8.self)), to: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
        out.append(contentsOf: JSONText.generationKey)
        JSONText.appendInteger(generation, to: &out)
        out.append(contentsOf: JSONText.ttlKey)
        JSONText.appendInteger(ttl, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// `appendJSON`'s bytes lent to `use` for the call: the common record's straight from
    /// scratch memory (`writePlainJSON`, no array), any other's from an array.
    func withJSON(_ use: (UnsafeBufferPointer<UInt8>) -> Void) throws(GatewayError) {
        if try writePlainJSON(use) { return }
        var json: [UInt8] = []
        json.reserveCapacity(256)
        try appendJSON(to: &json)
        json.withUnsafeBufferPointer(use)
    }

    /// `appendJSON` for the common record, every bin name plain and every value already
    /// canonical: written into scratch memory with no check per byte and handed to `use`
    /// in one piece. False, with `use` not called, for any other record (or one over
    /// 4 KB), which `appendJSON` then writes piece by piece. The JSON is never longer
    /// than the reply's bins (a bin's RESP framing outweighs its quotes, colon and
    /// comma), the selected bins' names (an HMGET reply has only values) and 80 bytes
    /// for the rest.
    private func writePlainJSON(_ use: (UnsafeBufferPointer<UInt8>) -> Void) throws(GatewayError) -> Bool {
        let capacity = reply.bytes.count - reply.index + (selected?.reduce(0) { $0 + $1.count } ?? 0) + 80
        guard capacity <= 4096 else { return false }
        let generation = generation
        let ttl = ttl
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) {
            scratch throws(GatewayError) -> Bool in
            var written = 0
            func put(_ byte: UInt8) {
                scratch[written] = byte
                written += 1
            }
            func put(_ piece: UnsafeBufferPointer<UInt8>) {
                for byte in piece {
                    scratch[written] = byte
                    written += 1
                }
            }
            func put(_ number: Int) {
                if number < 0 { put(UInt8(ascii: "-")) }
                var magnitude = number.magnitude
                let start = written
                repeat {
                    put(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10))
                    magnitude /= 10
                } while magnitude > 0
                var digits = UnsafeMutableBufferPointer(rebasing: scratch[start..<written])
                digits.reverse()
            }
            JSONText.binsKey.withUnsafeBufferPointer { put($0) }
            put(UInt8(ascii: "{"))
            var plain = true
            var first = true
            try forEachBin { name, value throws(GatewayError) in
                // Room is checked per bin all the same: what does not fit goes the slow way.
                guard plain, written + name.count + value.count + 4 <= capacity - 72,
                    name.allSatisfy(BinName.isNameByte), JSONText.isCanonicalScalar(value)
                else {
                    plain = false
                    return
                }
                if !first { put(UInt8(ascii: ",")) }
                first = false
                put(UInt8(ascii: "\""))
                put(name)
                put(UInt8(ascii: "\""))
                put(UInt8(ascii: ":"))
                put(value)
            }
            guard plain else { return false }
            put(UInt8(ascii: "}"))
            JSONText.generationKey.withUnsafeBufferPointer { put($0) }
            put(generation)
            JSONText.ttlKey.withUnsafeBufferPointer { put($0) }
            put(ttl)
            put(UInt8(ascii: "}"))
            use(UnsafeBufferPointer(rebasing: scratch[..<written]))
            return true
        }
    }

    /// The record as a JSON value, for responses that nest it.
    func record() throws(GatewayError) -> Record {
        var bins = JSONObject([])
        try forEachBin { name, value throws(GatewayError) in
            guard let nameText = Self.validName(name) else { return }
            let text = nameText ?? String(decoding: name, as: UTF8.self)
            bins.set(text, try Record.binValue(value, name: text))
        }
        return Record(bins: bins, generation: generation, ttl: ttl)
    }

    /// nil: not UTF-8, skip the field; `.some(nil)`: a plain bin name, copy it as is;
    /// `.some(text)`: other UTF-8, to be escaped.
    private static func validName(_ name: UnsafeBufferPointer<UInt8>) -> String?? {
        if name.allSatisfy(BinName.isNameByte) { return .some(nil) }
        guard let text = String(validating: name, as: UTF8.self) else { return nil }
        return .some(text)
    }
}

/// Small JSON text helpers for writing records straight into bytes.
enum JSONText {
    /// A record's keys as bytes: appending an array is a copy, appending a String's
    /// `utf8` a walk through a generic sequence (three of them were 1.5 % of a read).
    static let binsKey: [UInt8] = Array(#"{"bins":"#.utf8)
    static let generationKey: [UInt8] = Array(#","generation":"#.utf8)
    static let ttlKey: [UInt8] = Array(#","ttl":"#.utf8)

    /// `true`, `false`, `null`, an integer of at most 15 digits without leading zeros,
    /// or a string of printable ASCII without escapes: texts a parse and a rewrite leave unchanged.
    static func isCanonicalScalar(_ text: [UInt8]) -> Bool {
        text.withUnsafeBufferPointer { isCanonicalScalar($0) }
    }

    static func isCanonicalScalar(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = text.first else { return false }
        switch first {
        case UInt8(ascii: "\""):
            guard text.count >= 2, text.last == UInt8(ascii: "\"") else { return false }
            // Indices over the buffer itself: a slice's generic iterator is slow in debug builds,
            // and a bin can be a megabyte.
            var index = text.startIndex + 1
            let end = text.endIndex - 1
            while index < end {
                let byte = text[index]
                if byte < 0x20 || byte > 0x7E || byte == 0x22 || byte == 0x5C { return false }
                index += 1
            }
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let digits = first == UInt8(ascii: "-") ? text.dropFirst() : text[...]
            guard let lead = digits.first, digits.count <= 15 else { return false }
            if lead == UInt8(ascii: "0") { return digits.count == 1 && first != UInt8(ascii: "-") }
            return digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        case UInt8(ascii: "t"): return text.elementsEqual(trueText)
        case UInt8(ascii: "f"): return text.elementsEqual(falseText)
        case UInt8(ascii: "n"): return text.elementsEqual(nullText)
        default: return false
        }
    }

    private static let trueText: [UInt8] = Array("true".utf8)
    private static let falseText: [UInt8] = Array("false".utf8)
    private static let nullText: [UInt8] = Array("null".utf8)

    static func appendInteger(_ value: Int, to out: inout [UInt8]) {
        JSONWriter.append(.integer(Int64(value)), to: &out)
    }
}

/// A record's `_exp` (absolute expiry in Unix milliseconds by the store's clock, 0 =
/// never) as the TTL the API shows, in whole seconds rounded as Redis's TTL rounds,
/// by the gateway's clock. Skew between the two clocks shifts the TTL shown by as
/// much; never below 0 while the store still holds the record.
enum RecordExpiry {
    static func ttl(expiresAtMs: Int64, nowMs: Int64 = wallClockMs()) -> Int {
        guard expiresAtMs > 0 else { return -1 }
        return Int(max(0, (expiresAtMs - nowMs + 500) / 1000))
    }

    /// Milliseconds since the Unix epoch.
    static func wallClockMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

/// Reads a script reply's integer element (integers come back as RESP integers or,
/// from HGET, as bulk strings).
func integer(_ value: RESPValue?) -> Int? {
    switch value {
    case .integer(let number): Int(number)
    case .bulkString(let bytes?): decimal(bytes)
    default: nil
    }
}

/// An optionally negative decimal of at most 18 digits, read without building a String.
private func decimal(_ bytes: [UInt8]) -> Int? {
    let negative = bytes.first == UInt8(ascii: "-")
    let digits = negative ? bytes.count - 1 : bytes.count
    guard digits > 0, digits <= 18 else { return nil }
    var number = 0
    for byte in bytes[(negative ? 1 : 0)...] {
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        number = number * 10 + Int(byte - UInt8(ascii: "0"))
    }
    return negative ? -number : number
}
