import TestSupport
import XCTest

@testable import RESP

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

extension RESPDecoder {
    /// Every reply that the buffered bytes complete.
    mutating func drain(file: StaticString = #filePath, line: UInt = #line) -> [RESPValue] {
        var values: [RESPValue] = []
        do {
            while let value = try next() { values.append(value) }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
        return values
    }

    /// The error the fed bytes produce, or nil if they decode cleanly.
    mutating func firstError() -> RESPDecodeError? {
        do {
            while try next() != nil {}
            return nil
        } catch {
            return error
        }
    }
}

/// Replies as a server would send them: the reference the decoder's output is checked against in
/// the generated round-trip tests. Simple strings and errors must not contain CR or LF.
enum ReplyEncoder {
    static func encode(_ value: RESPValue, into out: inout [UInt8]) {
        switch value {
        case .simpleString(let text): line("+", text, &out)
        case .error(let text): line("-", text, &out)
        case .integer(let number): line(":", String(number), &out)
        case .bulkString(nil): line("$", "-1", &out)
        case .bulkString(let data?): blob("$", data, &out)
        case .array(nil): line("*", "-1", &out)
        case .array(let elements?): aggregate("*", elements, &out)
        case .null: line("_", "", &out)
        case .boolean(let flag): line("#", flag ? "t" : "f", &out)
        case .double(let number): line(",", number.isNaN ? "nan" : "\(number)", &out)
        case .bigNumber(let digits): line("(", digits, &out)
        case .verbatim(let format, let text): blob("=", Array(format.utf8) + [UInt8(ascii: ":")] + text, &out)
        case .map(let pairs):
            line("%", String(pairs.count), &out)
            for pair in pairs {
                encode(pair.key, into: &out)
                encode(pair.value, into: &out)
            }
        case .set(let elements): aggregate("~", elements, &out)
        case .push(let elements): aggregate(">", elements, &out)
        case .encodedArray(let bytes): out.append(contentsOf: bytes)
        }
    }

    static func encode(_ values: [RESPValue]) -> [UInt8] {
        var out: [UInt8] = []
        for value in values { encode(value, into: &out) }
        return out
    }

    private static func line(_ type: Character, _ text: String, _ out: inout [UInt8]) {
        out.append(contentsOf: "\(type)\(text)\r\n".utf8)
    }

    private static func blob(_ type: Character, _ data: [UInt8], _ out: inout [UInt8]) {
        line(type, String(data.count), &out)
        out.append(contentsOf: data)
        out.append(contentsOf: "\r\n".utf8)
    }

    private static func aggregate(_ type: Character, _ elements: [RESPValue], _ out: inout [UInt8]) {
        line(type, String(elements.count), &out)
        for element in elements { encode(element, into: &out) }
    }
}

/// Random reply trees of every kind, NaN excluded (it is not equal to itself).
struct ReplyGenerator {
    static let doubles: [Double] = [1.5, -0.25, 3, .infinity, 1e300, .leastNonzeroMagnitude, 123_456.789]

    var rng: SeededGenerator

    mutating func value(depth: Int = 0) -> RESPValue {
        let scalarKinds = 10
        let kinds = depth >= 4 ? scalarKinds : scalarKinds + 5
        switch Int.random(in: 0..<kinds, using: &rng) {
        case 0: return .simpleString(word())
        case 1: return .error("ERR " + word())
        case 2: return .integer(Int64.random(in: .min ... .max, using: &rng))
        case 3: return .bulkString(Bool.random(using: &rng) ? nil : blob())
        case 4: return .null
        case 5: return .boolean(Bool.random(using: &rng))
        case 6: return .double(Self.doubles.randomElement(using: &rng)! * .random(in: -2...2, using: &rng))
        case 7:
            return .bigNumber(
                (Bool.random(using: &rng) ? "-" : "") + String(UInt64.random(in: 0...(.max), using: &rng)) + "0123")
        case 8: return .verbatim(format: "txt", text: blob())
        case 9: return .bulkString(Array(repeating: UInt8(ascii: "x"), count: Int.random(in: 0...3000, using: &rng)))
        case 10: return .array(Bool.random(using: &rng) && depth > 0 ? nil : elements(depth))
        case 11: return .set(elements(depth))
        case 12: return .push(elements(depth))
        case 13: return .map(elements(depth).map { RESPPair(key: $0, value: value(depth: depth + 1)) })
        default: return .array(elements(depth))
        }
    }

    private mutating func elements(_ depth: Int) -> [RESPValue] {
        (0..<Int.random(in: 0...5, using: &rng)).map { _ in value(depth: depth + 1) }
    }

    private mutating func word() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz 0123456789:-é漢")
        return String((0..<Int.random(in: 0...12, using: &rng)).map { _ in letters.randomElement(using: &rng)! })
    }

    private mutating func blob() -> [UInt8] {
        (0..<Int.random(in: 0...40, using: &rng)).map { _ in
            [13, 10, 0, 255, 36, 42][Int.random(in: 0..<6, using: &rng)]
        }
    }
}
