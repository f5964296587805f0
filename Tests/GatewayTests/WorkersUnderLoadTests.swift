import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `--workers 2` with traffic on both workers: a worker SIGKILLed under concurrent writes
/// loses no acknowledged write and is restarted; SIGTERM to the supervisor lets requests
/// in progress on both workers finish before it exits 0.
final class WorkersUnderLoadTests: XCTestCase {
    func testKillingAWorkerUnderConcurrentWritesLosesNoAcknowledgedWrite() throws {
        let redis = try RedisServer(persistent: true)
        let gateway = try GatewayProcess(arguments: ["--store", redis.url, "--workers", "2", "--access-log", "off"])
        let workers = try XCTUnwrap(workerPIDs(of: gateway.pid, count: 2))
        let victimID = 1
        let victim = try XCTUnwrap(workers[victimID])

        let state = WriterState()
        let writers = 4
        let group = DispatchGroup()
        for writer in 0..<writers {
            group.enter()
            // Writers 0 and 2 start on worker 1 (the victim), 1 and 3 on worker 2.
            let home = writer % 2 + 1
            Thread.detachNewThread {
                defer { group.leave() }
                Self.write(gateway: gateway, writer: writer, home: home, state: state)
            }
        }
        XCTAssertTrue(
            eventually(within: 20) { state.acknowledgedCount(onWorker: victimID) >= 20 }, "the victim serves writes")
        // A stall makes writes wait on the store inside the worker, so some are in flight when it dies.
        redis.pause()
        Thread.sleep(forTimeInterval: 0.2)
        state.markKilled()
        kill(victim, SIGKILL)
        redis.resume()
        let acknowledgedAtKill = state.acknowledged.count

        XCTAssertTrue(
            eventually(within: 15) {
                let now = workerPIDs(of: gateway.pid, count: 2)
                return now?[victimID].map { $0 != victim } ?? false
            }, "the supervisor restarted worker \(victimID)")
        // At least 100 more, and enough in all for the count checked below, however slow the machine.
        XCTAssertTrue(
            eventually(within: 15) { state.acknowledged.count >= max(acknowledgedAtKill + 100, 201) }, "writes go on")
        XCTAssertTrue(
            eventually(within: 15) { state.acknowledgedCount(onWorker: victimID, after: acknowledgedAtKill) > 0 },
            "the restarted worker serves writes")
        state.stop()
        XCTAssertEqual(group.wait(timeout: .now() + 30 * timeoutMultiplier), .success)

        XCTAssertGreaterThan(state.broken, 0, "the victim's open connections were cut")
        XCTAssertEqual(state.unexpected, [], "only 2xx or a cut connection")
        let acknowledged = state.acknowledged
        XCTAssertGreaterThan(acknowledged.count, 200)
        // Each key is written once, so each acknowledged write must be in redis as sent.
        let keys = Array(acknowledged.keys)
        let stored = try Self.storedValues(redis, keys: keys)
        XCTAssertEqual(stored.count, keys.count)
        let lost = zip(keys, stored).filter { String(acknowledged[$0.0]!.value) != $0.1 }
        XCTAssertEqual(lost.count, 0, "acknowledged but not stored: \(lost.prefix(10))")
        XCTAssertEqual(gateway.stop(), 0, gateway.log)
    }

