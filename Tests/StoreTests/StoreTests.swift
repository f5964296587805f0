import EventLoop
import Foundation
import RESP
import Store
import TLS
import TestSupport
import XCTest

final class StoreTests: XCTestCase {
    func testManyCallersPipelinedEachGetsItsOwnReplyAndTheConnectionCapHolds() throws {
        let redis = try RedisServer()
        var limits = StoreLimits()
        limits.maxConnectionsPerNode = 3
        limits.maxPipelinePerConnection = 64
        let harness = try StoreHarness(url: redis.url, limits: limits)
        let callers = 200
        let perCaller = 500
        let window = 4  // 800 outstanding: under the queue cap
        var sent = [Int](repeating: 0, count: callers)
        var received = [Int](repeating: 0, count: callers)
        var wrong = 0
        var failed = 0
        var completed = 0
        var maxClients = 0
        var samples = 0
        var failureKinds = Set<String>()

        func issue(_ caller: Int) {
            let sequence = sent[caller]
            sent[caller] += 1
            let payload = "caller-\(caller)-\(sequence)"
            let refused = harness.store.execute(["ECHO", payload], idempotent: true) { result in
                completed += 1
                switch result {
                case .success(let reply):
                    // Across connections a caller's replies may interleave; each must be its own.
                    if reply.string != payload { wrong += 1 }
                case .failure(let error):
                    failed += 1
                    failureKinds.insert("\(error.kind)")
                }
                received[caller] += 1
                if sent[caller] < perCaller { issue(caller) }
            }
            if let refused {
                failed += 1
                failureKinds.insert("refused \(refused.kind)")
            }
        }
        for caller in 0..<callers {
            for _ in 0..<window { issue(caller) }
        }
        let total = callers * perCaller
        XCTAssertTrue(
            harness.run(within: 60) {
                if completed / 5000 > samples {
                    samples += 1
                    maxClients = max(maxClients, (try? redis.clientCount(named: "storegate")) ?? 0)
                }
                return completed == total
            })
        XCTAssertEqual(completed, total)
        XCTAssertEqual(wrong, 0, "every caller got its own replies, in its own order")
        XCTAssertEqual(failed, 0, "\(failureKinds)")
        XCTAssertGreaterThan(samples, 5)
        XCTAssertLessThanOrEqual(maxClients, 3, "CLIENT LIST never shows more than the cap")
        XCTAssertGreaterThan(maxClients, 0)
        XCTAssertLessThanOrEqual(harness.store.nodes[0].openConnections, 3)
        XCTAssertEqual(harness.store.nodes[0].stats.inFlight, 0)
        XCTAssertEqual(harness.shutdown(), 0, "no libuv handle left open")
    }

