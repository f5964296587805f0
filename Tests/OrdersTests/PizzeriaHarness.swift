import Foundation
import TestSupport
import XCTest

/// A real redis-server and the built gateway with a tiny story minute, plus the HTTP
/// calls the order tests make (raw sockets, keep-alive, pipelined for bulk orders).
final class PizzeriaHarness {
    let redis: RedisServer
    private(set) var gateway: GatewayProcess
    let arguments: [String]

    init(minuteMs: Int = 5, _ extra: [String] = []) throws {
        redis = try RedisServer()
        arguments =
            ["--store", redis.url, "--pizzeria", "on", "--minute-ms", String(minuteMs), "--access-log", "off"] + extra
        gateway = try GatewayProcess(arguments: arguments)
        try waitForSeed()
    }

    /// The kitchen seeds stock and customers at start; wait until they are there.
    func waitForSeed() throws {
        let seeded = try eventually(within: 10) {
            try redis.cli(["HGET", "pizzeria:{stock}", "parmesan"]) != ""
                && redis.cli(["EXISTS", "sg:{pizzeria/customers/elena}"]) == "1"
        }
        guard seeded else { throw TestError("the kitchen did not seed the store: \(gateway.log)") }
    }

    /// SIGKILL the gateway and start a new one on the same store.
    func restart(kill signal: Int32 = SIGKILL) throws {
        gateway.stop(signal: signal)
        gateway = try GatewayProcess(arguments: arguments)
    }

    static func orderBody(customer: String = "alice", pizza: String = "margherita", quantity: Int = 1) -> String {
        #"{"customer":"\#(customer)","items":[{"pizza":"\#(pizza)","quantity":\#(quantity)}],"address":"Via Roma 1"}"#
    }

    static func post(_ path: String, _ body: String, headers: [String] = [], contentType: String = "application/json")
        -> String
    {
        let extra = headers.map { $0 + "\r\n" }.joined()
        return "POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: \(contentType)\r\n\(extra)"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    func placeOrder(_ body: String = orderBody(), headers: [String] = []) throws -> ParsedResponse {
        try gateway.request(Self.post("/v1/orders", body, headers: headers))
    }

    func restock(_ ingredients: [String: Int]) throws -> ParsedResponse {
        let fields = ingredients.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        return try gateway.request(Self.post("/v1/kitchen/restock", "{\"ingredients\":{\(fields)}}"))
    }

    /// Many orders at once: `connections` sockets, each with its share of the requests
    /// written back to back (pipelined), then every response read. Returns the order ids.
    func placeOrders(_ bodies: [String], connections: Int = 8) throws -> [String] {
        var clients: [RawHTTPClient] = []
        var shares: [[String]] = Array(repeating: [], count: connections)
        for (index, body) in bodies.enumerated() { shares[index % connections].append(body) }
        for share in shares {
            let client = try gateway.connect(timeout: 30)
            try client.send(share.map { Self.post("/v1/orders", $0) }.joined())
            clients.append(client)
        }
        var ids: [String] = []
        for (client, share) in zip(clients, shares) {
            for _ in share {
                let response = try XCTUnwrap(client.readResponse(), "a response to every order")
                guard response.status == 202, let id = response.json?["id"] as? String else {
                    throw TestError("order refused: \(response)")
                }
                ids.append(id)
            }
        }
        return ids
    }

    func order(_ id: String) throws -> [String: Any] {
        let response = try gateway.get("/v1/orders/\(id)")
        guard response.status == 200, let json = response.json else { throw TestError("GET order \(id): \(response)") }
        return json
    }

    func kitchen() throws -> [String: Any] {
        try XCTUnwrap(try gateway.get("/v1/kitchen").json)
    }

    func stock(_ ingredient: String) throws -> Int {
        Int(try redis.cli(["HGET", "pizzeria:{stock}", ingredient])) ?? -1
    }

    /// The statuses recorded in an order's event stream, in order.
    func history(_ id: String) throws -> [String] {
        let lines = try redis.cli(["XRANGE", "pizzeria:order:{o:\(id)}:events", "-", "+"]).split(separator: "\n").map(
            String.init)
        var statuses: [String] = []
        for (index, line) in lines.enumerated() where line == "status" && index + 1 < lines.count {
            statuses.append(lines[index + 1])
        }
        return statuses
    }

    /// Each event's status and wall-clock time (ms), in order.
    func timedHistory(_ id: String) throws -> [(status: String, at: Int64)] {
        let lines = try redis.cli(["XRANGE", "pizzeria:order:{o:\(id)}:events", "-", "+"]).split(separator: "\n").map(
            String.init)
        var events: [(status: String, at: Int64)] = []
        var status: String?
        for (index, line) in lines.enumerated() where index + 1 < lines.count {
            if line == "status" { status = lines[index + 1] }
            if line == "at", let pending = status, let at = Int64(lines[index + 1]) {
                events.append((pending, at))
                status = nil
            }
        }
        return events
    }

    /// Every order's status straight from the store (one hash per order).
    func storedStatuses(_ ids: [String]) throws -> [String: String] {
        var statuses: [String: String] = [:]
        for chunk in stride(from: 0, to: ids.count, by: 200).map({ Array(ids[$0..<min($0 + 200, ids.count)]) }) {
            let script =
                "local out = {} for i, k in ipairs(KEYS) do out[i] = redis.call('HGET', k, 'status') or '' end return out"
            let keys = chunk.map { "pizzeria:order:{o:\($0)}" }
            let values = try redis.cli(["EVAL", script, String(keys.count)] + keys).split(
                separator: "\n", omittingEmptySubsequences: false)
            for (id, value) in zip(chunk, values) { statuses[id] = String(value) }
        }
        return statuses
    }

    /// The `data:` objects of an SSE body.
    static func serverSentEvents(_ body: String) -> [[String: Any]] {
        body.components(separatedBy: "\n").compactMap { line in
            guard line.hasPrefix("data: ") else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8))) as? [String: Any]
        }
    }

    static func statuses(_ timeline: Any?) -> [String] {
        ((timeline as? [[String: Any]]) ?? []).compactMap { $0["status"] as? String }
    }
}

/// ISO 8601 with milliseconds, as the timeline writes it.
func parseTimestamp(_ text: Any?) -> Date? {
    guard let text = text as? String else { return nil }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)
}
