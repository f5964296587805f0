import TestSupport
import XCTest

@testable import JSON

/// Shared helpers for the JSON tests: parsing shortcuts, failure assertions and
/// a seeded generator of random values (everything namespaced to avoid clashes
/// with other test targets' helpers).
enum JSONFixture {
    /// Parses `text` (its UTF-8) with `limits`.
    static func parse(_ text: String, limits: JSONLimits = JSONLimits()) throws(JSONError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8), limits: limits)
    }

    /// Asserts that `bytes` does not parse, optionally with a given error kind
    /// (`label` prefixes failure messages); returns the error.
    @discardableResult
    static func assertInvalid(
        _ bytes: [UInt8], kind: JSONError.Kind? = nil, limits: JSONLimits = JSONLimits(), _ label: String = "",
        file: StaticString = #filePath, line: UInt = #line
    ) -> JSONError? {
        do {
            let value = try JSONParser.parse(bytes, limits: limits)
            XCTFail(
                "\(label)parsed \(printable(bytes)) as \(printable(JSONWriter.bytes(value)))", file: file, line: line)
            return nil
        } catch {
            if let kind, error.kind != kind {
                XCTFail(
                    "\(label)\(printable(bytes)) failed with \(error.kind) (\(error)), expected \(kind)", file: file,
                    line: line)
            }
            return error
        }
    }

    /// Asserts that `text` does not parse.
    @discardableResult
    static func assertInvalid(
        _ text: String, kind: JSONError.Kind? = nil, limits: JSONLimits = JSONLimits(),
        file: StaticString = #filePath, line: UInt = #line
    ) -> JSONError? {
        assertInvalid(Array(text.utf8), kind: kind, limits: limits, file: file, line: line)
    }

    /// The input for failure messages, cut short.
    static func printable(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(80).map {
            (0x20...0x7E).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16)
        }
        return "`" + shown.joined() + (bytes.count > 80 ? "…" : "") + "`"
    }
}

/// Random `JSONValue`s of the shapes the parser produces (finite doubles,
/// `.unsignedInteger` only above Int64.max, unique object keys).
struct JSONValueGenerator {
    var rng: SeededGenerator

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    mutating func value(depth: Int) -> JSONValue {
        let scalarKinds = 6
        let kind = Int.random(in: 0..<(depth > 0 ? scalarKinds + 2 : scalarKinds), using: &rng)
        switch kind {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .integer(integer())
        case 3: return .unsignedInteger(UInt64.random(in: (UInt64(Int64.max) + 1)...UInt64.max, using: &rng))
        case 4: return .number(double())
        case 5: return .string(string())
        case 6: return .array((0..<Int.random(in: 0...6, using: &rng)).map { _ in value(depth: depth - 1) })
        default:
            var object = JSONObject()
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                let key = string()
                if !object.contains(key) { object.set(key, value(depth: depth - 1)) }
            }
            return .object(object)
        }
    }

    private mutating func integer() -> Int64 {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return Int64.random(in: -10...10, using: &rng)
        case 1: return [Int64.min, .max, 0, -1, 1 << 53, (1 << 53) + 1].randomElement(using: &rng)!
        default: return Int64(bitPattern: rng.next())
        }
    }

    private mutating func double() -> Double {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0:
            return [
                0.0, -0.0, 0.1, 1e-7, 5e20, 2.0, -1.5, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                .leastNormalMagnitude, 1e16, 9007199254740993.0,
            ].randomElement(using: &rng)!
        case 1: return Double(Int32.random(in: .min ... .max, using: &rng))  // integral doubles must stay doubles
        case 2: return Double.random(in: -1e6...1e6, using: &rng)
        default:
            while true {
                let candidate = Double(bitPattern: rng.next())
                if candidate.isFinite { return candidate }
            }
        }
    }

    private mutating func string() -> String {
        let length = Int.random(in: 0...12, using: &rng)
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            let value: UInt32
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: value = UInt32.random(in: 0..<0x20, using: &rng)  // control characters
            case 1: value = [0x22, 0x5C, 0x2F, 0x7F].randomElement(using: &rng)!  // " \ / DEL
            case 2: value = UInt32.random(in: 0x80..<0x800, using: &rng)
            case 3: value = UInt32.random(in: 0x800..<0x1_0000, using: &rng)
            case 4: value = UInt32.random(in: 0x1_0000...0x10_FFFF, using: &rng)
            default: value = UInt32.random(in: 0x20..<0x7F, using: &rng)
            }
            if let scalar = Unicode.Scalar(value) { scalars.append(scalar) }  // skips surrogates
        }
        return String(scalars)
    }
}
