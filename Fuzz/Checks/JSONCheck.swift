internal import Gateway
internal import JSON

/// FuzzJSON: the gateway's JSON parser on arbitrary bytes. A parse that succeeds must
/// round-trip (parse → write → parse gives the same value, and writing that again gives
/// the same bytes); every entry point agrees; tighter limits only ever refuse more; a
/// failure points inside the input. The same bytes, as a write's body and as its bins
/// object, go through the one-pass bins read too, which must agree with the tree path.
package enum JSONCheck {
    static let tight = JSONLimits(maxDepth: 4, maxBytes: 256, maxStringBytes: 16, maxElements: 8)

    package static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        for body in [bytes, Array(#"{"bins":"#.utf8) + bytes + [UInt8(ascii: "}")]] {
            if let problem = RequestValidation.plainBinsDisagreement(body: body) {
                throw FuzzFailure("\(problem): \(String(decoding: body.prefix(200), as: UTF8.self))")
            }
        }
        let first: Result<JSONValue, JSONError> = Result { () throws(JSONError) in try JSONParser.parse(bytes) }
        let viaSlice = Result { () throws(JSONError) in try JSONParser.parse(bytes[...]) }
        let viaRaw = bytes.withUnsafeBytes { raw in Result { () throws(JSONError) in try JSONParser.parse(raw) } }
        try require(viaSlice == first && viaRaw == first, "entry points disagree: \(first) / \(viaSlice) / \(viaRaw)")

        let tight = Result { () throws(JSONError) in try JSONParser.parse(bytes, limits: Self.tight) }
        switch first {
        case .failure(let error):
            try require(
                error.offset >= 0 && error.offset <= bytes.count,
                "error offset \(error.offset) outside the input: \(error)")
            try require((try? tight.get()) == nil, "tight limits accepted what default limits refused (\(error))")
        case .success(let value):
            if case .success(let tightValue) = tight {
                try require(tightValue == value, "tight limits parsed another value")
            }
            let written = JSONWriter.bytes(value)
            let again: JSONValue
            do {
                again = try JSONParser.parse(written)
            } catch {
                throw FuzzFailure(
                    "written JSON does not parse: \(error) in \(String(decoding: written, as: UTF8.self))")
            }
            try require(again == value, "round trip changed the value: \(value) → \(again)")
            try require(JSONWriter.bytes(again) == written, "writing the round-tripped value gave other bytes")
        }
    }
}
