import EventLoop
import RESP
import XCTest

@testable import Store

/// Every transition of a backend connection, without a socket.
final class BackendConnectionStateMachineTests: XCTestCase {
    typealias Machine = BackendConnectionStateMachine
    private let address = SocketAddress.inet(host: "127.0.0.1", port: 6379)
    private var names: [ObjectIdentifier: String] = [:]

    private func command(_ name: String, idempotent: Bool = true, asking: Bool = false) -> StoreCommand {
        let command = StoreCommand(
            payload: .arguments(["ECHO", name]), asking: asking, idempotent: idempotent, timeoutMs: 1000,
            routing: .keyless, readOnly: false
        ) { _ in }
        names[ObjectIdentifier(command)] = name
        return command
    }

    /// The action as text, commands by name: tables compare these.
    private func describe(_ action: Machine.Action) -> String {
        switch action {
        case .none: "none"
        case .startTLS: "startTLS"
        case .startHandshake: "startHandshake"
        case .becomeReady: "becomeReady"
        case .dropReply: "dropReply"
        case .complete(let command, let reply): "complete(\(names[ObjectIdentifier(command)]!), \(reply.string ?? "?"))"
        case .fail(let command, let error): "fail(\(names[ObjectIdentifier(command)]!), \(error.kind))"
        case .close(let failure):
            "close(\(failure.error.kind), lost: [\(failure.lost.map { names[ObjectIdentifier($0)]! }.joined(separator: ", "))], wasReady: \(failure.wasReady))"
        }
    }

    private func readyMachine(maxConsecutiveTimeouts: Int = 3) -> Machine {
        var machine = Machine(address: address, maxConsecutiveTimeouts: maxConsecutiveTimeouts)
        _ = machine.didConnect(handshakeCommands: 1)
        _ = machine.didReceive(.simpleString("OK"))
        XCTAssertEqual(machine.state, .ready)
        return machine
    }

    func testHandshakeCountsDownItsRepliesThenBecomesReady() {
        var machine = Machine(address: address, maxConsecutiveTimeouts: 3)
        XCTAssertEqual(machine.state, .connecting)
        XCTAssertFalse(machine.isReady)
        XCTAssertEqual(describe(machine.didConnect(handshakeCommands: 3)), "startHandshake")
        XCTAssertEqual(machine.state, .handshaking(repliesLeft: 3))
        XCTAssertEqual(describe(machine.didConnect(handshakeCommands: 3)), "none", "a second connect event is ignored")
        XCTAssertEqual(describe(machine.didReceive(.simpleString("OK"))), "none")
        XCTAssertEqual(describe(machine.didReceive(.simpleString("OK"))), "none")
        XCTAssertEqual(machine.state, .handshaking(repliesLeft: 1))
        XCTAssertEqual(describe(machine.didReceive(.simpleString("OK"))), "becomeReady")
        XCTAssertTrue(machine.isReady)
    }

    func testTLSHandshakeComesBeforeTheStoreHandshake() {
        var machine = Machine(address: address, maxConsecutiveTimeouts: 3)
        XCTAssertEqual(describe(machine.didSecure()), "none", "no TLS before the connect")
        XCTAssertEqual(describe(machine.didConnect(handshakeCommands: 2, secure: true)), "startTLS")
        XCTAssertEqual(machine.state, .securing(handshakeCommands: 2))
        XCTAssertEqual(
            describe(machine.didReceive(.simpleString("OK"))), "close(protocolError, lost: [], wasReady: false)",
            "a reply before the TLS handshake completed")
        machine = Machine(address: address, maxConsecutiveTimeouts: 3)
        _ = machine.didConnect(handshakeCommands: 2, secure: true)
        XCTAssertEqual(describe(machine.didSecure()), "startHandshake")
        XCTAssertEqual(machine.state, .handshaking(repliesLeft: 2))
        XCTAssertEqual(describe(machine.didSecure()), "none", "a second completion is ignored")
        _ = machine.didReceive(.simpleString("OK"))
        XCTAssertEqual(describe(machine.didReceive(.simpleString("OK"))), "becomeReady")
    }

