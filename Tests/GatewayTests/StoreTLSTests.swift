import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `rediss://` against a real TLS-only redis-server with certificates made at test
/// time: records round trip, client certificates, each verification failure stopping
/// start-up with its reason, and a TLS store killed and restarted under load.
final class StoreTLSTests: XCTestCase {
    private func put(_ gateway: GatewayProcess, key: String, value: Int, timeout: Double = 5) -> Int {
        let body = #"{"bins":{"v":\#(value)}}"#
        let request =
            "PUT /v1/kv/tls/s/\(key) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        guard let client = try? gateway.connect(timeout: timeout), (try? client.send(request)) != nil else { return 0 }
        return client.readResponse()?.status ?? 0
    }

    private func tlsArguments(_ certificates: TestCertificates, clientCertificate: Bool = true) -> [String] {
        var arguments = ["--store-tls-ca-file", certificates.caFile]
        if clientCertificate {
            arguments += [
                "--store-tls-cert-file", certificates.clientCertificate, "--store-tls-key-file", certificates.clientKey,
            ]
        }
        return arguments
    }

    func testRecordRoundTripWithARequiredClientCertificate() throws {
        let certificates = try TestCertificates()
        let redis = try RedisServer(
            password: "tls-secret", tls: .init(certificates: certificates, requireClientCertificates: true))
        let gateway = try GatewayProcess(
            arguments: ["--store", redis.url, "--access-log", "off"] + tlsArguments(certificates))
        XCTAssertTrue(eventually(within: 10) { (try? gateway.get("/readyz").status) == 200 }, gateway.log)
        XCTAssertEqual(put(gateway, key: "alice", value: 42), 201)
        let read = try gateway.get("/v1/kv/tls/s/alice")
        XCTAssertEqual(read.status, 200)
        XCTAssertTrue(read.bodyText.contains("42"), read.bodyText)
        XCTAssertEqual(try redis.cli(["DBSIZE"]), "1", "the record is in the TLS store")
        XCTAssertGreaterThan(try redis.clientCount(named: "storegate"), 0, "connected over TLS")
        let keyText = try String(contentsOfFile: certificates.clientKey, encoding: .utf8)
        let keyLines = keyText.split(separator: "\n").filter { !$0.hasPrefix("-----") }
        XCTAssertFalse(keyLines.isEmpty)
        let metrics = try gateway.get("/metrics").bodyText
        for line in keyLines {
            XCTAssertFalse(gateway.log.contains(line), "the key is never logged")
            XCTAssertFalse(metrics.contains(line), "the key is never in metrics")
        }
        XCTAssertEqual(gateway.stop(), 0)
    }

    func testAServerRequiringClientCertificatesRefusesAGatewayWithout() throws {
        let certificates = try TestCertificates()
        let redis = try RedisServer(tls: .init(certificates: certificates, requireClientCertificates: true))
        let gateway = try GatewayProcess(
            arguments: ["--store", redis.url, "--access-log", "off"]
                + tlsArguments(certificates, clientCertificate: false))
        XCTAssertEqual(put(gateway, key: "nobody", value: 1) / 100, 5, "the store is unreachable without a certificate")
        XCTAssertNotEqual(try gateway.get("/readyz").status, 200)
        XCTAssertEqual(try redis.cli(["DBSIZE"]), "0")
        XCTAssertEqual(gateway.stop(), 0)
    }

    func testEachRejectedCertificateStopsStartUpWithItsReason() throws {
        let certificates = try TestCertificates()
        let redis = try RedisServer(tls: .init(certificates: certificates))
        let expired = try RedisServer(
            tls: .init(certificates: certificates, certificateFile: certificates.expiredCertificate))
        let cases: [(label: String, arguments: [String], reason: String)] = [
            ("unknown CA", ["--store", redis.url, "--store-tls-ca-file", certificates.otherCAFile], "unknown CA"),
            ("expired", ["--store", expired.url, "--store-tls-ca-file", certificates.caFile], "expired"),
            (
                "wrong host",
                [
                    "--store", redis.url, "--store-tls-ca-file", certificates.caFile, "--store-tls-server-name",
                    "db.example",
                ],
                "wrong host"
            ),
        ]
        for (label, arguments, reason) in cases {
            let (status, log) = try runToExit(
                arguments + ["--listen", "127.0.0.1:\(freePort())", "--access-log", "off"])
            XCTAssertEqual(status, 76, "\(label): \(log)")
            XCTAssertTrue(log.contains("certificate rejected"), "\(label): \(log)")
            XCTAssertTrue(log.contains(reason), "\(label): \(log)")
        }
        let insecure = try GatewayProcess(arguments: [
            "--store", expired.url, "--store-tls-insecure", "on", "--access-log", "off",
        ])
        XCTAssertEqual(put(insecure, key: "anyway", value: 7) / 100, 2, "insecure accepts any certificate")
        XCTAssertTrue(insecure.log.contains("store_tls_insecure"), insecure.log)
        XCTAssertEqual(insecure.stop(), 0)
    }

    /// Runs storegate until it exits on its own (within 15 s); its status and stderr.
    private func runToExit(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = buildProductsDirectory.appendingPathComponent("storegate")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STOREGATE_") }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        guard eventually(within: 15, { !process.isRunning }) else {
            process.terminate()
            process.waitUntilExit()
            throw TestError("storegate kept running: \(arguments)")
        }
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, log)
    }

    func testATLSStoreKilledAndRestartedUnderLoadAnswersEveryRequest() throws {
        let certificates = try TestCertificates()
        let redis = try RedisServer(tls: .init(certificates: certificates))
        let gateway = try GatewayProcess(arguments: [
            "--store", redis.url, "--store-timeout-ms", "300", "--access-log", "off",
            "--store-tls-ca-file", certificates.caFile,
        ])
        var statuses: [Int: Int] = [:]
        for index in 0..<150 {
            switch index {
            case 40: redis.kill()
            case 70:
                try redis.start()
                XCTAssertTrue(eventually(within: 10) { (try? gateway.get("/readyz").status) == 200 }, gateway.log)
            default: break
            }
            statuses[put(gateway, key: "k\(index % 10)", value: index), default: 0] += 1
        }
        XCTAssertEqual(statuses[0], nil, "no request hung or went unanswered: \(statuses)")
        XCTAssertGreaterThanOrEqual((statuses[200] ?? 0) + (statuses[201] ?? 0), 100, "\(statuses)")
        XCTAssertGreaterThan(statuses.filter { $0.key >= 500 }.values.reduce(0, +), 0, "the dead store was noticed")
        XCTAssertEqual(put(gateway, key: "after", value: 1) / 100, 2)
        XCTAssertEqual(gateway.stop(), 0)
    }
}
