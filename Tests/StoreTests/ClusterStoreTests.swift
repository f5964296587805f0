import EventLoop
import Foundation
import RESP
import Store
import TestSupport
import XCTest

/// The store client alone (no HTTP) against a real 3-master cluster: cross-slot
/// refusal, commands sent before the first topology following MOVED, and a write whose
/// outcome is unknown never being replayed.
final class ClusterStoreTests: XCTestCase {
    nonisolated(unsafe) static var cluster: RedisCluster?
    nonisolated(unsafe) static var setupError: (any Error)?

    override class func setUp() {
        do { cluster = try RedisCluster() } catch { setupError = error }
    }

    override class func tearDown() {
        cluster?.stop()
        cluster = nil
    }

    private func harness() throws -> (RedisCluster, StoreHarness) {
        let cluster = try XCTUnwrap(Self.cluster, "cluster fixture: \(String(describing: Self.setupError))")
        return (cluster, try StoreHarness(url: cluster.seedURL))
    }

    func testCrossSlotCommandsAreRefusedAndSameSlotOnesRun() throws {
        let (_, harness) = try harness()
        defer { XCTAssertEqual(harness.shutdown(), 0) }
        XCTAssertEqual(harness.call(["MGET", "foo", "bar"]).error?.kind, .crossSlot)
        XCTAssertEqual(
            harness.call(["EVAL", "return 1", "2", "foo", "bar"], idempotent: false).error?.kind, .crossSlot)
        XCTAssertEqual(harness.call(["MSET", "{t}a", "1", "{t}b", "2"], idempotent: false).value, .simpleString("OK"))
        XCTAssertEqual(
            harness.call(["MGET", "{t}a", "{t}b"]).value,
            .array([.bulkString(Array("1".utf8)), .bulkString(Array("2".utf8))]))
    }

    func testCommandsSentBeforeTheFirstTopologyFollowMoved() throws {
        let (cluster, harness) = try harness()
        defer { XCTAssertEqual(harness.shutdown(), 0) }
        var results: [Result<RESPValue, StoreError>?] = Array(repeating: nil, count: 60)
        for index in 0..<60 {
            XCTAssertNil(
                harness.store.execute(["SET", "early\(index)", "\(index)"], idempotent: false) { results[index] = $0 })
        }
        XCTAssertTrue(harness.run { results.allSatisfy { $0 != nil } })
        for result in results { XCTAssertEqual(result?.value, .simpleString("OK")) }
        XCTAssertGreaterThan(harness.store.clusterStats.moved, 0, "the seed redirected keys it does not own")
        let owners = cluster.mastersBySlot()
        for index in stride(from: 0, to: 60, by: 7) {
            let owner = try XCTUnwrap(cluster.server(port: try XCTUnwrap(owners[HashSlot.of("early\(index)")])))
            XCTAssertEqual(try owner.cli(["GET", "early\(index)"]), "\(index)")
        }
        XCTAssertTrue(harness.run { harness.store.uncoveredSlots == 0 }, "the refresh installed the full map")
        XCTAssertEqual(harness.store.scanAnchors.count, 3)
    }

    /// C7: a write that timed out on a stalled master is reported as outcome unknown and
    /// is not sent again; once the master wakes it has run exactly once.
    func testTimedOutWriteIsNeverReplayed() throws {
        let (cluster, harness) = try harness()
        defer { XCTAssertEqual(harness.shutdown(), 0) }
        let key = "counter-\(UUID().uuidString.prefix(6))"
        XCTAssertEqual(harness.call(["SET", key, "0"], idempotent: false).value, .simpleString("OK"))
        let owner = try XCTUnwrap(cluster.server(port: try XCTUnwrap(cluster.mastersBySlot()[HashSlot.of(key)])))
        owner.pause()
        let result = harness.call(["INCR", key], idempotent: false, timeoutMs: 300)
        Thread.sleep(forTimeInterval: 0.3)  // well under the 2 s node timeout: no failover
        owner.resume()
        XCTAssertEqual(result.error?.kind, .timeout(outcomeUnknown: true))
        XCTAssertTrue(harness.run { harness.call(["GET", key]).value == .bulkString(Array("1".utf8)) })
        harness.run(within: 0.5) { false }
        XCTAssertEqual(harness.call(["GET", key]).value, .bulkString(Array("1".utf8)), "executed once, never replayed")
    }

    /// TRYAGAIN: a multi-key command whose keys are split by a migration in progress is
    /// retried with back-off until its deadline, then refused as cluster-unavailable;
    /// once the migration ends it runs.
    func testTryAgainIsRetriedWithinTheDeadline() throws {
        let (cluster, harness) = try harness()
        defer { XCTAssertEqual(harness.shutdown(), 0) }
        let tag = "{m\(UUID().uuidString.prefix(6))}"
        let (a, b) = ("\(tag)a", "\(tag)b")
        XCTAssertEqual(harness.call(["MSET", a, "1", b, "2"], idempotent: false).value, .simpleString("OK"))
        let slot = HashSlot.of(a)
        let owners = cluster.mastersBySlot()
        let source = try XCTUnwrap(cluster.server(port: try XCTUnwrap(owners[slot])))
        let target = try XCTUnwrap(cluster.masters.first { $0.port != source.port })
        let sourceID = try cluster.nodeID(of: source)
        let targetID = try cluster.nodeID(of: target)
        XCTAssertEqual(try target.cli(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", sourceID]), "OK")
        XCTAssertEqual(try source.cli(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID]), "OK")
        XCTAssertEqual(try source.cli(["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", a]), "OK")
        harness.loop.updateTime()  // the loop slept through the redis-cli calls: deadlines count from now
        let split = harness.call(["MGET", a, b], timeoutMs: 300)
        XCTAssertEqual(split.error?.kind, .clusterDown, "\(split)")
        XCTAssertGreaterThan(harness.store.clusterStats.tryAgain, 1, "retried, not given up at the first TRYAGAIN")
        XCTAssertEqual(harness.call(["GET", a]).value, .bulkString(Array("1".utf8)), "one key alone follows ASK")
        XCTAssertEqual(try source.cli(["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", b]), "OK")
        for server in cluster.masters { _ = try server.cli(["CLUSTER", "SETSLOT", String(slot), "NODE", targetID]) }
        XCTAssertEqual(
            harness.call(["MGET", a, b]).value, .array([.bulkString(Array("1".utf8)), .bulkString(Array("2".utf8))]))
        XCTAssertTrue(cluster.waitUntilHealthy(within: 20))
    }
}
