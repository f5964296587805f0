import Foundation
import Store
import TestSupport
import XCTest

/// What a load thread saw: every response's status and error code, and per key the
/// values it may hold (one after a 2xx write; more after a write whose outcome is
/// unknown).
final class LoadLog: @unchecked Sendable {
    private let lock = NSLock()
    private var _statuses: [Int: Int] = [:]
    var statuses: [Int: Int] { locked { _statuses } }
    private var _unclearErrors: [String] = []
    var unclearErrors: [String] { locked { _unclearErrors } }
    private var _wrongData: [String] = []
    var wrongData: [String] { locked { _wrongData } }
    private var _acknowledged: [String: String] = [:]
    var acknowledged: [String: String] { locked { _acknowledged } }
    private var _possible: [String: Set<String>] = [:]
    var possible: [String: Set<String>] { locked { _possible } }
    private var _firstSuccessAfter: [String: Date] = [:]
    var firstSuccessAfter: [String: Date] { locked { _firstSuccessAfter } }

    private func locked<T>(_ read: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return read()
    }

    func record(_ response: ParsedResponse?, _ what: String) {
        lock.lock()
        defer { lock.unlock() }
        guard let response else {
            _unclearErrors.append("\(what): no response")
            return
        }
        _statuses[response.status, default: 0] += 1
        if response.status >= 400, response.errorCode == nil { _unclearErrors.append("\(what): \(response)") }
    }

    func wrote(_ key: String, _ value: String, _ response: ParsedResponse?) {
        lock.lock()
        defer { lock.unlock() }
        guard let response else { return }
        if response.status / 100 == 2 {
            _acknowledged[key] = value
            _possible[key] = [value]
        } else if (response.json?["error"] as? [String: Any])?["in_doubt"] as? Bool ?? true, response.status >= 500 {
            _possible[key, default: _acknowledged[key].map { [$0] } ?? []].insert(value)
            _acknowledged[key] = nil
        }
    }

    func read(_ key: String, _ response: ParsedResponse?) {
        lock.lock()
        defer { lock.unlock() }
        guard let response, response.status == 200 else { return }
        let value = GatewayClient.value(response) ?? "?"
        if let allowed = _possible[key], !allowed.contains(value) {
            _wrongData.append("\(key): read \(value), expected one of \(allowed)")
        }
    }

    private var _otherSlotFailures: [String: Int] = [:]
    var otherSlotFailures: [String: Int] { locked { _otherSlotFailures } }

    /// A write to a slot the killed master did not own that did not succeed.
    func otherSlotFailed(_ response: ParsedResponse?) {
        lock.lock()
        _otherSlotFailures["\(response?.status ?? 0) \(response?.errorCode ?? "-")", default: 0] += 1
        lock.unlock()
    }

    func mark(_ label: String) {
        lock.lock()
        defer { lock.unlock() }
        if _firstSuccessAfter[label] == nil { _firstSuccessAfter[label] = Date() }
    }

    var nonSuccess: Int {
        lock.lock()
        defer { lock.unlock() }
        return _statuses.filter { $0.key / 100 != 2 && $0.key != 404 }.values.reduce(0, +)
    }
}

/// Runs `body(thread, iteration)` on `threads` threads until `stop()`.
final class LoadThreads: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private let group = DispatchGroup()

    init(threads: Int, _ body: @escaping @Sendable (Int, Int) -> Void) {
        for thread in 0..<threads {
            group.enter()
            Thread { [self] in
                var iteration = 0
                while isRunning {
                    body(thread, iteration)
                    iteration += 1
                }
                group.leave()
            }.start()
        }
    }

    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return running
    }

    func stop() {
        lock.lock()
        running = false
        lock.unlock()
        group.wait()
    }
}

