import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Layer 2 with a long admission queue, against the real binary and a real redis-server:
/// releasing capacity admits waiting requests in a loop, however the handler answers them.
final class AdmissionQueueTests: XCTestCase {
    /// Capacity held by a request waiting on a stalled store, 10,000 requests waiting
    /// behind it that the router answers at once (404). Freeing the slot admits them
    /// all: each one is answered, the gateway stays up, and its memory stays bounded.
    func testTenThousandWaitingRequestsAnsweredAtOnceWhenCapacityFrees() throws {
        raiseDescriptorLimit()
        let waitingCount = 10_000
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        try XCTSkipIf(limit.rlim_cur < rlim_t(waitingCount + 200), "needs \(waitingCount + 200) descriptors")

        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: [
            "--store", redis.url, "--access-log", "off",
            "--max-requests-in-progress", "1", "--admission-timeout-ms", "600000",
            "--store-timeout-ms", "600000", "--max-connections", String(waitingCount + 100),
        ])
        let body = #"{"bins":{"v":"held"}}"#
        let put = try gateway.request(
            "PUT /v1/kv/aq/s/held HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        XCTAssertTrue([200, 201].contains(put.status), put.description)

        // The one unit of capacity: a read on the stalled store.
        redis.pause()
        let holder = try gateway.connect(timeout: 60)
        try holder.send("GET /v1/kv/aq/s/held HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(200_000)  // let the gateway admit it before anything else arrives

        // Everyone else waits in admission, one request per connection.
        var clients: [RawHTTPClient] = []
        clients.reserveCapacity(waitingCount)
        for _ in 0..<waitingCount {
            let client = try gateway.connect(timeout: 60)
            try client.send("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n")
            clients.append(client)
        }
        XCTAssertTrue(
            eventually(within: 30) { openDescriptorCount(pid: gateway.pid) >= waitingCount },
            "the gateway accepted every connection")
        usleep(1_000_000)  // let the gateway read the last requests into the queue
        XCTAssertNil(clients.last?.readResponseWithin(0.05), "requests wait while the capacity is held")

        // Free the slot: the holder completes, then every waiting request is admitted.
        redis.resume()
        let held = try XCTUnwrap(holder.readResponse(), "holder answered; \(crashReport(gateway.log))")
        XCTAssertEqual(held.status, 200)
        var statuses: [Int: Int] = [:]
        for client in clients {
            guard let response = client.readResponse() else { break }
            statuses[response.status, default: 0] += 1
        }
        XCTAssertTrue(gateway.process.isRunning, "gateway died: \(crashReport(gateway.log))")
        XCTAssertEqual(statuses, [404: waitingCount], "every waiting request answered 404")
        XCTAssertEqual(try gateway.get("/healthz").status, 200)
        let peak = try XCTUnwrap(peakResidentBytes(pid: gateway.pid))
        // 10,000 connections with one parsed request each, plus the runtime: about 30 MiB
        // in a debug build; a queue that grew without bound, or a copy per waiter, would not fit.
        XCTAssertLessThan(peak, 128 << 20, "peak RSS \(peak) bytes")
    }
}

extension RawHTTPClient {
    /// A response that arrives within `seconds`, or nil; the timeout is restored after.
    fileprivate func readResponseWithin(_ seconds: Double) -> ParsedResponse? {
        setTimeout(seconds)
        defer { setTimeout(60) }
        return readResponse()
    }
}

/// Peak resident set size of a process in bytes (VmHWM in /proc/PID/status).
private func peakResidentBytes(pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
    }
    return nil
}

/// A crash in a gateway log, summed up: the signal line and how deep the backtrace went.
private func crashReport(_ log: String) -> String {
    let lines = log.split(separator: "\n")
    guard let crash = lines.first(where: { $0.contains("Program crashed") }) else { return "no crash in the log" }
    let frames = lines.filter { $0.contains(" in storegate at ") }
    let admission = frames.filter { $0.contains("Admission.swift") }.count
    return "\(crash); \(frames.count) frames, \(admission) in Admission.swift; innermost: \(frames.first ?? "")"
}
