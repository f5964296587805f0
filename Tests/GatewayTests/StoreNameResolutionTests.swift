import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A store addressed by host name: each connection resolves it off the loop thread, so
/// a DNS server that never answers delays only the store's connects, and every other
/// request (health checks, answers from other nodes, errors) keeps flowing.
final class StoreNameResolutionTests: XCTestCase {
    func testAStoreAddressedByNameConnectsAndReconnects() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let gateway = try GatewayProcess(arguments: [
            "--store", "redis://localhost:\(redis.port)", "--access-log", "off",
        ])
        defer { gateway.stop() }
        XCTAssertEqual(try gateway.call("PUT", "/v1/kv/test/dns/k", body: #"{"bins":{"v":1}}"#).status, 201)
        _ = try redis.cli(["CLIENT", "KILL", "TYPE", "normal"])
        let reread = eventually(within: 10) {
            let response = try? gateway.get("/v1/kv/test/dns/k")
            return response?.status == 200 && (response?.json?["bins"] as? [String: Any])?["v"] as? Int == 1
        }
        XCTAssertTrue(reread, "the record is read again over a connection to localhost opened after the kill")
    }

    /// The gateway runs in a mount namespace of its own whose /etc/resolv.conf names a
    /// loopback nameserver that takes queries and never answers (root, for `unshare -m`
    /// and port 53). Before names were resolved off the loop, each connect attempt
    /// blocked the whole gateway for the resolver's timeout (10 s here).
    func testADNSServerThatNeverAnswersStallsNoOtherRequest() throws {
        try XCTSkipIf(getuid() != 0, "needs root: a mount namespace (unshare -m) and UDP port 53")
        let unshare = "/usr/bin/unshare"
        try XCTSkipIf(!FileManager.default.isExecutableFile(atPath: unshare), "needs util-linux's unshare")
        try XCTSkipIf(
            (try RedisCluster.run("unshare", ["-m", "/bin/true"])).status != 0,
            "needs mount namespaces (unshare -m): not allowed here")

        let nameserver = "127.\(Int.random(in: 1...250)).\(Int.random(in: 1...250)).1"
        let blackHole = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(blackHole) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(53).bigEndian
        address.sin_addr.s_addr = inet_addr(nameserver)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(blackHole, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(bound, 0, "bind \(nameserver):53: errno \(errno)")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("storegate-dns-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let resolvConf = directory.appendingPathComponent("resolv.conf")
        try "nameserver \(nameserver)\noptions timeout:5 attempts:2\n".write(
            to: resolvConf, atomically: true, encoding: .utf8)

        let gateway = try GatewayProcess(
            arguments: [
                "--store", "redis://storegate-dns-test.example:6379", "--access-log", "off",
                "--store-connect-timeout-ms", "1000",
            ],
            launcher: [
                unshare, "-m", "/bin/sh", "-c", "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"", resolvConf.path,
            ])
        defer { gateway.stop() }

        for attempt in 0..<5 {
            let started = Date()
            let health = try gateway.get("/healthz")
            let elapsed = Date().timeIntervalSince(started)
            XCTAssertEqual(health.status, 200, "\(health)")
            XCTAssertLessThan(elapsed, 2 * timeoutMultiplier, "/healthz \(attempt) waited on the resolver")
            Thread.sleep(forTimeInterval: 0.3)
        }
        let started = Date()
        let read = try gateway.get("/v1/kv/test/dns/k")
        XCTAssertLessThan(Date().timeIntervalSince(started), 2 * timeoutMultiplier, "\(read)")
        XCTAssertEqual(read.status, 503, "\(read)")
        XCTAssertEqual(read.errorCode, "store_unavailable", "\(read)")
        XCTAssertTrue(read.bodyText.contains("storegate-dns-test.example:6379"), "the error names the store: \(read)")
        // libuv joins its resolver threads at exit; the gateway does not wait for them.
        XCTAssertEqual(gateway.stop(within: 3), 0, "stopped on SIGTERM while a lookup was still waiting")
    }
}
