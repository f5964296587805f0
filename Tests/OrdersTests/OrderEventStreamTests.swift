import Foundation
import TestSupport
import XCTest

/// Server-Sent Events streams are bounded, and a stream whose client left is closed
/// and no longer counts.
final class OrderEventStreamTests: XCTestCase {
    func testEventStreamsAreBoundedAndAClosedOneFreesItsPlace() throws {
        let pizzeria = try PizzeriaHarness(minuteMs: 5, ["--max-event-streams", "2"])
        try pizzeria.redis.cli(["HSET", "pizzeria:{stock}", "basil", "0"])
        let id = try XCTUnwrap(try pizzeria.placeOrder().json?["id"] as? String)
        XCTAssertTrue(try eventually(within: 10) { try pizzeria.order(id)["status"] as? String == "waiting_for_stock" })

        let request = "GET /v1/orders/\(id)/events HTTP/1.1\r\nHost: t\r\n\r\n"
        var open: [RawHTTPClient] = []
        for _ in 0..<2 {
            let client = try pizzeria.gateway.connect(timeout: 2)
            try client.send(request)
            XCTAssertTrue(
                eventually {
                    _ = client.fill()
                    return String(decoding: client.unreadBytes, as: UTF8.self).contains("waiting_for_stock")
                })
            open.append(client)
        }
        let third = try pizzeria.gateway.request(request)
        XCTAssertEqual(third.status, 503)
        XCTAssertEqual(third.errorCode, "too_many_streams")
        XCTAssertNotNil(third.header("Retry-After"))

        // One client leaves: within the stream's next poll its place is free again.
        open.removeFirst()
        var reopened: RawHTTPClient?
        XCTAssertTrue(
            try eventually(within: 10) {
                let client = try pizzeria.gateway.connect(timeout: 2)
                try client.send(request)
                let text = { String(decoding: client.unreadBytes, as: UTF8.self) }
                while !text().contains("\r\n\r\n"), client.fill() {}
                guard text().hasPrefix("HTTP/1.1 200") else { return false }
                reopened = client
                return true
            })
        // The open streams go on: a restock delivers the order, and each ends with "delivered".
        XCTAssertEqual(try pizzeria.restock(["basil": 1]).status, 200)
        for client in [open[0], try XCTUnwrap(reopened)] {
            client.setTimeout(10)
            XCTAssertTrue(
                eventually(within: 10) {
                    _ = client.fill()
                    return String(decoding: client.unreadBytes, as: UTF8.self).hasSuffix("\r\n0\r\n\r\n")
                })
            XCTAssertTrue(String(decoding: client.unreadBytes, as: UTF8.self).contains(#""status":"delivered""#))
        }
    }
}