/// `redis-cli --cluster reshard` moving 1000 slots while two clients write and read
/// keys in exactly those slots: the moves go through MOVED and ASK for real.
final class ClusterReshardTests: XCTestCase {
    func testReshardUnderLoadGivesNoWrongDataAndOnlyClearErrors() throws {
        let cluster = try RedisCluster()
        defer { cluster.stop() }
        let gateway = try startGateway(cluster)
        defer { gateway.stop() }
        let owners = cluster.mastersBySlot()
        let sourcePort = try XCTUnwrap(owners[0])
        let source = try XCTUnwrap(cluster.server(port: sourcePort))
        let target = try XCTUnwrap(cluster.masters.first { $0.port != sourcePort })
        let moving = Set((0..<16384).filter { owners[$0] == sourcePort }.prefix(1000))
        let keys = (0..<8000).map { "m\($0)" }.filter { moving.contains(HashSlot.of(redisKey("reshard", $0))) }
        XCTAssertGreaterThan(keys.count, 200)
        let setup = GatewayClient(port: gateway.port)
        for key in keys { XCTAssertEqual(try setup.put("reshard", key, value: "initial").status, 201) }

        let log = LoadLog()
        let port = gateway.port
        nonisolated(unsafe) let clients = [GatewayClient(port: port), GatewayClient(port: port)]
        let load = LoadThreads(threads: 2) { thread, iteration in
            let client = clients[thread]
            let mine = keys.enumerated().filter { $0.offset % 2 == thread }.map(\.element)
            let key = mine[iteration % mine.count]
            let value = "t\(thread)-\(iteration)"
            let put = try? client.put("reshard", key, value: value)
            log.record(put, "PUT \(key)")
            log.wrote(key, value, put)
            let get = try? client.get("reshard", key)
            log.record(get, "GET \(key)")
            log.read(key, get)
        }
        Thread.sleep(forTimeInterval: 0.5)
        let result = try RedisCluster.run(
            "redis-cli",
            [
                "--cluster", "reshard", "127.0.0.1:\(sourcePort)", "--cluster-from", try cluster.nodeID(of: source),
                "--cluster-to", try cluster.nodeID(of: target), "--cluster-slots", "1000", "--cluster-yes",
            ])
        Thread.sleep(forTimeInterval: 0.5)
        load.stop()
        XCTAssertEqual(result.status, 0, result.output.suffix(2000).description)
        let after = cluster.mastersBySlot()
        XCTAssertTrue(moving.allSatisfy { after[$0] == target.port }, "the 1000 slots now belong to the target")

        XCTAssertEqual(log.wrongData, [], "no request ever saw a value it should not")
        XCTAssertEqual(log.unclearErrors, [], "every failure has an error code")
        let total = log.statuses.values.reduce(0, +)
        XCTAssertGreaterThan(total, 200)
        let view = try XCTUnwrap(gateway.get("/v1/cluster").json)
        let redirects = try XCTUnwrap(view["redirects"] as? [String: Int])
        XCTAssertGreaterThan(redirects["moved"] ?? 0, 0, "the reshard was followed through MOVED")
        print("reshard under load: \(total) requests, statuses \(log.statuses), redirects \(redirects)")
        // Afterwards every key reads back the value of its last acknowledged write.
        let client = GatewayClient(port: gateway.port)
        for key in keys {
            let response = try client.get("reshard", key)
            XCTAssertEqual(response.status, 200, "\(key): \(response)")
            log.read(key, response)
        }
        XCTAssertEqual(log.wrongData, [])
    }
}

/// A master killed (SIGKILL) under a write load: its replica is promoted, the gateway
/// finds the new master, and every write that got a 2xx is readable with its value.
final class ClusterFailoverTests: XCTestCase {
    func testWritesResumeAfterAMasterIsKilled() throws {
        let cluster = try RedisCluster()
        defer { cluster.stop() }
        let gateway = try startGateway(cluster)
        defer { gateway.stop() }
        try checkWritesResumeAfterAMasterIsKilled(cluster, gateway)
    }
}

