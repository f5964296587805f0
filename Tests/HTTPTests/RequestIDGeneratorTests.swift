import HTTP
import XCTest

/// Request ids are the process prefix and a hexadecimal counter without leading zeros.
final class RequestIDGeneratorTests: XCTestCase {
    func testIdsCountUpInHexadecimalAfterOnePrefix() throws {
        let ids = RequestIDGenerator()
        let all = (1...300).map { _ in ids.next() }
        let prefix = try XCTUnwrap(all.first?.split(separator: "-").first)
        XCTAssertTrue(all.allSatisfy { $0.hasPrefix(prefix + "-") })
        XCTAssertEqual(all.map { String($0.dropFirst(prefix.count + 1)) }, (1...300).map { String($0, radix: 16) })
        XCTAssertEqual(Set(all).count, 300)
    }
}
