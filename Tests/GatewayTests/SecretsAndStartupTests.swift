import Foundation
import TestSupport
import XCTest

/// The store password and the API keys never leave the process: not in logs, access
/// logs, /metrics, /v1/cluster or any error body, whatever goes wrong. Plus the
/// start-up messages about keys: a bad line names its line, auth off is a warning.
final class SecretsAndStartupTests: XCTestCase {
    func testCredentialsNeverAppearInLogsMetricsClusterOrErrors() throws {
        let password = "storepw-\(UUID().uuidString)"
        let redis = try RedisServer(password: password)
        let fileKey = "filekey-\(UUID().uuidString)"
        let envKey = "envkey-\(UUID().uuidString)"
        let keyFile = redis.directory.appendingPathComponent("keys.txt")
        try "\(fileKey):read,write,admin:*\n".write(to: keyFile, atomically: true, encoding: .utf8)
        var seen: [String] = []

        // The password in the URL; every endpoint and several errors.
        let gateway = try GatewayProcess(
            arguments: ["--store", redis.url, "--api-keys-file", keyFile.path, "--log-level", "info"],
            environment: ["STOREGATE_API_KEYS": "\(envKey):read:test"])
        XCTAssertTrue(eventually { (try? gateway.get("/readyz").status) == 200 }, gateway.log)
        func call(_ method: String, _ path: String, key: String?, body: String? = nil) throws -> ParsedResponse {
            var head = "\(method) \(path) HTTP/1.1\r\nHost: t\r\n"
            if let key { head += "Authorization: Bearer \(key)\r\n" }
            if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
            let response = try gateway.request(head + "\r\n" + (body ?? ""))
            seen.append(response.description)
            return response
        }
        XCTAssertEqual(try call("GET", "/v1/cluster", key: fileKey).status, 200)
        XCTAssertEqual(try call("GET", "/metrics", key: fileKey).status, 200)
        XCTAssertEqual(try call("GET", "/v1/kv/test/s/k", key: envKey).status, 404)
        XCTAssertEqual(try call("PUT", "/v1/kv/test/s/k", key: envKey, body: "{}").status, 403)
        XCTAssertEqual(try call("PUT", "/v1/kv/test/s/k", key: fileKey, body: "{bad").status, 400)
        XCTAssertEqual(try call("GET", "/v1/kv/test/s/k", key: fileKey + "x").status, 401)
        XCTAssertEqual(try call("GET", "/v1/kv/test/s/k", key: nil).status, 401)
        XCTAssertEqual(try call("GET", "/v1/kv/test/s/k?nosuch=1", key: fileKey).status, 400)
        // The store goes away: 503s, readiness failures, reconnect attempts in the log.
        redis.stop()
        XCTAssertEqual(try call("GET", "/v1/kv/test/s/k", key: fileKey).status / 100, 5)
        XCTAssertEqual(try call("GET", "/readyz", key: nil).status, 503)
        XCTAssertEqual(try call("GET", "/v1/cluster", key: fileKey).status, 200)
        XCTAssertEqual(try call("GET", "/metrics", key: fileKey).status, 200)
        XCTAssertEqual(gateway.stop(), 0)
        let cluster = try XCTUnwrap(seen.first { $0.contains("\"nodes\"") })
        XCTAssertTrue(cluster.contains("redis://:***@127.0.0.1:\(redis.port)"), cluster)

        // The password from STOREGATE_STORE_PASSWORD, and a wrong one in the URL.
        try redis.start()
        let fromEnvironment = try GatewayProcess(
            arguments: ["--store", "redis://127.0.0.1:\(redis.port)"],
            environment: ["STOREGATE_STORE_PASSWORD": password])
        XCTAssertTrue(eventually { (try? fromEnvironment.get("/readyz").status) == 200 }, fromEnvironment.log)
        seen.append(try fromEnvironment.get("/v1/cluster").description)
        XCTAssertEqual(fromEnvironment.stop(), 0)
        let wrongPassword = "wrongpw-\(UUID().uuidString)"
        let refused = try runStoregate([
            "--listen", "127.0.0.1:\(freePort())", "--store", "redis://:\(wrongPassword)@127.0.0.1:\(redis.port)",
        ])
        XCTAssertEqual(refused.status, 78, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("store authentication failed"), refused.stderr)

        let captured =
            ([gateway.log, gateway.output, fromEnvironment.log, fromEnvironment.output, refused.stderr] + seen)
            .joined(separator: "\n")
        XCTAssertTrue(captured.contains("storegate_http_requests_total"), "the metrics were captured")
        XCTAssertTrue(captured.contains("\"event\":\"request\""), "the access log was captured")
        for secret in [password, wrongPassword, fileKey, envKey] {
            XCTAssertFalse(captured.contains(secret), "\(secret.prefix(8))… leaked")
            XCTAssertFalse(captured.contains(String(secret.dropFirst(8))), "\(secret.prefix(8))… leaked in part")
        }
    }

