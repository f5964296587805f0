import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Acknowledged writes survive store stalls, kills and restarts; `--workers` serves
/// from every worker, restarts a killed one and drains them all; `healthcheck` exit codes.
final class DurabilityAndWorkersTests: XCTestCase {
    private func put(_ gateway: GatewayProcess, key: String, value: Int) -> Int {
        let body = #"{"bins":{"v":\#(value)}}"#
        let request =
            "PUT /v1/kv/d/s/\(key) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        guard let client = try? gateway.connect(timeout: 3) else { return 0 }
        guard (try? client.send(request)) != nil else { return 0 }
        return client.readResponse()?.status ?? 0
    }

    func testNoAcknowledgedWriteIsLostThroughStallKillAndRestart() throws {
        let redis = try RedisServer(persistent: true)
        let gateway = try GatewayProcess(arguments: [
            "--store", redis.url, "--store-timeout-ms", "300", "--access-log", "off",
        ])
        var acknowledged: [String: Int] = [:]
        var outcomes: [Int: Int] = [:]
        for index in 0..<300 {
            switch index {
            case 60: redis.pause()
            case 80:
                redis.resume()
                // While the node is marked down requests fail fast; wait for the reconnect probe.
                XCTAssertTrue(eventually(within: 10) { (try? gateway.get("/readyz").status) == 200 })
            case 150: redis.kill()
            case 170:
                try redis.start()
                XCTAssertTrue(eventually(within: 10) { (try? gateway.get("/readyz").status) == 200 })
            default: break
            }
            let key = "k\(index % 120)"
            let status = put(gateway, key: key, value: index)
            outcomes[status, default: 0] += 1
            if (200..<300).contains(status) { acknowledged[key] = index }
        }
        XCTAssertGreaterThan(outcomes[200, default: 0] + outcomes[201, default: 0], 120, "\(outcomes)")
        XCTAssertEqual(Set(outcomes.keys).subtracting([200, 201, 502, 503, 504]), [], "\(outcomes)")
        XCTAssertTrue(
            eventually(within: 10) { (200..<300).contains(put(gateway, key: "after", value: 1)) }, "writes resume")
        XCTAssertGreaterThan(outcomes.filter { $0.key >= 500 }.count, 0, "the faults were felt: \(outcomes)")
        for (key, value) in acknowledged {
            XCTAssertEqual(
                try redis.storedBin("sg:{d/s/\(key)}", "v"), String(value), "acknowledged \(key)=\(value)")
        }
    }

    func testWorkersShareThePortRestartAndDrain() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: ["--store", redis.url, "--workers", "2", "--access-log", "off"])
        var seen = Set<Int>()
        XCTAssertTrue(
            eventually(within: 10) {
                if let worker = try? gateway.get("/healthz").json?["worker"] as? Int { seen.insert(worker) }
                return seen == [1, 2]
            }, "both workers answer: \(seen)")

        let children = childProcesses(of: gateway.pid)
        XCTAssertEqual(children.count, 2)
        // Writes keep being acknowledged while one worker is killed; each 2xx is in redis.
        var acknowledged: [String: Int] = [:]
        for index in 0..<60 {
            if index == 20, let victim = children.first { kill(victim, SIGKILL) }
            let status = put(gateway, key: "w\(index)", value: index)
            if (200..<300).contains(status) { acknowledged["w\(index)"] = index }
        }
        XCTAssertGreaterThan(acknowledged.count, 50)
        for (key, value) in acknowledged {
            XCTAssertEqual(try redis.storedBin("sg:{d/s/\(key)}", "v"), String(value))
        }
        XCTAssertTrue(
            eventually(within: 10) { childProcesses(of: gateway.pid).count == 2 }, "the killed worker is restarted")
        XCTAssertNotEqual(Set(childProcesses(of: gateway.pid)), Set(children))
        XCTAssertEqual(gateway.stop(), 0, gateway.log)
        XCTAssertTrue(eventually { children.allSatisfy { kill($0, 0) != 0 } }, "every worker exited")
    }

    func testHealthcheckSubcommandExitCodes() throws {
        let gateway = try GatewayProcess(arguments: ["--access-log", "off"])
        XCTAssertEqual(try healthcheck(["--url", "http://127.0.0.1:\(gateway.port)/healthz"]), 0)
        XCTAssertEqual(
            try healthcheck(["--url", "http://127.0.0.1:\(gateway.port)/readyz"]), 1, "503: no store behind it")
        XCTAssertEqual(try healthcheck(["--url", "http://127.0.0.1:\(freePort())/healthz", "--timeout-ms", "500"]), 1)
        XCTAssertEqual(try healthcheck(["--bogus"]), 2)
    }

    private func healthcheck(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = buildProductsDirectory.appendingPathComponent("storegate")
        process.arguments = ["healthcheck"] + arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    private func childProcesses(of pid: Int32) -> [Int32] {
        let path = "/proc/\(pid)/task/\(pid)/children"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
