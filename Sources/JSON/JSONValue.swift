// JSON for storegate: a strict, bounded RFC 8259 parser and a compact writer.
//
// Design
// ------
// * Pure Swift, stdlib only. The parser works on one contiguous buffer of UTF-8
//   bytes (`UnsafeBufferPointer<UInt8>`), never on `Character`s, in a single pass.
//   Runs of plain string bytes are found eight at a time (SWAR, `JSONUTF8`) and
//   copied at once; only strings holding escapes go through a scratch buffer.
// * Strict: exactly one value, whitespace is only space/tab/LF/CR, no comments,
//   trailing commas, NaN/Infinity, leading zeros or "+"; strings must be valid
//   UTF-8 (no overlongs, encoded surrogates or bytes above U+10FFFF), control
//   characters must be escaped, `\u` surrogates must pair up. Duplicate object
//   keys are an error: a gateway must not guess which one wins. Keys are compared
//   with Swift `String` equality (Unicode canonical equivalence), so "é" and
//   "e\u0301" count as the same key.
// * Bounded (`JSONLimits`): input size is checked before parsing; nesting depth,
//   elements per container and decoded string size while parsing. The parser is
//   recursive descent, one stack frame per nesting level, so `maxDepth` is also
//   the recursion bound: keep it in the tens or hundreds, not the millions.
// * Numbers: without fraction or exponent and within Int64 → `.integer` (exact,
//   so 9007199254740993 survives); above Int64.max but within UInt64 →
//   `.unsignedInteger`; everything else → `.number(Double)`, correctly rounded
//   (Clinger's exact fast path, else the stdlib's `Double(String)`). A number
//   whose magnitude overflows Double (1e400) is an error; underflow gives ±0.
//   "-0" is an integer, so it reads as `.integer(0)`; "-0.0" keeps its sign.
// * The writer emits compact JSON: integers in decimal, doubles in Swift's
//   shortest round-trip form with ".0" added when it would otherwise read back as
//   an integer (2.0 → "2.0", 1e-7 → "1e-07"), strings with only `"`, `\` and
//   control characters escaped. Non-finite doubles (never produced by the parser)
//   are written as `null`.
// * Round trip: for every value `v` the parser returns, `parse(write(v)) == v`.
//
// Files: JSONValue (this: JSONValue, JSONObject), JSONError (JSONError,
// JSONLimits), JSONParser (structure), JSONParser+Strings (strings, and the
// byte-level helpers `JSONUTF8` shared with the writer), JSONParser+Numbers,
// JSONWriter.

/// A parsed or constructed JSON value.
///
/// Equality is structural and order-sensitive for objects. Numbers of different
/// cases never compare equal (`.integer(2) != .number(2.0)`), which is why the
/// writer keeps them distinguishable. `.unsignedInteger` is only produced for
/// values above `Int64.max`; build smaller ones as `.integer`.
package enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number without fraction or exponent that fits Int64.
    case integer(Int64)
    /// A number without fraction or exponent above Int64.max that fits UInt64.
    case unsignedInteger(UInt64)
    /// Any other number: with a fraction or exponent, or too large for 64 bits.
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Keys in input order; no duplicates.
    case object(JSONObject)
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text of the value.
    package var description: String { JSONWriter.string(self) }
}