    func testSigtermLetsRequestsInProgressOnBothWorkersFinish() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: [
            "--store", redis.url, "--workers", "2", "--access-log", "off",
            "--shutdown-grace-ms", "20000", "--store-timeout-ms", "30000",
        ])
        var requests: [Int: RawHTTPClient] = [:]
        var probes: [Int: RawHTTPClient] = [:]
        for worker in [1, 2] {
            requests[worker] = try XCTUnwrap(
                Self.connect(gateway, toWorker: worker), "a connection to worker \(worker)")
            probes[worker] = try XCTUnwrap(
                Self.connect(gateway, toWorker: worker), "a probe connection to worker \(worker)")
        }
        redis.pause()
        for (worker, client) in requests {
            try client.send(Self.putRequest(key: "drain\(worker)", value: worker))
        }
        for (worker, probe) in probes {
            XCTAssertTrue(
                eventually(within: 10) { (Self.storeCommandsInFlight(probe) ?? 0) > 0 },
                "worker \(worker) holds the PUT")
        }
        kill(gateway.pid, SIGTERM)
        // Nothing can finish while the store is stopped: the supervisor waits for both.
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertTrue(gateway.process.isRunning, "the supervisor waits for the drain")
        XCTAssertNil(
            try? RawHTTPClient(port: gateway.port, timeout: 1).readResponseAfter(get: "/healthz"),
            "a new connection is not served while draining")
        redis.resume()
        for (worker, client) in requests {
            XCTAssertEqual(client.readResponse()?.status, 201, "worker \(worker)'s PUT in progress got its answer")
            XCTAssertEqual(try redis.storedBin("sg:{w/k/drain\(worker)}", "v"), String(worker))
        }
        XCTAssertEqual(Self.exitCode(gateway), 0, gateway.log)
        XCTAssertEqual(
            gateway.log.components(separatedBy: "\"draining\"").count - 1, 2, "both workers drained: \(gateway.log)")
    }

    func testAWorkerKilledDuringTheDrainMakesTheExitCodeNonZero() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: ["--store", redis.url, "--workers", "2", "--access-log", "off"])
        let workers = try XCTUnwrap(workerPIDs(of: gateway.pid, count: 2))
        let client = try XCTUnwrap(Self.connect(gateway, toWorker: 1))
        let probe = try XCTUnwrap(Self.connect(gateway, toWorker: 1))
        redis.pause()
        try client.send(Self.putRequest(key: "killed", value: 1))
        XCTAssertTrue(eventually(within: 10) { (Self.storeCommandsInFlight(probe) ?? 0) > 0 })
        kill(gateway.pid, SIGTERM)
        Thread.sleep(forTimeInterval: 0.3)
        kill(try XCTUnwrap(workers[1]), SIGKILL)
        redis.resume()
        XCTAssertEqual(Self.exitCode(gateway), 1, "a worker that did not drain is a failed stop: \(gateway.log)")
    }

    func testWorkersDrainWhenTheSupervisorIsKilled() throws {
        let gateway = try GatewayProcess(arguments: ["--workers", "2", "--access-log", "off"])
        let workers = try XCTUnwrap(workerPIDs(of: gateway.pid, count: 2))
        // Orphans left by a failure would keep the gateway's pipes open: end them.
        defer { for pid in workers.values where Self.isRunning(pid) { kill(pid, SIGKILL) } }
        kill(gateway.pid, SIGKILL)
        XCTAssertTrue(
            eventually(within: 15) { workers.values.allSatisfy { !Self.isRunning($0) } },
            "orphaned workers exit on their own")
        XCTAssertNil(try? RawHTTPClient(port: gateway.port, timeout: 1), "nobody holds the port any more")
    }

    // MARK: - helpers

    /// The exit code after a SIGTERM already sent (a second one could arrive after the
    /// supervisor stopped handling signals); nil if it did not exit by itself.
    private static func exitCode(_ gateway: GatewayProcess) -> Int32? {
        guard eventually(within: 30, { !gateway.process.isRunning }) else { return nil }
        gateway.process.waitUntilExit()
        return gateway.process.terminationReason == .exit ? gateway.process.terminationStatus : nil
    }

    /// Alive and not a zombie.
    private static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }

    fileprivate static func putRequest(key: String, value: Int) -> String {
        let body = #"{"bins":{"v":\#(value)}}"#
        return "PUT /v1/kv/w/k/\(key) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// Bin `v` of each record ("-" where missing): `_b` of each key, one EVAL per 500 keys.
    private static func storedValues(_ redis: RedisServer, keys: [String]) throws -> [String] {
        let script = "local r = {} for i, k in ipairs(KEYS) do r[i] = redis.call('HGET', k, '_b') or '-' end return r"
        var values: [String] = []
        for start in stride(from: 0, to: keys.count, by: 500) {
            let chunk = keys[start..<min(start + 500, keys.count)].map { "sg:{w/k/\($0)}" }
            values += try redis.cli(["EVAL", script, String(chunk.count)] + chunk).split(separator: "\n").map {
                line in
                line == "-"
                    ? "-" : StoredBins.decode(String(line))?.first { $0.name == "v" }?.value ?? "<no v in \(line)>"
            }
        }
        return values
    }

    /// A keep-alive connection that worker `id` accepted (SO_REUSEPORT spreads new
    /// connections by hash, so a few attempts find each worker).
    fileprivate static func connect(_ gateway: GatewayProcess, toWorker id: Int) -> RawHTTPClient? {
        for _ in 0..<200 {
            guard let client = try? RawHTTPClient(port: gateway.port, timeout: 5) else { continue }
            if workerID(of: client) == id { return client }
        }
        return nil
    }

    fileprivate static func workerID(of client: RawHTTPClient) -> Int? {
        guard (try? client.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")) != nil else { return nil }
        return client.readResponse()?.json?["worker"] as? Int
    }

    /// Store commands sent and not yet answered, summed over the worker's nodes.
    private static func storeCommandsInFlight(_ probe: RawHTTPClient) -> Int? {
        guard (try? probe.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")) != nil,
            let text = probe.readResponse()?.bodyText
        else { return nil }
        return text.split(separator: "\n")
            .filter { $0.hasPrefix("storegate_layer3_store_commands_in_flight{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
            .reduce(0, +)
    }

    /// Writes `w{writer}-{n}` = n on keep-alive connections until told to stop, on a new
    /// connection every 25 writes and after a cut one.
    private static func write(gateway: GatewayProcess, writer: Int, home: Int, state: WriterState) {
        var client = connect(gateway, toWorker: home)
        var worker = client == nil ? nil : home
        var n = 0
        while !state.stopped {
            if client == nil {
                // Until the kill each writer stays on its home worker; afterwards on any.
                if state.killed {
                    client = try? RawHTTPClient(port: gateway.port, timeout: 5)
                    worker = client.flatMap { workerID(of: $0) }
                } else {
                    client = connect(gateway, toWorker: home)
                    worker = client == nil ? nil : home
                }
                if worker == nil {
                    client = nil
                    Thread.sleep(forTimeInterval: 0.05)
                    continue
                }
            }
            guard let connection = client, let onWorker = worker else { continue }
            n += 1
            if n % 25 == 0 {  // new connections now and then, so a restarted worker gets some
                client = nil
                continue
            }
            let key = "w\(writer)-\(n)"
            let status = (try? connection.send(putRequest(key: key, value: n))).flatMap {
                connection.readResponse()?.status
            }
            switch status {
            case .some(let code) where (200..<300).contains(code): state.acknowledge(key, value: n, worker: onWorker)
            case .some(502), .some(503), .some(504): break  // not acknowledged: allowed while a worker restarts
            case .some(let code): state.record(unexpected: code)
            case .none:
                state.recordBroken()
                client = nil
            }
        }
    }

    private func workerPIDs(of supervisor: Int32, count: Int) -> [Int: Int32]? {
        var result: [Int: Int32] = [:]
        let path = "/proc/\(supervisor)/task/\(supervisor)/children"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for pid in text.split(separator: " ").compactMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        {
            guard let environ = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")) else { continue }
            for entry in environ.split(separator: 0) {
                let text = String(decoding: entry, as: UTF8.self)
                if text.hasPrefix("STOREGATE_WORKER_ID="), let id = Int(text.dropFirst("STOREGATE_WORKER_ID=".count)) {
                    result[id] = pid
                }
            }
        }
        return result.count == count ? result : nil
    }
}

/// What the writer threads saw, behind a lock (test code only).
private final class WriterState: @unchecked Sendable {
    struct Ack {
        let value: Int
        let worker: Int
        let sequence: Int
    }

    private let lock = NSLock()
    private var acks: [String: Ack] = [:]
    private var brokenCount = 0
    private var unexpectedCodes: [Int] = []
    private var stopFlag = false
    private var killFlag = false

    func acknowledge(_ key: String, value: Int, worker: Int) {
        lock.withLock { acks[key] = Ack(value: value, worker: worker, sequence: acks.count) }
    }

    func recordBroken() { lock.withLock { brokenCount += 1 } }
    func record(unexpected code: Int) { lock.withLock { unexpectedCodes.append(code) } }
    func stop() { lock.withLock { stopFlag = true } }
    func markKilled() { lock.withLock { killFlag = true } }
    var killed: Bool { lock.withLock { killFlag } }

    var stopped: Bool { lock.withLock { stopFlag } }
    var broken: Int { lock.withLock { brokenCount } }
    var unexpected: [Int] { lock.withLock { unexpectedCodes } }
    var acknowledged: [String: Ack] { lock.withLock { acks } }

    func acknowledgedCount(onWorker worker: Int, after sequence: Int = -1) -> Int {
        lock.withLock { acks.values.filter { $0.worker == worker && $0.sequence >= sequence }.count }
    }
}

extension RawHTTPClient {
    /// Sends a GET and reads its response; nil when the connection is refused or cut.
    fileprivate func readResponseAfter(get path: String) -> ParsedResponse? {
        guard (try? send("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")) != nil else { return nil }
        return readResponse()
    }
}
