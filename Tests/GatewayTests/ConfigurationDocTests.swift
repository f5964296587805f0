import Foundation
import TestSupport
import XCTest

/// docs/configuration.md mirrors `storegate --help`: every flag the binary knows has a
/// row with its environment variable and default, and the page names no other flag.
final class ConfigurationDocTests: XCTestCase {
    func testTheConfigurationPageListsEveryFlagWithItsVariableAndDefault() throws {
        let help = try Self.run(buildProductsDirectory.appendingPathComponent("storegate").path, ["--help"])
        let lines = help.components(separatedBy: "\n")
        var options: [(flag: String, env: String, defaultValue: String)] = []
        for (index, line) in lines.enumerated() where line.hasPrefix("  --") && line.hasSuffix(" VALUE") {
            let flag = String(line.dropFirst(2).dropLast(6))
            let detail = lines[index + 2].trimmingCharacters(in: .whitespaces)
            let parts = try XCTUnwrap(detail.range(of: ", env "), detail)
            let defaultValue = String(detail[detail.index(detail.startIndex, offsetBy: 8)..<parts.lowerBound])
            options.append((flag, String(detail[parts.upperBound...]), defaultValue))
        }
        XCTAssertGreaterThan(options.count, 30)
        let page = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let rows = page.components(separatedBy: "\n").filter { $0.hasPrefix("| `--") }
        for option in options {
            let row = rows.first { $0.hasPrefix("| `\(option.flag)` |") }
            XCTAssertNotNil(row, "\(option.flag) is missing from docs/configuration.md")
            guard let row else { continue }
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            XCTAssertEqual(cells[1], "`\(option.env)`", option.flag)
            XCTAssertEqual(
                cells[2].trimmingCharacters(in: CharacterSet(charactersIn: "`")), option.defaultValue, option.flag)
        }
        XCTAssertEqual(rows.count, options.count, "the page lists only the binary's flags, each once")
    }

    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self)
    }
}