    func testOverloadIsRefusedAtOnceAndAdmittedCommandsStillComplete() throws {
        let redis = try RedisServer()
        var limits = StoreLimits()
        limits.maxConnectionsPerNode = 1
        limits.maxPipelinePerConnection = 2
        limits.maxQueuedPerNode = 3
        limits.commandTimeoutMs = 5000
        let harness = try StoreHarness(url: redis.url, limits: limits)
        guard case .success = harness.call(["PING"]) else { return XCTFail("no PING") }
        redis.pause()
        var results: [Int: String] = [:]
        var refusals: [StoreError.Kind] = []
        for index in 0..<10 {
            var insideCall = true
            let refused = harness.store.execute(["ECHO", "m\(index)"], idempotent: true) { result in
                XCTAssertFalse(insideCall, "a completion never runs inside execute")
                results[index] = result.value?.string ?? "error"
            }
            insideCall = false
            if let refused { refusals.append(refused.kind) }
        }
        XCTAssertEqual(refusals, [StoreError.Kind](repeating: .overloaded, count: 5), "2 on the wire + 3 queued")
        XCTAssertEqual(harness.store.nodes[0].stats.rejectedOverloaded, 5)
        redis.resume()
        XCTAssertTrue(harness.run { results.count == 5 })
        XCTAssertEqual(results, [0: "m0", 1: "m1", 2: "m2", 3: "m3", 4: "m4"])
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testStalledServerDeadlinesFireAndLateRepliesAreDroppedNotMisattributed() throws {
        let redis = try RedisServer()
        var limits = StoreLimits()
        limits.maxConnectionsPerNode = 1
        limits.maxConsecutiveTimeouts = 1000  // keep the connection: late replies must be dropped
        let harness = try StoreHarness(url: redis.url, limits: limits)
        XCTAssertEqual(harness.call(["SET", "counter", "0"], idempotent: false).value, .simpleString("OK"))
        redis.pause()
        var outcomes: [StoreError?] = []
        let start = Date()
        var finishedAt: [TimeInterval] = []
        for index in 0..<20 {
            harness.store.execute(["INCR", "counter"], idempotent: false, timeoutMs: 200) { result in
                outcomes.append(result.error)
                finishedAt.append(Date().timeIntervalSince(start))
            }
            _ = index
        }
        XCTAssertTrue(harness.run { outcomes.count == 20 })
        XCTAssertTrue(outcomes.allSatisfy { $0?.kind == .timeout(outcomeUnknown: true) }, "\(outcomes)")
        XCTAssertGreaterThanOrEqual(finishedAt.min() ?? 0, 0.19, "not before the deadline")
        XCTAssertLessThan(finishedAt.max() ?? 99, 1.5 * timeoutMultiplier, "deadlines fire on time")
        redis.resume()
        // The 20 INCRs do run late; their replies must not reach the next callers.
        var echoes: [String?] = []
        for index in 0..<50 {
            harness.store.execute(["ECHO", "after-\(index)"], idempotent: true) { echoes.append($0.value?.string) }
        }
        XCTAssertTrue(harness.run { echoes.count == 50 })
        XCTAssertEqual(echoes, (0..<50).map { "after-\($0)" })
        XCTAssertEqual(try redis.cli(["GET", "counter"]), "20", "the abandoned writes were executed late")
        XCTAssertEqual(harness.store.nodes[0].stats.timeouts, 20)
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testAConnectionThatKeepsTimingOutIsReplaced() throws {
        let redis = try RedisServer()
        var limits = StoreLimits()
        limits.maxConnectionsPerNode = 1
        limits.maxConsecutiveTimeouts = 3
        let harness = try StoreHarness(url: redis.url, limits: limits)
        guard case .success = harness.call(["PING"]) else { return XCTFail("no PING") }
        redis.pause()
        var errors: [StoreError] = []
        for _ in 0..<10 {
            harness.store.execute(["GET", "k"], idempotent: true, timeoutMs: 100) { errors.append($0.error!) }
        }
        XCTAssertTrue(harness.run { errors.count == 10 })
        XCTAssertEqual(errors.filter { $0.kind == .timeout(outcomeUnknown: false) }.count, 3)
        XCTAssertEqual(errors.filter { $0.kind == .connectionLost(outcomeUnknown: false) }.count, 7)
        XCTAssertEqual(harness.store.nodes[0].stats.replacedConnections, 1)
        redis.resume()
        XCTAssertTrue(harness.run { (try? harness.call(["PING"]).get()) == .simpleString("PONG") })
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testServerKilledMidFlightFailsEveryCommandThenTrafficResumesAfterRestart() throws {
        let redis = try RedisServer()
        let harness = try StoreHarness(url: redis.url)
        guard case .success = harness.call(["PING"]) else { return XCTFail("no PING") }
        redis.pause()
        var failures: [StoreError] = []
        for index in 0..<300 {
            let write = index % 2 == 0
            harness.store.execute(write ? ["SET", "k\(index)", "v"] : ["GET", "k\(index)"], idempotent: !write) {
                result in
                if let error = result.error { failures.append(error) }
            }
        }
        redis.kill()
        XCTAssertTrue(harness.run { failures.count == 300 }, "none hang: \(failures.count) of 300")
        // Commands on the wire: connection lost (a write's outcome unknown); those still
        // queued were never sent: node down.
        let lostWrites = failures.filter { $0.kind == .connectionLost(outcomeUnknown: true) }.count
        let lostReads = failures.filter { $0.kind == .connectionLost(outcomeUnknown: false) }.count
        let neverSent = failures.filter { $0.kind == .nodeDown }.count
        XCTAssertEqual(lostWrites + lostReads + neverSent, 300, "\(failures.map(\.kind))")
        XCTAssertEqual(lostWrites, lostReads, "alternating writes and reads")
        XCTAssertGreaterThan(lostWrites, 0)

        // Down: refused at once, no piling up.
        XCTAssertTrue(harness.run { !harness.store.nodes[0].isUp })
        let refusal = harness.store.execute(["PING"], idempotent: true) { _ in
            XCTFail("refused commands never complete")
        }
        XCTAssertEqual(refusal?.kind, .nodeDown)

        try redis.start()
        XCTAssertTrue(
            harness.run(within: 10) { (try? harness.call(["SET", "back", "yes"]).get()) == .simpleString("OK") })
        XCTAssertEqual(try redis.cli(["GET", "back"]), "yes")
        XCTAssertGreaterThan(harness.store.nodes[0].stats.reconnects, 0)
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testReconnectAttemptsBackOff() throws {
        let port = freePort()
        var limits = StoreLimits()
        limits.reconnectBaseMs = 50
        limits.reconnectMaxMs = 400
        let harness = try StoreHarness(url: "redis://127.0.0.1:\(port)", limits: limits)
        var first: StoreError?
        let start = Date()
        harness.store.execute(["PING"], idempotent: true) { first = $0.error }
        XCTAssertTrue(harness.run { first != nil })
        XCTAssertEqual(first?.kind, .nodeDown)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1, "an unreachable node fails fast")
        harness.run(within: 2) { false }
        let attempts = harness.store.nodes[0].stats.connectAttempts
        // 2 s with 50 ms doubling to a 400 ms ceiling (jittered 50–100 %): about 6–12 attempts, not hundreds.
        XCTAssertGreaterThanOrEqual(attempts, 4)
        XCTAssertLessThanOrEqual(attempts, 16)
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testWrongPasswordIsReportedClearly() throws {
        let redis = try RedisServer(password: "s3cret")
        let wrong = try StoreHarness(url: "redis://:nope@127.0.0.1:\(redis.port)")
        let failure = wrong.call(["PING"]).error
        XCTAssertEqual(failure?.kind, .authenticationFailed)
        XCTAssertTrue(failure?.message.contains("WRONGPASS") ?? false, failure?.message ?? "")
        XCTAssertFalse(failure?.message.contains("nope") ?? true, "the password is never in a message")
        XCTAssertEqual(wrong.shutdown(), 0)

        let none = try StoreHarness(url: "redis://127.0.0.1:\(redis.port)")
        let noPassword = none.call(["GET", "x"]).error
        XCTAssertEqual(noPassword?.kind, .authenticationFailed)
        XCTAssertTrue(noPassword?.message.contains("NOAUTH") ?? false, noPassword?.message ?? "")
        XCTAssertEqual(none.shutdown(), 0)

        let right = try StoreHarness(url: "redis://default:s3cret@127.0.0.1:\(redis.port)/2")
        XCTAssertEqual(right.call(["SET", "k", "in-db-2"], idempotent: false).value, .simpleString("OK"))
        XCTAssertEqual(try redis.cli(["GET", "k"], database: 2), "in-db-2", "SELECT on connect")
        XCTAssertEqual(try redis.clientCount(named: "storegate"), 1)
        XCTAssertEqual(right.shutdown(), 0)
    }

    func testUnixSocketWithDatabase() throws {
        let redis = try RedisServer(unixSocket: true)
        let path = try XCTUnwrap(redis.unixSocketPath)
        let harness = try StoreHarness(url: "unix://\(path)?db=3")
        XCTAssertEqual(harness.call(["SET", "via", "unix"], idempotent: false).value, .simpleString("OK"))
        XCTAssertEqual(try redis.cli(["GET", "via"], database: 3), "unix")
        XCTAssertEqual(harness.call(["GET", "via"]).value?.string, "unix")
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testQueuedCommandThatTimesOutWasNeverSent() throws {
        let redis = try RedisServer()
        var limits = StoreLimits()
        limits.maxConnectionsPerNode = 1
        limits.maxPipelinePerConnection = 1
        limits.maxConsecutiveTimeouts = 100
        let harness = try StoreHarness(url: redis.url, limits: limits)
        guard case .success = harness.call(["PING"]) else { return XCTFail("no PING") }
        redis.pause()
        var errors: [StoreError] = []
        harness.store.execute(["INCR", "a"], idempotent: false, timeoutMs: 150) { errors.append($0.error!) }
        harness.store.execute(["INCR", "b"], idempotent: false, timeoutMs: 150) { errors.append($0.error!) }
        XCTAssertTrue(harness.run { errors.count == 2 })
        XCTAssertEqual(errors.map(\.kind), [.timeout(outcomeUnknown: true), .timeout(outcomeUnknown: false)])
        redis.resume()
        XCTAssertEqual(harness.call(["ECHO", "x"]).value?.string, "x")
        XCTAssertEqual(try redis.cli(["GET", "a"]), "1")
        XCTAssertEqual(try redis.cli(["GET", "b"]), "", "the queued command was never sent")
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testStoreURLParsing() throws {
        let full = try StoreURL(parsing: "redis://app:p%40ss@10.0.0.5:6380/4")
        XCTAssertEqual(full.target, .single(.inet(host: "10.0.0.5", port: 6380)))
        XCTAssertEqual(full.user, "app")
        XCTAssertEqual(full.password, "p@ss")
        XCTAssertEqual(full.database, 4)
        XCTAssertEqual(full.description, "redis://app:***@10.0.0.5:6380/4")
        XCTAssertEqual(try StoreURL(parsing: "redis://:pw@h:1").description, "redis://:***@h:1")
        XCTAssertEqual(try StoreURL(parsing: "redis://localhost").target, .single(.inet(host: "localhost", port: 6379)))
        XCTAssertEqual(try StoreURL(parsing: "unix:///run/redis.sock").target, .single(.unix(path: "/run/redis.sock")))
        XCTAssertEqual(
            try StoreURL(parsing: "redis+cluster://a:7000,b:7001").target,
            .cluster([.inet(host: "a", port: 7000), .inet(host: "b", port: 7001)]))
        for bad in ["http://x", "redis://", "redis://h:99999", "redis://h:1/x", "unix://relative", "redis://a:1,b:2"] {
            XCTAssertThrowsError(try StoreURL(parsing: bad), bad)
        }
    }

    func testSecureStoreURLs() throws {
        let single = try StoreURL(parsing: "rediss://app:s%3Acret@cache.example:6380/2")
        XCTAssertTrue(single.secure)
        XCTAssertEqual(single.target, .single(.inet(host: "cache.example", port: 6380)))
        XCTAssertEqual(single.password, "s:cret")
        XCTAssertEqual(single.database, 2)
        XCTAssertEqual(single.description, "rediss://app:***@cache.example:6380/2")
        let cluster = try StoreURL(parsing: "rediss+cluster://a:7000,b:7001")
        XCTAssertTrue(cluster.secure)
        XCTAssertEqual(cluster.target, .cluster([.inet(host: "a", port: 7000), .inet(host: "b", port: 7001)]))
        XCTAssertEqual(cluster.description, "rediss+cluster://a:7000,b:7001")
        XCTAssertFalse(try StoreURL(parsing: "redis://h:1").secure)
        XCTAssertThrowsError(try StoreURL(parsing: "rediss://a:1,b:2"), "several hosts need +cluster")
        let loop = try Loop()
        XCTAssertThrowsError(
            try Store(
                loop: loop, url: StoreURL(parsing: "rediss://h:1"), tls: TLSConfiguration(caFile: "/nonexistent.pem"))
        ) { error in
            let message = (error as? StoreError)?.message ?? ""
            XCTAssertTrue(message.contains("cannot load CA certificates from /nonexistent.pem"), message)
        }
        XCTAssertThrowsError(
            try Store(
                loop: loop, url: StoreURL(parsing: "rediss://h:1"),
                tls: TLSConfiguration(certificateFile: "/nonexistent-cert.pem"))
        ) { error in
            XCTAssertTrue("\(error)".contains("both the certificate file and the key file"), "\(error)")
        }
        XCTAssertEqual(loop.close(), 0)
    }
}
