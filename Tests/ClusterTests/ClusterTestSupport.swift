import Foundation
import TestSupport
import XCTest

/// A keep-alive HTTP client for the cluster tests: one request at a time, reconnecting
/// when the gateway closed the connection.
final class GatewayClient {
    let port: UInt16
    private var client: RawHTTPClient?

    init(port: UInt16) { self.port = port }

    func call(_ method: String, _ path: String, json body: String? = nil) throws -> ParsedResponse {
        var raw = "\(method) \(path) HTTP/1.1\r\nHost: test\r\n"
        if let body {
            raw += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        } else {
            raw += "\r\n"
        }
        for attempt in 0..<2 {
            let client = try self.client ?? RawHTTPClient(port: port, timeout: 10 * timeoutMultiplier)
            self.client = client
            if (try? client.send(raw)) != nil, let response = client.readResponse(forHead: method == "HEAD") {
                if response.header("Connection")?.lowercased() == "close" { self.client = nil }
                return response
            }
            self.client = nil
            if attempt == 1 { break }
        }
        throw TestError("no response to \(method) \(path)")
    }

    func put(_ set: String, _ key: String, value: String) throws -> ParsedResponse {
        try call("PUT", "/v1/kv/test/\(set)/\(key)", json: #"{"bins":{"v":"\#(value)"}}"#)
    }

    func get(_ set: String, _ key: String) throws -> ParsedResponse {
        try call("GET", "/v1/kv/test/\(set)/\(key)")
    }

    /// The "v" bin of a record response.
    static func value(_ response: ParsedResponse) -> String? {
        (response.json?["bins"] as? [String: Any])?["v"] as? String
    }
}

/// Starts a gateway against `cluster` and waits until `/readyz` says ready.
func startGateway(_ cluster: RedisCluster, _ extra: [String] = []) throws -> GatewayProcess {
    let gateway = try GatewayProcess(arguments: ["--store", cluster.seedURL, "--access-log", "off"] + extra)
    guard eventually(within: 15, { (try? gateway.get("/readyz"))?.status == 200 }) else {
        throw TestError("the gateway never became ready: \(gateway.log.suffix(2000))")
    }
    return gateway
}

/// The Redis key of record test/`set`/`key` (keys here need no escaping).
func redisKey(_ set: String, _ key: String) -> String { "sg:{test/\(set)/\(key)}" }

/// Keys on one node matching `pattern`, read with redis-cli --scan.
func keys(on server: RedisServer, matching pattern: String) throws -> Set<String> {
    let result = try RedisCluster.run(
        "redis-cli", ["-h", "127.0.0.1", "-p", String(server.port), "--scan", "--pattern", pattern])
    return Set(result.output.split(separator: "\n").map(String.init))
}