/// A JSON object: key/value pairs in insertion order with unique keys.
///
/// Small objects are searched linearly; from `indexThreshold` keys on, a
/// key → position dictionary is kept as well, so lookups and the parser's
/// duplicate check stay O(1) for objects with many members. Equality compares
/// the pairs in order (the index is only a cache). Keys are compared with Swift
/// `String` equality.
package struct JSONObject: Sendable {
    package typealias Element = (key: String, value: JSONValue)

    /// The pairs in order, keys and values side by side in one array (a parsed
    /// object allocates one buffer, not two).
    package private(set) var members: [Element] = []
    /// Position of each key; nil while the object is small.
    private var index: [String: Int]?

    /// Objects with at least this many keys keep a hash index.
    static let indexThreshold = 12
    /// Members reserved for when the first one is added.
    static let initialCapacity = 8

    /// An empty object.
    package init() {}

    /// An object from pairs in order; a repeated key replaces the earlier value in place.
    package init(_ pairs: [(String, JSONValue)]) {
        members.reserveCapacity(pairs.count)
        for (key, value) in pairs { set(key, value) }
    }

    /// Keys in order (a new array: for checks off the hot path).
    package var keys: [String] { members.map(\.key) }

    /// Values in the same order as `keys` (a new array).
    package var values: [JSONValue] { members.map(\.value) }

    /// Number of members.
    package var count: Int { members.count }

    /// True when there are no members.
    package var isEmpty: Bool { members.isEmpty }

    /// The first key `isUnexpected` picks out, in order (no array of keys).
    package func firstKey(where isUnexpected: (String) -> Bool) -> String? {
        for member in members where isUnexpected(member.key) { return member.key }
        return nil
    }

    /// The value for `key`; setting nil removes the member, setting a value
    /// replaces it in place or appends it.
    package subscript(key: String) -> JSONValue? {
        get { position(of: key).map { members[$0].value } }
        set {
            if let newValue { set(key, newValue) } else { remove(key) }
        }
    }

    /// True when `key` is a member.
    package func contains(_ key: String) -> Bool { position(of: key) != nil }

    /// Replaces the value of `key` in place, or appends the pair when it is new.
    package mutating func set(_ key: String, _ value: JSONValue) {
        if let position = position(of: key) {
            members[position].value = value
        } else {
            append(key, value)
        }
    }

    /// Removes `key` and returns its value; later members keep their order.
    @discardableResult
    package mutating func remove(_ key: String) -> JSONValue? {
        guard let position = position(of: key) else { return nil }
        let value = members.remove(at: position).value
        if index != nil {
            if members.count < Self.indexThreshold {
                index = nil
            } else {
                index![key] = nil
                for later in position..<members.count { index![members[later].key] = later }
            }
        }
        return value
    }

    /// Appends a pair unless the key is present; false for a duplicate. The
    /// parser's insertion path: one lookup per member.
    mutating func insertNew(_ key: String, _ value: JSONValue) -> Bool {
        if index != nil {
            let next = members.count
            let existing = index!.updateValue(next, forKey: key)
            if let existing {
                index![key] = existing
                return false
            }
            members.append((key, value))
            return true
        }
        if position(of: key) != nil { return false }
        append(key, value)
        return true
    }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        for position in members.indices where members[position].key == key { return position }
        return nil
    }

    /// Appends a key known to be absent.
    private mutating func append(_ key: String, _ value: JSONValue) {
        // Room for a small object at once, rather than growing 1, 2, 4, 8.
        if members.capacity == 0 { members.reserveCapacity(Self.initialCapacity) }
        members.append((key, value))
        if index != nil {
            index![key] = members.count - 1
        } else if members.count >= Self.indexThreshold {
            var built = [String: Int](minimumCapacity: members.count * 2)
            for (position, existing) in members.enumerated() { built[existing.key] = position }
            index = built
        }
    }
}

extension JSONObject: Equatable {
    package static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.elementsEqual(rhs.members) { $0.key == $1.key && $0.value == $1.value }
    }
}

extension JSONObject: Sequence {
    /// Iterates `(key, value)` pairs in order.
    package func makeIterator() -> IndexingIterator<[Element]> { members.makeIterator() }

    package var underestimatedCount: Int { members.count }
}

extension JSONValue {
    /// The value as an Int64 when it is a whole number (JSON Schema's "integer"),
    /// including forms like 627.0; nil otherwise.
    package var exactInteger: Int64? {
        switch self {
        case .integer(let value): return value
        case .unsignedInteger(let value): return Int64(exactly: value)
        case .number(let value):
            guard value.rounded() == value, abs(value) <= 9_007_199_254_740_992 else { return nil }
            return Int64(value)
        default: return nil
        }
    }
}
