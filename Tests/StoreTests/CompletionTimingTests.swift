import EventLoop
import Foundation
import RESP
import Store
import TestSupport
import XCTest

/// A store command is refused by return value or accepted, and an accepted command's
/// completion runs on a later loop turn: never inside `execute`, never inside
/// `close`, never inside another completion.
final class CompletionTimingTests: XCTestCase {
    /// Sends `arguments`; records whether the completion ran before `execute` returned.
    private func send(
        _ harness: StoreHarness, _ arguments: [String], into outcomes: Box<[Result<RESPValue, StoreError>]>,
        ranInsideCall: Box<Int>
    ) -> StoreError? {
        var inside = true
        let refusal = harness.store.execute(arguments, idempotent: true) { result in
            if inside { ranInsideCall.value += 1 }
            outcomes.value.append(result)
        }
        inside = false
        return refusal
    }

    func testConnectRefusedCompletesOnALaterTurnThenTheDownNodeRefusesAtOnce() throws {
        let harness = try StoreHarness(url: "redis://127.0.0.1:\(freePort())")
        let outcomes = Box<[Result<RESPValue, StoreError>]>([])
        let inside = Box(0)
        for index in 0..<5 {
            XCTAssertNil(
                send(harness, ["ECHO", "\(index)"], into: outcomes, ranInsideCall: inside), "accepted: queued")
        }
        XCTAssertEqual(outcomes.value.count, 0, "nothing completed inside execute")
        XCTAssertTrue(harness.run { outcomes.value.count == 5 })
        XCTAssertEqual(inside.value, 0)
        XCTAssertEqual(outcomes.value.map { $0.error?.kind }, [StoreError.Kind?](repeating: .nodeDown, count: 5))

        // Down: refused by return value, and that command never completes.
        XCTAssertFalse(harness.store.nodes[0].isUp)
        XCTAssertEqual(send(harness, ["PING"], into: outcomes, ranInsideCall: inside)?.kind, .nodeDown)
        harness.run(within: 0.3) { false }
        XCTAssertEqual(outcomes.value.count, 5, "a refused command never completes")
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testConnectThatFailsInsideUVTcpConnectCompletesOnALaterTurn() throws {
        // A TCP connect to the broadcast address fails inside connect(2) (ENETUNREACH):
        // uv_tcp_connect returns the error instead of calling back.
        let harness = try StoreHarness(url: "redis://255.255.255.255:6379")
        let outcomes = Box<[Result<RESPValue, StoreError>]>([])
        let inside = Box(0)
        XCTAssertNil(send(harness, ["PING"], into: outcomes, ranInsideCall: inside), "accepted, then failed later")
        XCTAssertEqual(outcomes.value.count, 0)
        XCTAssertEqual(harness.store.nodes[0].stats.connectAttempts, 1)
        XCTAssertTrue(harness.run { outcomes.value.count == 1 })
        XCTAssertEqual(inside.value, 0)
        XCTAssertEqual(outcomes.value.first?.error?.kind, .nodeDown)
        XCTAssertFalse(harness.store.nodes[0].isUp)
        XCTAssertEqual(send(harness, ["PING"], into: outcomes, ranInsideCall: inside)?.kind, .nodeDown)
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testNodeMarkedDownWhileCommandsWaitFailsThemOnALaterTurn() throws {
        let redis = try RedisServer()
        var limits = StoreLimits()
        limits.maxConnectionsPerNode = 1
        limits.maxPipelinePerConnection = 1
        let harness = try StoreHarness(url: redis.url, limits: limits)
        guard case .success = harness.call(["PING"]) else { return XCTFail("no PING") }
        redis.pause()
        let outcomes = Box<[Result<RESPValue, StoreError>]>([])
        let inside = Box(0)
        for index in 0..<4 {
            XCTAssertNil(send(harness, ["ECHO", "\(index)"], into: outcomes, ranInsideCall: inside))
        }
        XCTAssertEqual(harness.store.nodes[0].queuedCommands, 3, "one on the wire, three waiting")
        redis.kill()  // the drop, then the refused reconnect, mark the node down
        XCTAssertTrue(harness.run { outcomes.value.count == 4 })
        XCTAssertEqual(inside.value, 0)
        XCTAssertEqual(outcomes.value.first?.error?.kind, .connectionLost(outcomeUnknown: false))
        XCTAssertEqual(outcomes.value.dropFirst().map { $0.error?.kind }, [.nodeDown, .nodeDown, .nodeDown])
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testCompletionsThatSubmitAgainDuringAMultiReplyReadNeverNest() throws {
        let redis = try RedisServer()
        var limits = StoreLimits()
        limits.maxConnectionsPerNode = 1
        let harness = try StoreHarness(url: redis.url, limits: limits)
        guard case .success = harness.call(["PING"]) else { return XCTFail("no PING") }
        var running = false
        var nested = 0
        var wrong = 0
        var done = 0
        func issue(_ payload: String, followUps: Int) {
            var inside = true
            let refusal = harness.store.execute(["ECHO", payload], idempotent: true) { result in
                if running || inside { nested += 1 }
                running = true
                defer { running = false }
                if result.value?.string != payload { wrong += 1 }
                done += 1
                if followUps > 0 { issue(payload + "+", followUps: followUps - 1) }
            }
            inside = false
            XCTAssertNil(refusal)
        }
        redis.pause()  // the first replies then arrive together, in as few reads as the kernel makes
        for index in 0..<50 { issue("p\(index)", followUps: 3) }
        redis.resume()
        XCTAssertTrue(harness.run { done == 200 })
        XCTAssertEqual(nested, 0, "no completion ran inside execute or inside another completion")
        XCTAssertEqual(wrong, 0, "every reply matched its own command")
        XCTAssertEqual(harness.store.nodes[0].stats.inFlight, 0)
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testCompletionThatClosesTheStoreDuringAMultiReplyRead() throws {
        let redis = try RedisServer()
        var limits = StoreLimits()
        limits.maxConnectionsPerNode = 1
        limits.maxPipelinePerConnection = 10
        let harness = try StoreHarness(url: redis.url, limits: limits)
        guard case .success = harness.call(["PING"]) else { return XCTFail("no PING") }
        var running = false
        var nested = 0
        var insideClose = 0
        var closing = false
        var outcomes: [Int: Result<RESPValue, StoreError>] = [:]
        redis.pause()
        for index in 0..<30 {  // 10 on the wire, 20 waiting in the node's queue
            let refusal = harness.store.execute(["ECHO", "e\(index)"], idempotent: true) { result in
                if running { nested += 1 }
                if closing { insideClose += 1 }
                running = true
                defer { running = false }
                XCTAssertNil(outcomes[index], "one completion per command")
                outcomes[index] = result
                if outcomes.count == 1 {
                    closing = true
                    harness.store.close()
                    closing = false
                }
            }
            XCTAssertNil(refusal)
        }
        redis.resume()
        XCTAssertTrue(harness.run { outcomes.count == 30 })
        XCTAssertEqual(nested, 0)
        XCTAssertEqual(insideClose, 0, "close fails what is left on a later turn")
        XCTAssertEqual(outcomes[0]?.value?.string, "e0")
        for index in 1..<30 {
            switch outcomes[index] {
            case .success(let reply)?: XCTAssertEqual(reply.string, "e\(index)", "a reply that came is its own")
            case .failure(let error)?: XCTAssertEqual(error.kind, .closed)
            case nil: XCTFail("command \(index) never completed")
            }
        }
        XCTAssertTrue((20..<30).allSatisfy { outcomes[$0]?.error?.kind == .closed }, "never sent: closed")
        XCTAssertEqual(
            harness.store.execute(["PING"], idempotent: true) { _ in XCTFail("refused commands never complete") }?.kind,
            .nodeDown)
        harness.run(within: 0.2) { false }
        XCTAssertEqual(harness.shutdown(), 0)
    }

    func testCloseNeverRunsACompletionInsideItself() throws {
        let redis = try RedisServer()
        let harness = try StoreHarness(url: redis.url)
        var completed: [StoreError.Kind?] = []
        harness.store.execute(["PING"], idempotent: true) { completed.append($0.error?.kind) }  // still connecting
        harness.store.close()
        XCTAssertEqual(completed.count, 0, "not inside close")
        XCTAssertTrue(harness.run { completed.count == 1 })
        XCTAssertEqual(completed, [.closed])
        XCTAssertEqual(harness.shutdown(), 0)
    }
}

/// A reference the test's closures share.
final class Box<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}