    func testTLSFailuresCloseWithTheirKindInEachState() {
        let cases: [(String, Bool, Machine.State?, String)] = [
            (
                "securing, certificate", true, .securing(handshakeCommands: 1),
                "close(certificateRejected, lost: [], wasReady: false)"
            ),
            (
                "securing, bad bytes", false, .securing(handshakeCommands: 1),
                "close(nodeDown, lost: [], wasReady: false)"
            ),
            (
                "handshaking", false, .handshaking(repliesLeft: 1),
                "close(connectionLost(outcomeUnknown: true), lost: [], wasReady: false)"
            ),
            ("ready", false, .ready, "close(connectionLost(outcomeUnknown: true), lost: [a], wasReady: true)"),
            ("closed", false, .closed, "none"),
        ]
        for (label, rejected, state, expected) in cases {
            var machine = Machine(address: address, maxConsecutiveTimeouts: 3)
            switch state {
            case .handshaking?:
                _ = machine.didConnect(handshakeCommands: 1, secure: true)
                _ = machine.didSecure()
            case .ready?:
                machine = readyMachine()
                machine.send(command("a"))
            case .closed?: _ = machine.close(StoreError(.closed, "closed"))
            default: _ = machine.didConnect(handshakeCommands: 1, secure: true)
            }
            XCTAssertEqual(
                describe(machine.didFailTLS("bad record mac", certificateRejected: rejected)), expected, label)
        }
    }

    func testHandshakeRefusalsCloseWithTheirKind() {
        let cases: [(String, String)] = [
            ("WRONGPASS invalid username-password pair", "authenticationFailed"),
            ("NOAUTH Authentication required.", "authenticationFailed"),
            ("ERR AUTH <password> called without any password configured", "authenticationFailed"),
            ("ERR DB index is out of range", "protocolError"),
        ]
        for (message, kind) in cases {
            var machine = Machine(address: address, maxConsecutiveTimeouts: 3)
            _ = machine.didConnect(handshakeCommands: 2)
            XCTAssertEqual(
                describe(machine.didReceive(.error(message))), "close(\(kind), lost: [], wasReady: false)", message)
            XCTAssertTrue(machine.isClosed)
        }
    }

    func testConnectFailuresAndTheConnectDeadlineInEachState() {
        func machine(in state: Machine.State) -> Machine {
            var machine = Machine(address: address, maxConsecutiveTimeouts: 3)
            switch state {
            case .connecting: break
            case .securing: _ = machine.didConnect(handshakeCommands: 2, secure: true)
            case .handshaking: _ = machine.didConnect(handshakeCommands: 2)
            case .ready: machine = readyMachine()
            case .closed: _ = machine.close(StoreError(.closed, "closed"))
            }
            return machine
        }
        let deadline: [(Machine.State, String)] = [
            (.connecting, "close(nodeDown, lost: [], wasReady: false)"),
            (.securing(handshakeCommands: 2), "close(nodeDown, lost: [], wasReady: false)"),
            (.handshaking(repliesLeft: 2), "close(nodeDown, lost: [], wasReady: false)"),
            (.ready, "none"),
            (.closed, "none"),
        ]
        for (state, expected) in deadline {
            var subject = machine(in: state)
            XCTAssertEqual(describe(subject.connectDeadlineDidExpire()), expected, "deadline in \(state)")
        }
        var connecting = machine(in: .connecting)
        guard case .close(let failure) = connecting.didFailConnect("connection refused (ECONNREFUSED)") else {
            return XCTFail("a failed connect closes")
        }
        XCTAssertEqual(failure.error.kind, .nodeDown)
        XCTAssertTrue(failure.error.message.contains("ECONNREFUSED"))
        var closed = machine(in: .closed)
        XCTAssertEqual(describe(closed.didFailConnect("late")), "none")
    }

