import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A batch whose client has gone issues no more store commands, and a streamed batch
/// whose client stops reading waits at layer 4's limit: counted by the store itself
/// (redis `INFO commandstats`), against the real binary.
final class BatchClientGoneTests: XCTestCase {
    private var redis: RedisServer!
    private var gateway: GatewayProcess!
    private let operations = 5000
    /// `BatchRoutes.window`: the items one batch has in the store at once.
    private let window = 256

    override func setUpWithError() throws {
        redis = try RedisServer()
        gateway = try GatewayProcess(arguments: ["--store", redis.url, "--access-log", "off"])
    }

    override func tearDown() {
        redis?.resume()
        if let gateway { XCTAssertEqual(gateway.stop(), 0, gateway.log) }
        gateway = nil
        redis = nil
    }

    private func putRecord(bytes: Int) throws {
        let body = #"{"bins":{"v":"\#(String(repeating: "x", count: bytes))"}}"#
        let response = try gateway.request(
            "PUT /v1/kv/t/s/k HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
        XCTAssertEqual(response.status, 201, response.description)
    }

    /// `operations` reads of the one record, streamed as NDJSON or answered as ordered JSON.
    private func batchRequest(streaming: Bool) -> String {
        let item = #"{"op":"get","namespace":"t","set":"s","key":"k"}"#
        let body = #"{"operations":["# + Array(repeating: item, count: operations).joined(separator: ",") + "]}"
        let accept = streaming ? "application/x-ndjson" : "application/json"
        return
            "POST /v1/batch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nAccept: \(accept)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    private var reads: Int { (try? redis.commandCalls("hgetall")) ?? -1 }

    private func metrics() -> String { (try? gateway.get("/metrics").bodyText) ?? "" }

    private var inFlightSeries: String { "storegate_layer3_store_commands_in_flight{node=\"127.0.0.1:\(redis.port)\"}" }

    /// Nothing of the batch is left: no store command in flight, no request in progress
    /// but the scrape itself, no connection open but the scrape's; and others are served.
    private func assertNothingLeft() throws {
        XCTAssertTrue(
            eventually {
                let text = metrics()
                return metricValue(text, inFlightSeries) == 0
                    && metricValue(text, "storegate_layer2_requests_in_progress") == 1
                    && metricValue(text, "storegate_http_connections_open") == 1
            }, metrics())
        XCTAssertEqual(try gateway.get("/healthz").status, 200)
    }

    /// The reads issued so far once they stop changing.
    private func settledReads() -> Int {
        var last = reads
        _ = eventually {
            usleep(300_000)
            let now = reads
            defer { last = now }
            return now == last
        }
        return last
    }

    /// The client reads the head of a streamed answer and closes (a FIN: the gateway
    /// learns it is gone from its next write). The store is stalled meanwhile, so the
    /// first window is all that is in flight when the client leaves.
    func testAStreamedBatchStopsIssuingReadsWhenItsClientCloses() throws {
        try putRecord(bytes: 1000)
        let before = reads
        redis.pause()
        let client = try gateway.connect()
        try client.send(batchRequest(streaming: true))
        XCTAssertTrue(client.fill(), "the head leaves before any item completes")
        XCTAssertTrue(String(decoding: client.unreadBytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        XCTAssertTrue(eventually { metricValue(metrics(), inFlightSeries) == window }, metrics())
        client.close()
        redis.resume()
        let issued = settledReads() - before
        print("reads issued for a client that closed: \(issued) of \(operations)")
        // The first window, then what went out before a write to the closed socket
        // failed (layer 4 holds the rest back until each flush): far from all of them.
        XCTAssertGreaterThanOrEqual(issued, window)
        XCTAssertLessThan(issued, operations / 5, "reads issued after the client closed")
        try assertNothingLeft()
    }

    /// An ordered batch writes nothing until it is complete; a client that resets its
    /// connection while the first window is in the store stops the rest.
    func testAnOrderedBatchStopsWhenItsClientResets() throws {
        try putRecord(bytes: 100)
        let before = reads
        redis.pause()
        let client = try gateway.connect()
        try client.send(batchRequest(streaming: false))
        XCTAssertTrue(eventually { metricValue(metrics(), inFlightSeries) == window }, metrics())
        client.close(reset: true)
        XCTAssertTrue(
            eventually { metricValue(metrics(), "storegate_http_connections_open") == 1 },
            "the gateway saw the reset")
        redis.resume()
        XCTAssertEqual(settledReads() - before, window, "only the window already in the store was read")
        try assertNothingLeft()
    }

    /// A client that stops reading a streamed batch holds it at layer 4: reads stop
    /// once the socket buffers are full, and go on when the client reads again; every
    /// item is then answered.
    func testAStreamedBatchWaitsForAClientThatStopsReading() throws {
        let recordBytes = 4000
        try putRecord(bytes: recordBytes)
        let before = reads
        let rssBefore = try XCTUnwrap(residentBytes(pid: gateway.pid))
        // The default receive buffer: one smaller than loopback's 64 KB segments stalls
        // TCP itself (zero-window probes) once the client reads again.
        let client = try gateway.connect(timeout: 10)
        try client.send(batchRequest(streaming: true))
        XCTAssertTrue(client.fill())
        let stalled = settledReads() - before
        print("reads issued while the client did not read: \(stalled) of \(operations)")
        // 20 MB of answers; the kernel's socket buffers (about 4 MB here) and one window
        // hold far fewer.
        XCTAssertLessThan(stalled, operations / 2, "reads issued for a client that does not read")
        // What it holds meanwhile: layer 4's limit plus the results of one window.
        let grown = try XCTUnwrap(residentBytes(pid: gateway.pid)) - rssBefore
        if !underSanitizer { XCTAssertLessThan(grown, 16 << 20, "RSS grew \(grown) bytes") }
        print("RSS grew \(grown) bytes")

        var received = client.unreadBytes
        let end = Array("\r\n0\r\n\r\n".utf8)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while !received.suffix(end.count).elementsEqual(end) {
            let n = chunk.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return XCTFail("the stream ended early after \(received.count) bytes") }
            received.append(contentsOf: chunk[..<n])
        }
        let text = String(decoding: received, as: UTF8.self)
        XCTAssertEqual(text.components(separatedBy: #""status":200"#).count - 1, operations)
        XCTAssertEqual(reads - before, operations)
        client.close()
        try assertNothingLeft()
    }
}
