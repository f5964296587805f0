import Foundation
import TestSupport
import XCTest

/// One request on a new connection.
private func call(
    _ gateway: GatewayProcess, _ method: String, _ path: String, json body: String? = nil
) throws -> ParsedResponse {
    var raw = "\(method) \(path) HTTP/1.1\r\nHost: test\r\n"
    if let body {
        raw += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    } else {
        raw += "\r\n"
    }
    return try gateway.request(raw)
}

/// A `commit=replicas` PUT of test/c/`key` (3 s deadline) sent from a thread of its own.
private final class ReplicasWriteOnItsOwnThread: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var response: ParsedResponse?
    private var finished = false

    init(_ gateway: GatewayProcess, key: String) {
        Thread { [self] in
            response = try? call(
                gateway, "PUT", "/v1/kv/test/c/\(key)?commit=replicas&timeout_ms=3000", json: #"{"bins":{"v":3}}"#)
            done.signal()
        }.start()
    }

    /// Waits for the response (nil: none came).
    func answer() -> ParsedResponse? {
        if !finished {
            done.wait()
            finished = true
        }
        return response
    }
}

/// `?commit=` on real servers: a gateway in front of a master with one replica, and one
/// in front of a lone master. A `replicas` write is acknowledged only once the replica
/// has it; with the replica stopped it answers 504 `in_doubt` within its deadline while
/// `master` writes go on; a store without replicas refuses it with 409.
final class CommitLevelTests: XCTestCase {
    private func errorBody(_ response: ParsedResponse) -> [String: Any] {
        response.json?["error"] as? [String: Any] ?? [:]
    }

    /// The replica holds a key naming `name` (read on the replica itself, no waiting).
    private func replicaHas(_ pair: RedisReplicaPair, _ name: String) throws -> Bool {
        !(try pair.replica.cli(["KEYS", "*\(name)*"])).isEmpty
    }

