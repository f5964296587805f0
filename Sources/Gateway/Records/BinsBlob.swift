/// A record's bins as one hash field, `_b`: for each bin, in the record's order,
/// `<name's byte count>:<name><value's byte count>:<value>`, the value being the bin's
/// canonical JSON text (`2:id1:7` is `{"id":7}`; no bins is the empty string). One field
/// makes an unconditional replace one `HSET` in a transaction instead of a script, and a
/// read one short `HGETALL`; lengths instead of JSON make a script's split of the record
/// a few string calls per bin, exact to the byte (`RecordScripts.binsFunctions`).
enum BinsBlob {
    /// The `_b` field's name.
    static let field: [UInt8] = [UInt8(ascii: "_"), UInt8(ascii: "b")]

    /// The bytes one bin takes.
    static func entrySize(nameCount: Int, valueCount: Int) -> Int {
        digitCount(nameCount) + 1 + nameCount + digitCount(valueCount) + 1 + valueCount
    }

    static func appendEntry(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>, to out: inout [UInt8])
    {
        appendLength(name.count, to: &out)
        out.append(contentsOf: name)
        appendLength(value.count, to: &out)
        out.append(contentsOf: value)
    }

    static func appendEntry(name: [UInt8], value: [UInt8], to out: inout [UInt8]) {
        name.withUnsafeBufferPointer { name in
            value.withUnsafeBufferPointer { value in appendEntry(name: name, value: value, to: &out) }
        }
    }

    /// Calls `body` with each bin's name and value, borrowed from `blob`, in order; false
    /// (after the bins before it) when the blob is not well formed.
    static func forEachEntry<Failure: Error>(
        in blob: UnsafeBufferPointer<UInt8>,
        _ body: (_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) throws(Failure) -> Void
    ) throws(Failure) -> Bool {
        var index = blob.startIndex
        while index < blob.endIndex {
            guard let name = nextPiece(in: blob, at: &index), let value = nextPiece(in: blob, at: &index) else {
                return false
            }
            try body(UnsafeBufferPointer(rebasing: blob[name]), UnsafeBufferPointer(rebasing: blob[value]))
        }
        return true
    }

    /// `<count>:` then `count` bytes, from `index`, past them.
    @inline(__always)
    private static func nextPiece(in blob: UnsafeBufferPointer<UInt8>, at index: inout Int) -> Range<Int>? {
        var count = 0
        var digits = 0
        while index < blob.endIndex {
            let byte = blob[index]
            index += 1
            if byte == UInt8(ascii: ":") {
                guard digits > 0, count <= blob.endIndex - index else { return nil }
                let piece = index..<(index + count)
                index += count
                return piece
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else { return nil }
            count = count * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return nil
    }

    private static func appendLength(_ length: Int, to out: inout [UInt8]) {
        let start = out.count
        for _ in 0..<digitCount(length) { out.append(UInt8(ascii: "0")) }
        var rest = length
        var position = out.count - 1
        while position >= start {
            out[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            position -= 1
        }
        out.append(UInt8(ascii: ":"))
    }

    private static func digitCount(_ value: Int) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }
}