    func testABadKeyLineStopsStartUpNamingTheLineButNotTheKey() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sg-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("keys.txt")
        try "# ok\ngoodkey1:read:test\n\nsecretkey2:reed:test\n".write(to: file, atomically: true, encoding: .utf8)
        let result = try runStoregate(["--api-keys-file", file.path])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("\(file.path):4: unknown scope 'reed'"), result.stderr)
        XCTAssertFalse(result.stderr.contains("secretkey2"), result.stderr)

        let fromEnvironment = try runStoregate([], environment: ["STOREGATE_API_KEYS": "a:read:test;secretkey3:read"])
        XCTAssertEqual(fromEnvironment.status, 64)
        XCTAssertTrue(
            fromEnvironment.stderr.contains("STOREGATE_API_KEYS:2: expected KEY:SCOPES:NAMESPACES"),
            fromEnvironment.stderr)
        XCTAssertFalse(fromEnvironment.stderr.contains("secretkey3"))

        let missing = try runStoregate(["--api-keys-file", directory.appendingPathComponent("absent").path])
        XCTAssertEqual(missing.status, 64)
        XCTAssertTrue(missing.stderr.contains("cannot read"), missing.stderr)
        XCTAssertEqual(try runStoregate(["--public-endpoints", "healthz,secrets"]).status, 64)
        XCTAssertEqual(try runStoregate(["--cors-origins", "app.example"]).status, 64)
    }

    func testAuthOffIsAWarningAndLetsEveryoneIn() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: ["--store", redis.url, "--log-level", "error"])
        XCTAssertEqual(try gateway.get("/v1/cluster").status, 200)
        XCTAssertEqual(try gateway.get("/metrics").status, 200)
        XCTAssertTrue(eventually { gateway.log.contains(#""level":"warn","event":"auth_off""#) }, gateway.log)
        XCTAssertTrue(gateway.log.contains("NO API KEYS CONFIGURED"))
        XCTAssertEqual(gateway.stop(), 0)
    }

    func testPublicEndpointsCanBeOpenedOrClosed() throws {
        let redis = try RedisServer()
        let key = "k-\(UUID().uuidString)"
        let closed = try GatewayProcess(
            arguments: ["--store", redis.url, "--public-endpoints", "none"],
            environment: ["STOREGATE_API_KEYS": "\(key):read:*"])
        XCTAssertEqual(try closed.get("/healthz").status, 401)
        XCTAssertEqual(try closed.get("/readyz").status, 401)
        XCTAssertEqual(
            try closed.request("GET /healthz HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(key)\r\n\r\n").status, 200)
        XCTAssertEqual(closed.stop(), 0)
        let open = try GatewayProcess(
            arguments: ["--store", redis.url, "--public-endpoints", "metrics,openapi.yaml"],
            environment: ["STOREGATE_API_KEYS": "\(key):read:*"])
        XCTAssertEqual(try open.get("/metrics").status, 200)
        XCTAssertEqual(try open.get("/openapi.yaml").status, 200)
        XCTAssertEqual(try open.get("/healthz").status, 401)
        XCTAssertEqual(try open.get("/v1/cluster").status, 401)
        XCTAssertEqual(open.stop(), 0)
    }

    /// Runs the binary to completion (for start-up failures).
    private func runStoregate(_ arguments: [String], environment: [String: String] = [:]) throws -> (
        status: Int32, stderr: String
    ) {
        let process = Process()
        process.executableURL = buildProductsDirectory.appendingPathComponent("storegate")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STOREGATE_") }
            .merging(environment) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
