import EventLoop
import RESP
import XCTest

@testable import Store

/// A write that waits for replicas, without a socket: its bytes, how its two replies
/// become one outcome, and how a node's replica count is read.
final class ReplicaWaitTests: XCTestCase {
    typealias Machine = BackendConnectionStateMachine
    private let address = SocketAddress.inet(host: "127.0.0.1", port: 6379)

    private func readyMachine() -> Machine {
        var machine = Machine(address: address, maxConsecutiveTimeouts: 3)
        _ = machine.didConnect(handshakeCommands: 1)
        _ = machine.didReceive(.simpleString("OK"))
        return machine
    }

    private func waitingWrite(required: Int = 1, deadlineAtMs: UInt64 = 1000) -> StoreCommand {
        let command = StoreCommand(
            encoded: Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".utf8), idempotent: false, timeoutMs: 1000,
            waitsForReplicas: true
        ) { _ in }
        command.replicaWait = ReplicaWait(required: required, deadlineAtMs: deadlineAtMs)
        return command
    }

    private func describe(_ action: Machine.Action) -> String {
        switch action {
        case .none: "none"
        case .dropReply: "dropReply"
        case .complete(_, let reply): "complete(\(reply))"
        case .fail(_, let error): "fail(\(error.kind))"
        default: "other"
        }
    }

    func testWaitFollowsTheWriteInTheSameBytesWithTheTimeLeftLessAMargin() {
        let command = waitingWrite(required: 2, deadlineAtMs: 1500)
        var out: [UInt8] = []
        command.encode(into: &out, nowMs: 500)
        XCTAssertEqual(
            String(decoding: out, as: UTF8.self),
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*3\r\n$4\r\nWAIT\r\n$1\r\n2\r\n$3\r\n850\r\n")
    }

    func testWaitTimeoutIsNeverZeroWhichWouldBlockForEver() {
        let cases: [(deadline: UInt64, now: UInt64, expected: UInt64)] = [
            (1000, 0, 850), (100, 0, 50), (10, 0, 5), (3, 0, 1), (1000, 1000, 1), (1000, 2000, 1),
        ]
        for (deadline, now, expected) in cases {
            let wait = ReplicaWait(required: 1, deadlineAtMs: deadline)
            XCTAssertEqual(wait.timeoutMs(nowMs: now), expected, "deadline \(deadline), now \(now)")
        }
    }

    /// The write's reply is held; WAIT's decides: enough confirmations answer with the
    /// write's reply, fewer fail as not replicated, a write refused answers with its error.
    func testTheTwoRepliesBecomeOneOutcome() {
        let cases: [(required: Int, own: RESPValue, wait: RESPValue, expected: String)] = [
            (1, .simpleString("OK"), .integer(1), "complete(simpleString(\"OK\"))"),
            (1, .simpleString("OK"), .integer(2), "complete(simpleString(\"OK\"))"),
            (2, .simpleString("OK"), .integer(1), "fail(notReplicated)"),
            (1, .simpleString("OK"), .integer(0), "fail(notReplicated)"),
            (1, .simpleString("OK"), .error("ERR WAIT cannot be used"), "fail(notReplicated)"),
            (1, .error("MOVED 1 127.0.0.1:7000"), .integer(0), "complete(error(\"MOVED 1 127.0.0.1:7000\"))"),
            (1, .error("NOSCRIPT No matching script"), .integer(1), "complete(error(\"NOSCRIPT No matching script\"))"),
        ]
        for (required, own, wait, expected) in cases {
            var machine = readyMachine()
            let command = waitingWrite(required: required)
            machine.send(command)
            XCTAssertEqual(machine.waitsInFlight, 1)
            XCTAssertEqual(machine.depth, 1)
            XCTAssertEqual(describe(machine.didReceive(own)), "none", "the write's own reply is held")
            XCTAssertEqual(describe(machine.didReceive(wait)), expected, "\(own) then \(wait)")
            XCTAssertEqual(machine.waitsInFlight, 0)
            XCTAssertEqual(machine.depth, 0)
        }
    }

    func testAnAbandonedWaitingWriteDropsBothRepliesAndLaterOnesStillMatch() {
        var machine = readyMachine()
        let abandoned = waitingWrite()
        machine.send(abandoned)
        let next = StoreCommand(["GET", "k"], idempotent: true, timeoutMs: 1000) { _ in }
        machine.send(next)
        abandoned.settle(.failure(StoreError(.timeout(outcomeUnknown: true), "late")))
        XCTAssertEqual(describe(machine.didReceive(.simpleString("OK"))), "none")
        XCTAssertEqual(describe(machine.didReceive(.integer(0))), "dropReply")
        XCTAssertEqual(
            describe(machine.didReceive(.bulkString(Array("v".utf8)))), "complete(bulkString(Optional([118])))")
    }

    func testClosingLosesTheWaitingWriteOnce() {
        var machine = readyMachine()
        let command = waitingWrite()
        machine.send(command)
        guard case .close(let failure) = machine.close(StoreError(.connectionLost(outcomeUnknown: true), "gone")) else {
            return XCTFail("expected close")
        }
        XCTAssertEqual(failure.lost.count, 1)
        XCTAssertTrue(failure.lost[0] === command)
        XCTAssertEqual(machine.waitsInFlight, 0)
    }

    func testOnlineReplicasAreCountedFromInfoReplication() {
        let text = """
            # Replication\r
            role:master\r
            connected_slaves:3\r
            slave0:ip=127.0.0.1,port=7001,state=online,offset=42,lag=0\r
            slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=0\r
            slave2:ip=127.0.0.1,port=7003,state=online,offset=42,lag=1\r
            master_failover_state:no-failover\r
            slave_read_repl_offset:1\r
            """
        XCTAssertEqual(ReplicaCountProbe.onlineReplicas(infoReplication: text), 2)
        XCTAssertEqual(ReplicaCountProbe.onlineReplicas(infoReplication: "role:master\r\nconnected_slaves:0\r\n"), 0)
    }

    func testNotReplicatedLeavesTheOutcomeUnknown() {
        XCTAssertTrue(StoreError(.notReplicated, "x").outcomeUnknown)
        XCTAssertFalse(StoreError(.noReplicas, "x").outcomeUnknown)
    }

    /// A connection that closes while a write's WAIT is pending fails that write too,
    /// whether its own reply had come or not: none is left sent on a connection that is
    /// gone (its deadline would later reach a freed connection).
    func testAClosedConnectionLosesWritesWhoseWaitIsPending() {
        for ownReplyArrived in [false, true] {
            var machine = readyMachine()
            let command = waitingWrite()
            machine.send(command)
            if ownReplyArrived {
                XCTAssertEqual(describe(machine.didReceive(.simpleString("OK"))), "none")
            }
            guard case .close(let failure) = machine.close(StoreError(.connectionLost(outcomeUnknown: true), "gone"))
            else { return XCTFail("no close action") }
            XCTAssertEqual(failure.lost.count, 1, "own reply arrived: \(ownReplyArrived)")
            XCTAssertTrue(failure.lost.first === command)
        }
    }
}
