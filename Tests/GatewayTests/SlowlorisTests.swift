import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// reliability.md A6, as behaviour: 1,000 connections each dripping one header byte a
/// second do not stop normal clients from being served, and each of them is answered
/// 408 and closed once its header timeout passes (never before).
final class SlowlorisTests: XCTestCase {
    private static let slowCount = 1000
    private static let headerTimeoutMs = 3000

    func testDrippingHeadersDoNotStarveNormalClientsAndAreClosedAtTheHeaderTimeout() throws {
        raiseDescriptorLimit(to: 4096)
        let gateway = try GatewayProcess(arguments: [
            "--header-timeout-ms", String(Self.headerTimeoutMs), "--max-connections", "1200", "--linger-timeout-ms",
            "500",
            "--access-log", "off",
        ])
        defer { XCTAssertEqual(gateway.stop(), 0) }
        let head =
            Array("GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Pad: ".utf8)
            + Array(repeating: UInt8(ascii: "a"), count: 64)
        let start = Date()
        var slow: [RawHTTPClient] = []
        for _ in 0..<Self.slowCount {
            let client = try gateway.connect(timeout: 10)
            try client.send([head[0]])
            slow.append(client)
        }
        XCTAssertTrue(eventually { openConnections(gateway) ?? 0 >= Self.slowCount }, "all slow connections are open")

        // Drip one byte a second to each; meanwhile normal clients are served.
        var served = 0
        var position = 1
        var stillOpenEarly: Int?
        while Date().timeIntervalSince(start) < Double(Self.headerTimeoutMs) / 1000 + 2 {
            let round = Date()
            for client in slow { try? client.send([head[position % head.count]]) }
            position += 1
            if stillOpenEarly == nil, Date().timeIntervalSince(start) < Double(Self.headerTimeoutMs) / 1000 - 1.5 {
                stillOpenEarly = slow.filter { !hasInput($0.fd) }.count
            }
            while Date().timeIntervalSince(round) < 1 {
                let response = try gateway.get("/healthz")
                XCTAssertEqual(response.status, 200)
                served += 1
                usleep(50_000)
            }
        }
        XCTAssertGreaterThanOrEqual(served, 5)
        if let stillOpenEarly {
            XCTAssertEqual(stillOpenEarly, Self.slowCount, "none is answered before its header timeout")
        }

        // Every slow connection got exactly a 408 with Connection: close, then EOF.
        var timedOut = 0
        var closed = 0
        for client in slow {
            client.setTimeout(10 * timeoutMultiplier)
            if let response = client.readResponse(), response.status == 408, response.header("Connection") == "close" {
                timedOut += 1
            }
            if client.waitForClose() { closed += 1 }
        }
        XCTAssertEqual(timedOut, Self.slowCount)
        XCTAssertEqual(closed, Self.slowCount)
        slow = []
        XCTAssertTrue(eventually(within: 10) { (openConnections(gateway) ?? .max) <= 1 }, "the gateway let them all go")
        XCTAssertEqual(try gateway.get("/healthz").status, 200)
    }

    /// The connection cap bounds what silent connections can hold; the header timeout
    /// frees their slots, and then new clients are served again.
    func testTheConnectionCapRefusesPastItAndTheHeaderTimeoutFreesTheSlots() throws {
        let gateway = try GatewayProcess(arguments: ["--max-connections", "50", "--header-timeout-ms", "2000"])
        defer { XCTAssertEqual(gateway.stop(), 0) }
        XCTAssertTrue(eventually { openConnections(gateway) == 1 }, "only the metrics request's own connection")
        usleep(200_000)  // let the gateway see that connection's close before the cap is filled
        let held = try (0..<50).map { _ in try gateway.connect(timeout: 10) }
        let extra = try gateway.connect(timeout: 10)
        try? extra.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertNil(extra.readResponse(), "the 51st connection is closed without an answer")
        XCTAssertTrue(extra.peerClosed)
        for client in held {
            XCTAssertTrue(client.waitForClose(), "a silent connection is closed at the header timeout")
        }
        XCTAssertTrue(eventually(within: 10) { (try? gateway.get("/healthz").status) == 200 })
        let metrics = try gateway.get("/metrics").bodyText
        let refused = metrics.split(separator: "\n").first { $0.hasPrefix("storegate_http_connections_refused_total ") }
        XCTAssertGreaterThanOrEqual(Int(refused?.split(separator: " ").last ?? "") ?? 0, 1, metrics)
    }

    private func openConnections(_ gateway: GatewayProcess) -> Int? {
        guard let text = try? gateway.get("/metrics").bodyText else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("storegate_http_connections_open ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    /// Whether bytes or EOF are waiting (without consuming them).
    private func hasInput(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
    }

    private func raiseDescriptorLimit(to wanted: rlim_t) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = min(wanted, limit.rlim_max)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