/// The failover case, plain or over TLS (ClusterTLSTests).
func checkWritesResumeAfterAMasterIsKilled(_ cluster: RedisCluster, _ gateway: GatewayProcess) throws {
    do {
        let owners = cluster.mastersBySlot()
        let victim = try XCTUnwrap(cluster.masters.first)
        let candidates = (0..<4000).map { "f\($0)" }
        let onVictim = candidates.filter { owners[HashSlot.of(redisKey("failover", $0))] == victim.port }
        let elsewhere = candidates.filter { owners[HashSlot.of(redisKey("failover", $0))] != victim.port }
        let log = LoadLog()
        let killedAt = LockedDate()
        let port = gateway.port
        nonisolated(unsafe) let clients = [GatewayClient(port: port), GatewayClient(port: port)]
        let load = LoadThreads(threads: 2) { thread, iteration in
            let client = clients[thread]
            let onVictimSlots = iteration % 2 == 0
            let pool = onVictimSlots ? onVictim : elsewhere
            let key = pool[(iteration / 2 * 2 + thread) % pool.count]
            let value = "t\(thread)-\(iteration)"
            let sentAfterKill = killedAt.value != nil
            let put = try? client.put("failover", key, value: value)
            log.record(put, "PUT \(key)")
            log.wrote(key, value, put)
            if sentAfterKill, (put?.status ?? 0) / 100 == 2, onVictimSlots { log.mark("victim") }
            if !onVictimSlots, (put?.status ?? 0) / 100 != 2 { log.otherSlotFailed(put) }
        }
        Thread.sleep(forTimeInterval: 1)
        victim.kill()  // returns once the process is gone
        killedAt.set(Date())
        let resumed = eventually(within: 30) { log.firstSuccessAfter["victim"] != nil }
        Thread.sleep(forTimeInterval: 0.5)
        load.stop()
        XCTAssertTrue(resumed, "writes to the killed master's slots never resumed: \(log.statuses)")
        if let resumedAt = log.firstSuccessAfter["victim"], let killed = killedAt.value {
            print(
                String(
                    format: "failover: kill → first successful write to its slots: %.2f s",
                    resumedAt.timeIntervalSince(killed)))
        }
        print("failover load: statuses \(log.statuses); failures on the other masters' slots \(log.otherSlotFailures)")
        XCTAssertEqual(log.unclearErrors, [], "every failure has an error code")
        XCTAssertTrue(cluster.waitUntilHealthy(within: 20, replicas: 2))
        XCTAssertTrue(eventually(within: 10) { (try? gateway.get("/readyz"))?.status == 200 })
        // Every acknowledged write is there with its value; in-doubt ones hold one of theirs.
        let client = GatewayClient(port: gateway.port)
        for key in log.possible.keys {
            let response = try client.get("failover", key)
            if log.acknowledged[key] != nil {
                XCTAssertEqual(response.status, 200, "\(key) was acknowledged: \(response)")
            }
            log.read(key, response)
        }
        XCTAssertGreaterThan(log.acknowledged.count, 20)
        XCTAssertEqual(log.wrongData, [], "acknowledged writes read back with their values")
        let view = try XCTUnwrap(gateway.get("/v1/cluster").json)
        XCTAssertEqual(view["slots_uncovered"] as? Int, 0)
        let addresses = (view["nodes"] as? [[String: Any]] ?? []).compactMap { $0["address"] as? String }
        XCTAssertFalse(addresses.contains("127.0.0.1:\(victim.port)"), "the dead master was retired: \(addresses)")
    }
}

/// The moment the master was killed, shared with the load threads.
final class LockedDate: @unchecked Sendable {
    private let lock = NSLock()
    private var date: Date?
    var value: Date? {
        lock.lock()
        defer { lock.unlock() }
        return date
    }
    func set(_ date: Date) {
        lock.lock()
        self.date = date
        lock.unlock()
    }
}
