import EventLoop
import Foundation
import RESP
import Store
import TestSupport
import XCTest

/// A command whose bytes are a whole MULTI … EXEC transaction (`leadingReplies`): the
/// caller hears EXEC's reply, or the first error among the queued commands instead of
/// EXECABORT, and the replies of the commands around it still match their callers.
final class TransactionCommandTests: XCTestCase {
    private func transaction(_ commands: [[String]]) -> [UInt8] {
        var bytes: [UInt8] = []
        RESPEncoder.appendCommand(["MULTI"], to: &bytes)
        for command in commands { RESPEncoder.appendCommand(command, to: &bytes) }
        RESPEncoder.appendCommand(["EXEC"], to: &bytes)
        return bytes
    }

    func testTheCallerHearsEXECOrTheFirstQueuedErrorAndNeighboursKeepTheirReplies() throws {
        let redis = try RedisServer()
        let harness = try StoreHarness(url: redis.url)
        defer { XCTAssertEqual(harness.shutdown(), 0) }
        XCTAssertEqual(harness.call(["HSET", "h", "a", "1", "b", "2"]).value, .integer(2))

        var results: [Int: Result<RESPValue, StoreError>] = [:]
        func send(_ index: Int, _ encoded: [UInt8], leading: Int) {
            let command = StoreCommand(encoded: encoded, idempotent: true, timeoutMs: 2000, leadingReplies: leading) {
                results[index] = $0
            }
            XCTAssertNil(harness.store.execute(command))
        }
        var echo: [UInt8] = []
        RESPEncoder.appendCommand(["ECHO", "before"], to: &echo)
        send(0, echo, leading: 0)
        send(1, transaction([["HGETALL", "h"], ["TTL", "h"]]), leading: 3)
        send(2, transaction([["HGETALL", "h"], ["NOSUCHCOMMAND", "h"], ["TTL", "h"]]), leading: 4)
        echo = []
        RESPEncoder.appendCommand(["ECHO", "after"], to: &echo)
        send(3, echo, leading: 0)
        XCTAssertTrue(harness.run { results.count == 4 })

        XCTAssertEqual(results[0]?.value?.string, "before")
        XCTAssertEqual(
            results[1]?.value,
            .array([
                .array([
                    .bulkString(Array("a".utf8)), .bulkString(Array("1".utf8)),
                    .bulkString(Array("b".utf8)), .bulkString(Array("2".utf8)),
                ]), .integer(-1),
            ]))
        guard case .error(let message)? = results[2]?.value else { return XCTFail("\(String(describing: results[2]))") }
        XCTAssertTrue(message.contains("unknown command"), message)
        XCTAssertEqual(results[3]?.value?.string, "after")
        XCTAssertEqual(harness.call(["PING"]).value?.string, "PONG", "the connection left no transaction open")
    }
}