    func testRepliesSettleTheHeadAndAbandonedHeadsAreDropped() {
        var machine = readyMachine()
        let a = command("a")
        let b = command("b")
        let c = command("c")
        for each in [a, b, c] { machine.send(each) }
        XCTAssertEqual(machine.depth, 3)
        b.settle(.failure(StoreError(.timeout(outcomeUnknown: false), "late")))  // its node timed it out
        XCTAssertEqual(describe(machine.didAbandonCommand()), "none")
        XCTAssertEqual(machine.abandonedSinceLastReply, 1)
        let replies = ["a", "b", "c"].map { machine.didReceive(.bulkString(Array($0.utf8))) }.map(describe)
        XCTAssertEqual(replies, ["complete(a, a)", "dropReply", "complete(c, c)"])
        XCTAssertEqual(machine.abandonedSinceLastReply, 0, "a live reply resets the count")
        XCTAssertEqual(machine.depth, 0)
        XCTAssertEqual(
            describe(machine.didReceive(.simpleString("OK"))), "close(protocolError, lost: [], wasReady: true)",
            "a reply nobody asked for")
    }

    func testAReplyToSkipRidesInFrontOfItsCommand() {
        var machine = readyMachine()
        let asked = command("asked", asking: true)
        machine.send(asked)
        XCTAssertEqual(machine.depth, 1, "one command, two replies")
        XCTAssertEqual(describe(machine.didReceive(.simpleString("OK"))), "none", "ASKING's reply is dropped")
        XCTAssertEqual(machine.depth, 1)
        XCTAssertEqual(describe(machine.didReceive(.bulkString(Array("asked".utf8)))), "complete(asked, asked)")
    }

    func testLeadingRepliesAreReadBeforeTheCommandsOwnAndTheirFirstErrorAnswersForIt() {
        var machine = readyMachine()
        func transaction(_ name: String) -> StoreCommand {
            let command = StoreCommand(
                payload: .encoded([]), asking: false, idempotent: true, timeoutMs: 1000, routing: .keyless,
                readOnly: true, leadingReplies: 3
            ) { _ in }
            names[ObjectIdentifier(command)] = name
            return command
        }
        let clean = transaction("clean")
        let moved = transaction("moved")
        machine.send(clean)
        machine.send(moved)
        XCTAssertEqual(machine.depth, 2, "two commands, eight replies")
        for queued in ["OK", "QUEUED", "QUEUED"] {
            XCTAssertEqual(describe(machine.didReceive(.simpleString(queued))), "none")
        }
        XCTAssertEqual(describe(machine.didReceive(.bulkString(Array("exec".utf8)))), "complete(clean, exec)")
        XCTAssertEqual(describe(machine.didReceive(.simpleString("OK"))), "none")
        XCTAssertEqual(describe(machine.didReceive(.error("MOVED 3999 127.0.0.1:6381"))), "none")
        XCTAssertEqual(
            describe(machine.didReceive(.error("ASK 3999 127.0.0.1:6382"))), "none", "only the first error is kept")
        guard case .complete(_, let reply) = machine.didReceive(.error("EXECABORT Transaction discarded")) else {
            return XCTFail("EXEC's reply completes the command")
        }
        XCTAssertEqual(reply, .error("MOVED 3999 127.0.0.1:6381"), "the redirect answers in place of EXECABORT")
        XCTAssertEqual(machine.depth, 0)
    }

    func testRepliesOutsideTheReadyState() {
        var connecting = Machine(address: address, maxConsecutiveTimeouts: 3)
        XCTAssertEqual(
            describe(connecting.didReceive(.simpleString("OK"))), "close(protocolError, lost: [], wasReady: false)")
        var closed = readyMachine()
        _ = closed.close(StoreError(.closed, "closed"))
        XCTAssertEqual(describe(closed.didReceive(.simpleString("OK"))), "none")
    }

    func testConsecutiveTimeoutsCloseAStuckConnection() {
        var machine = readyMachine(maxConsecutiveTimeouts: 2)
        let a = command("a")
        let b = command("b")
        let c = command("c", idempotent: false)
        for each in [a, b, c] { machine.send(each) }
        a.settle(.failure(StoreError(.timeout(outcomeUnknown: false), "late")))
        XCTAssertEqual(describe(machine.didAbandonCommand()), "none")
        b.settle(.failure(StoreError(.timeout(outcomeUnknown: false), "late")))
        XCTAssertEqual(
            describe(machine.didAbandonCommand()),
            "close(connectionLost(outcomeUnknown: true), lost: [c], wasReady: true)")
        XCTAssertEqual(machine.depth, 0)
        XCTAssertEqual(describe(machine.didAbandonCommand()), "none", "closed already")

        var handshaking = Machine(address: address, maxConsecutiveTimeouts: 1)
        _ = handshaking.didConnect(handshakeCommands: 1)
        XCTAssertEqual(describe(handshaking.didAbandonCommand()), "none", "only a ready connection is replaced")
    }