    func testReplicasWritesWaitForTheReplicaAndAreInDoubtWhileItIsStopped() throws {
        let pair = try RedisReplicaPair()
        defer { pair.stop() }
        let gateway = try GatewayProcess(arguments: ["--store", pair.master.url, "--access-log", "off"])
        defer { gateway.stop() }

        // Acknowledged means on the replica: read there right after the answer.
        for index in 0..<20 {
            let put = try call(gateway, "PUT", "/v1/kv/test/c/rep\(index)?commit=replicas", json: #"{"bins":{"v":1}}"#)
            XCTAssertEqual(put.status, 201, "\(put)")
            XCTAssertTrue(try replicaHas(pair, "rep\(index)"), "rep\(index) acknowledged but not on the replica")
        }

        pair.replica.pause()
        var resumed = false
        defer { if !resumed { pair.replica.resume() } }
        let started = Date()
        let stalled = try call(
            gateway, "PUT", "/v1/kv/test/c/stalled?commit=replicas&timeout_ms=500", json: #"{"bins":{"v":2}}"#)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(stalled.status, 504, "\(stalled)")
        XCTAssertEqual(stalled.errorCode, "not_replicated")
        XCTAssertEqual(errorBody(stalled)["in_doubt"] as? Bool, true)
        XCTAssertLessThan(elapsed, 0.5 + 2 * timeoutMultiplier, "answered within its deadline (plus slack)")
        // The write is on the master, not known to be replicated: in doubt, not lost.
        XCTAssertEqual(try call(gateway, "GET", "/v1/kv/test/c/stalled").status, 200)

        // Every write route, and a batch item, says the same while the replica is stopped.
        let writes: [(String, String, String?)] = [
            ("POST", "/v1/kv/test/c/new1?commit=replicas&timeout_ms=300", #"{"bins":{"v":1}}"#),
            ("PATCH", "/v1/kv/test/c/rep0?commit=replicas&timeout_ms=300", #"{"bins":{"w":1}}"#),
            (
                "POST", "/v1/kv/test/c/rep1/operate?commit=replicas&timeout_ms=300",
                #"{"operations":[{"op":"incr","bin":"v","value":1}]}"#
            ),
            ("DELETE", "/v1/kv/test/c/rep2?commit=replicas&timeout_ms=300", nil),
        ]
        for (method, path, body) in writes {
            let response = try call(gateway, method, path, json: body)
            // WAIT's answer, or with a short deadline, the deadline itself: in doubt either way.
            XCTAssertEqual(response.status, 504, "\(method) \(path): \(response)")
            XCTAssertTrue(["not_replicated", "store_timeout"].contains(response.errorCode ?? ""), "\(response)")
            XCTAssertEqual(errorBody(response)["in_doubt"] as? Bool, true, "\(method) \(path)")
        }
        let batch = try call(
            gateway, "POST", "/v1/batch?timeout_ms=300",
            json:
                #"{"operations":[{"op":"put","namespace":"test","set":"c","key":"b1","bins":{"v":1},"commit":"replicas"},"#
                + #"{"op":"put","namespace":"test","set":"c","key":"b2","bins":{"v":1}}]}"#)
        let results = batch.json?["results"] as? [[String: Any]] ?? []
        XCTAssertEqual(results.count, 2, "\(batch)")
        XCTAssertEqual(results.first?["status"] as? Int, 504, "the replicas item: \(batch)")
        XCTAssertEqual((results.first?["error"] as? [String: Any])?["in_doubt"] as? Bool, true)
        XCTAssertEqual(results.last?["status"] as? Int, 200, "the master item: \(batch)")

        // A replicas write blocks its backend connection in WAIT; master writes sent
        // meanwhile (with a shorter deadline) must not queue behind it.
        let longWait = ReplicasWriteOnItsOwnThread(gateway, key: "long")
        Thread.sleep(forTimeInterval: 0.3)
        try assertMasterWritesGoOn(gateway, "while the replica is stopped")
        XCTAssertEqual(longWait.answer()?.status, 504, "\(String(describing: longWait.answer()))")

        pair.replica.resume()
        resumed = true
        XCTAssertTrue(pair.waitUntilLinked(within: 20))
        let again = eventually(within: 10) {
            (try? call(gateway, "PUT", "/v1/kv/test/c/after?commit=replicas", json: #"{"bins":{"v":4}}"#))?.status
                == 201
        }
        XCTAssertTrue(again, "replicas writes succeed once the replica is back")
        XCTAssertTrue(try replicaHas(pair, "after"))
        XCTAssertTrue(try replicaHas(pair, "stalled"), "the in-doubt write reached the replica once it resumed")
    }

    /// At `--max-conns-per-node`, WAITs leave one connection free of WAIT, so master
    /// writes never queue behind a replica that does not answer.
    func testAtTheConnectionCapReplicasWritesLeaveOneConnectionToMasterWrites() throws {
        let pair = try RedisReplicaPair()
        defer { pair.stop() }
        let gateway = try GatewayProcess(arguments: [
            "--store", pair.master.url, "--access-log", "off", "--max-conns-per-node", "2",
        ])
        defer { gateway.stop() }
        // Learns the replica count, and opens the second connection after its WAIT.
        let first = try call(gateway, "PUT", "/v1/kv/test/c/first?commit=replicas", json: #"{"bins":{"v":1}}"#)
        XCTAssertEqual(first.status, 201, "\(first)")

        pair.replica.pause()
        var resumed = false
        defer { if !resumed { pair.replica.resume() } }
        var replicasWrites: [ReplicasWriteOnItsOwnThread] = []
        for index in 0..<3 {
            replicasWrites.append(ReplicasWriteOnItsOwnThread(gateway, key: "r\(index)"))
            // Spaced so that both connections are ready when the later ones arrive.
            Thread.sleep(forTimeInterval: 0.15)
        }
        try assertMasterWritesGoOn(gateway, "beside three blocked WAITs")
        for (index, write) in replicasWrites.enumerated() {
            let answer = write.answer()
            XCTAssertEqual(answer?.status, 504, "replicas write \(index): \(String(describing: answer))")
            XCTAssertEqual(
                (answer?.json?["error"] as? [String: Any])?["in_doubt"] as? Bool, true, "replicas write \(index)")
        }
        pair.replica.resume()
        resumed = true
    }

    /// Five `commit=master` writes with a 1 s deadline: each acknowledged.
    private func assertMasterWritesGoOn(_ gateway: GatewayProcess, _ context: String) throws {
        for index in 0..<5 {
            let put = try call(
                gateway, "PUT", "/v1/kv/test/c/m\(index)?commit=master&timeout_ms=1000", json: #"{"bins":{"v":1}}"#)
            XCTAssertEqual(put.status, 201, "a master write \(context): \(put)")
        }
    }

    func testAStoreWithoutReplicasRefusesReplicasWritesAndWritesNothing() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let gateway = try GatewayProcess(
            arguments: ["--store", redis.url, "--access-log", "off", "--commit-level", "replicas"])
        defer { gateway.stop() }
        for path in ["/v1/kv/test/c/k1?commit=replicas", "/v1/kv/test/c/k1"] {
            let refused = try call(gateway, "PUT", path, json: #"{"bins":{"v":1}}"#)
            XCTAssertEqual(refused.status, 409, "\(path): \(refused)")
            XCTAssertEqual(refused.errorCode, "no_replicas")
            XCTAssertNil(errorBody(refused)["in_doubt"], "nothing was sent")
        }
        XCTAssertEqual(try call(gateway, "GET", "/v1/kv/test/c/k1").status, 404, "a refused write wrote nothing")
        let master = try call(gateway, "PUT", "/v1/kv/test/c/k1?commit=master", json: #"{"bins":{"v":1}}"#)
        XCTAssertEqual(master.status, 201, "\(master)")
        // Reads need no replica, whatever the default.
        XCTAssertEqual(try call(gateway, "GET", "/v1/kv/test/c/k1").status, 200)
    }

    func testAWriteHeldForTheFirstReplicaCountFailsByItsOwnDeadline() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        // The replica count probe may take 5 s; the write allows itself 200 ms.
        let gateway = try GatewayProcess(
            arguments: ["--store", redis.url, "--access-log", "off", "--store-connect-timeout-ms", "5000"])
        defer { gateway.stop() }
        redis.pause()
        var resumed = false
        defer { if !resumed { redis.resume() } }
        let started = Date()
        let held = try call(
            gateway, "PUT", "/v1/kv/test/c/held?commit=replicas&timeout_ms=200", json: #"{"bins":{"v":1}}"#)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(held.status, 504, "\(held)")
        XCTAssertEqual(held.errorCode, "store_timeout", "\(held)")
        XCTAssertNotEqual(errorBody(held)["in_doubt"] as? Bool, true, "never sent, so not in doubt")
        XCTAssertLessThan(elapsed, 2.5, "failed by its 200 ms deadline, not the probe's 5 s")
        redis.resume()
        resumed = true
        // The probe's answer comes in after all: no replica, so the next one is refused.
        XCTAssertTrue(
            eventually(within: 10) {
                (try? call(gateway, "PUT", "/v1/kv/test/c/next?commit=replicas", json: #"{"bins":{"v":1}}"#))?.status
                    == 409
            })
        XCTAssertEqual(try call(gateway, "GET", "/v1/kv/test/c/held").status, 404, "the held write was never sent")
    }

    func testACommitLevelIsMasterOrReplicasAndOnlyOnWrites() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let gateway = try GatewayProcess(arguments: ["--store", redis.url, "--access-log", "off"])
        defer { gateway.stop() }
        let bad: [(String, String, String?, String)] = [
            ("PUT", "/v1/kv/test/c/k?commit=all", #"{"bins":{"v":1}}"#, "invalid_commit"),
            ("PUT", "/v1/kv/test/c/k?commit=", #"{"bins":{"v":1}}"#, "invalid_commit"),
            ("GET", "/v1/kv/test/c/k?commit=replicas", nil, "invalid_query"),
            (
                "POST", "/v1/batch?commit=both", #"{"operations":[{"op":"get","namespace":"t","set":"s","key":"k"}]}"#,
                "invalid_commit"
            ),
            (
                "POST", "/v1/batch",
                #"{"operations":[{"op":"get","namespace":"t","set":"s","key":"k","commit":"replicas"}]}"#,
                "invalid_operation"
            ),
            (
                "POST", "/v1/batch",
                #"{"operations":[{"op":"put","namespace":"t","set":"s","key":"k","bins":{},"commit":1}]}"#,
                "invalid_commit"
            ),
        ]
        for (method, path, body, code) in bad {
            let response = try call(gateway, method, path, json: body)
            XCTAssertEqual(response.status, 400, "\(method) \(path): \(response)")
            XCTAssertEqual(response.errorCode, code, "\(method) \(path)")
        }
        // The default here is master; the batch's ?commit= applies to items without their own.
        let batch = try call(
            gateway, "POST", "/v1/batch?commit=replicas",
            json: #"{"operations":[{"op":"put","namespace":"t","set":"s","key":"a","bins":{"v":1}},"#
                + #"{"op":"put","namespace":"t","set":"s","key":"b","bins":{"v":1},"commit":"master"}]}"#)
        let statuses = (batch.json?["results"] as? [[String: Any]] ?? []).map { $0["status"] as? Int }
        XCTAssertEqual(statuses, [409, 200], "\(batch)")
    }
}