    func testCloseHandsBackTheLiveCommandsOnceInOrder() {
        var machine = readyMachine()
        let a = command("a")
        let b = command("b")
        let c = command("c")
        for each in [a, b, c] { machine.send(each) }
        b.settle(.failure(StoreError(.timeout(outcomeUnknown: false), "late")))
        XCTAssertEqual(describe(machine.close(StoreError(.closed, "x"))), "close(closed, lost: [a, c], wasReady: true)")
        XCTAssertEqual(describe(machine.close(StoreError(.closed, "x"))), "none")
        XCTAssertTrue(machine.isClosed)
    }

    func testWhatALostCommandFailsWith() {
        let read = command("r")
        let write = command("w", idempotent: false)
        let cases: [(StoreError.Kind, StoreCommand, StoreError.Kind)] = [
            (.connectionLost(outcomeUnknown: true), read, .connectionLost(outcomeUnknown: false)),
            (.connectionLost(outcomeUnknown: true), write, .connectionLost(outcomeUnknown: true)),
            (.protocolError, read, .connectionLost(outcomeUnknown: false)),
            (.protocolError, write, .connectionLost(outcomeUnknown: true)),
            (.closed, write, .closed),
            (.nodeDown, write, .nodeDown),
        ]
        for (kind, command, expected) in cases {
            let error = Machine.error(for: command, lostWith: StoreError(kind, "why"))
            XCTAssertEqual(error.kind, expected, "\(kind)")
            XCTAssertEqual(error.message, "why")
        }
    }
}

/// What a command writes, and where it routes, without a socket.
final class StoreCommandTests: XCTestCase {
    private func bytes(_ command: StoreCommand) -> String {
        var out: [UInt8] = Array("prefix|".utf8)
        command.encode(into: &out, nowMs: 0)
        return String(decoding: out, as: UTF8.self)
    }

    func testEncodingAppendsToTheCallersBuffer() {
        let plain = StoreCommand(["GET", "k"], idempotent: true, timeoutMs: 1) { _ in }
        XCTAssertEqual(bytes(plain), "prefix|*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        let asking = StoreCommand(
            payload: plain.payload, asking: true, idempotent: true, timeoutMs: 1, routing: plain.routing,
            readOnly: plain.isReadOnly
        ) { _ in }
        XCTAssertEqual(bytes(asking), "prefix|*1\r\n$6\r\nASKING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        let encoded = StoreCommand(encoded: Array("*1\r\n$4\r\nPING\r\n".utf8), idempotent: true, timeoutMs: 1) { _ in }
        XCTAssertEqual(bytes(encoded), "prefix|*1\r\n$4\r\nPING\r\n")
        XCTAssertEqual(
            bytes(encoded), "prefix|*1\r\n$4\r\nPING\r\n", "a command can be written again (a cluster retry)")
    }

    func testRoutingIsWorkedOutFromTheArgumentsOrGiven() {
        let get = StoreCommand(["GET", "{user1}:a"], idempotent: true, timeoutMs: 1) { _ in }
        XCTAssertEqual(get.routing, .slot(HashSlot.of("user1")))
        XCTAssertTrue(get.isReadOnly)
        let set = StoreCommand(["MSET", "a", "1", "b", "2"], idempotent: false, timeoutMs: 1) { _ in }
        XCTAssertEqual(set.routing, .crossSlot)
        XCTAssertFalse(set.isReadOnly)
        let scan = StoreCommand(["SCAN", "0"], idempotent: true, timeoutMs: 1, slot: 42) { _ in }
        XCTAssertEqual(scan.routing, .slot(42), "a pinned slot wins")
        let encoded = StoreCommand(encoded: [], idempotent: true, timeoutMs: 1, routing: .slot(7), readOnly: true) {
            _ in
        }
        XCTAssertEqual(encoded.routing, .slot(7))
        XCTAssertTrue(encoded.isReadOnly)
    }
}
