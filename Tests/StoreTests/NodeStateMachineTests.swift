import EventLoop
import RESP
import XCTest

@testable import Store

/// Every transition of a node's admission and health, without sockets or timers.
final class NodeStateMachineTests: XCTestCase {
    typealias Machine = NodeStateMachine
    private let address = SocketAddress.inet(host: "10.0.0.1", port: 6379)
    private let refused = StoreError(.nodeDown, "cannot connect to 10.0.0.1:6379: connection refused")

    private func limits(connections: Int = 2, queue: Int = 3) -> StoreLimits {
        var limits = StoreLimits()
        limits.maxConnectionsPerNode = connections
        limits.maxQueuedPerNode = queue
        limits.reconnectBaseMs = 100
        limits.reconnectMaxMs = 2000
        return limits
    }

    private func command(_ name: String = "c") -> StoreCommand {
        StoreCommand(["ECHO", name], idempotent: true, timeoutMs: 1000) { _ in }
    }

    private func downMachine(random: @escaping () -> Double = { 1 }) -> Machine {
        var machine = Machine(address: address, limits: limits(), random: random)
        XCTAssertEqual(machine.submit(command(), canSendNow: false), .queued(openConnection: true))
        guard case .markDown = machine.connectionDidClose(wasReady: false, error: refused) else {
            XCTFail("a failed first connect marks the node down")
            return machine
        }
        return machine
    }

    func testSubmitWhileConnectingQueuesAndOpensOneConnectionAtATime() {
        var machine = Machine(address: address, limits: limits())
        XCTAssertEqual(machine.state, .connecting)
        XCTAssertTrue(machine.acceptsCommands)
        XCTAssertEqual(machine.submit(command(), canSendNow: false), .queued(openConnection: true))
        XCTAssertEqual(
            machine.submit(command(), canSendNow: false), .queued(openConnection: false), "one opening at a time")
        XCTAssertEqual(machine.openingConnections, 1)
        XCTAssertEqual(machine.queuedCount, 2)
        XCTAssertEqual(
            machine.submit(command(), canSendNow: true), .queued(openConnection: false), "nothing overtakes the queue")
        XCTAssertEqual(
            machine.submit(command(), canSendNow: false),
            .refuse(StoreError(.overloaded, "10.0.0.1:6379: 3 commands already waiting")))
        XCTAssertEqual(machine.queuedCount, 3)
    }

    func testReadyConnectionsTakeTheQueueInOrderSkippingTimedOutCommands() {
        var machine = Machine(address: address, limits: limits())
        let a = command("a")
        let b = command("b")
        let c = command("c")
        for each in [a, b, c] { _ = machine.submit(each, canSendNow: false) }
        b.settle(.failure(StoreError(.timeout(outcomeUnknown: false), "late")))
        machine.queuedCommandDidTimeOut()
        XCTAssertEqual(machine.queuedCount, 2)
        machine.connectionDidBecomeReady()
        XCTAssertEqual(machine.state, .up)
        XCTAssertEqual(machine.readyConnections, 1)
        XCTAssertTrue(machine.popQueued() === a)
        XCTAssertTrue(machine.popQueued() === c)
        XCTAssertNil(machine.popQueued())
        XCTAssertEqual(machine.queuedCount, 0)
        XCTAssertFalse(machine.queueDidDrain(), "nothing waits: no more connections")
        XCTAssertEqual(machine.submit(command(), canSendNow: true), .send)
    }

    func testThePoolGrowsToItsCapOnly() {
        var machine = Machine(address: address, limits: limits(connections: 2))
        XCTAssertTrue(machine.openConnectionIfAllowed())
        XCTAssertFalse(machine.openConnectionIfAllowed(), "one opening at a time")
        machine.connectionDidBecomeReady()
        XCTAssertTrue(machine.openConnectionIfAllowed())
        machine.connectionDidBecomeReady()
        XCTAssertEqual(machine.openConnections, 2)
        XCTAssertFalse(machine.openConnectionIfAllowed(), "at maxConnectionsPerNode")
        _ = machine.submit(command(), canSendNow: false)
        XCTAssertFalse(machine.queueDidDrain(), "waiting, but the pool is full")
    }

    func testAFailedConnectWithNoReadyConnectionMarksTheNodeDown() {
        var machine = Machine(address: address, limits: limits(), random: { 1 })
        let a = command("a")
        let b = command("b")
        let c = command("c")
        for each in [a, b, c] { _ = machine.submit(each, canSendNow: false) }
        b.settle(.failure(StoreError(.timeout(outcomeUnknown: false), "late")))
        machine.queuedCommandDidTimeOut()
        guard
            case .markDown(let waiting, let error, let delay) = machine.connectionDidClose(
                wasReady: false, error: refused)
        else { return XCTFail("down") }
        XCTAssertEqual(
            waiting.map(ObjectIdentifier.init), [a, c].map(ObjectIdentifier.init), "the live waiting commands")
        XCTAssertEqual(error, refused)
        XCTAssertEqual(delay, 100)
        XCTAssertEqual(machine.state, .down(failedConnects: 1))
        XCTAssertEqual(machine.queuedCount, 0)
        XCTAssertFalse(machine.acceptsCommands)
        XCTAssertEqual(machine.submit(command(), canSendNow: false), .refuse(StoreError(.nodeDown, refused.message)))
        XCTAssertFalse(machine.openConnectionIfAllowed(), "down: only the reconnect timer opens")
    }

    func testAnAuthenticationRefusalOrARejectedCertificateKeepsItsKind() {
        for kind in [StoreError.Kind.authenticationFailed, .certificateRejected] {
            var machine = Machine(address: address, limits: limits())
            _ = machine.submit(command(), canSendNow: false)
            let refusal = StoreError(kind, "refused")
            guard case .markDown(_, let error, _) = machine.connectionDidClose(wasReady: false, error: refusal) else {
                return XCTFail("down")
            }
            XCTAssertEqual(error.kind, kind)
            guard case .refuse(let later) = machine.submit(command(), canSendNow: false) else {
                return XCTFail("refused while down")
            }
            XCTAssertEqual(later.kind, .nodeDown, "later requests: 503 like any dead node")
        }
    }

    func testReconnectProbesBackOffUntilOneIsReady() {
        var machine = downMachine()
        XCTAssertTrue(machine.reconnectTimerDidFire(), "one probe")
        XCTAssertFalse(machine.reconnectTimerDidFire(), "not while the probe is open")
        XCTAssertFalse(machine.acceptsCommands, "down until the probe is ready")
        guard case .markDown(let waiting, _, let delay) = machine.connectionDidClose(wasReady: false, error: refused)
        else {
            return XCTFail("the probe failed: still down")
        }
        XCTAssertTrue(waiting.isEmpty)
        XCTAssertEqual(delay, 200, "doubled")
        XCTAssertEqual(machine.state, .down(failedConnects: 2))
        XCTAssertTrue(machine.reconnectTimerDidFire())
        machine.connectionDidBecomeReady()
        XCTAssertEqual(machine.state, .up)
        XCTAssertNil(machine.lastError)
        XCTAssertFalse(machine.reconnectTimerDidFire(), "up: a stale timer does nothing")
        XCTAssertEqual(machine.submit(command(), canSendNow: true), .send)
    }

    func testBackoffDoublesToItsCeilingWithInjectedJitter() {
        let table: [(Double, [UInt64])] = [
            (1, [100, 200, 400, 800, 1600, 2000, 2000]),
            (0, [50, 100, 200, 400, 800, 1000, 1000]),
            (0.5, [75, 150, 300, 600, 1200, 1500, 1500]),
        ]
        for (jitter, delays) in table {
            let machine = Machine(address: address, limits: limits(), random: { jitter })
            XCTAssertEqual((1...7).map { machine.backoffMs(failedConnects: $0) }, delays, "jitter \(jitter)")
        }
        let huge = Machine(address: address, limits: limits(), random: { 1 })
        XCTAssertEqual(huge.backoffMs(failedConnects: 500), 2000, "the exponent is capped")
    }

    func testADroppedReadyConnectionIsReplacedAtOnce() {
        var machine = Machine(address: address, limits: limits())
        _ = machine.openConnectionIfAllowed()
        machine.connectionDidBecomeReady()
        _ = machine.openConnectionIfAllowed()
        machine.connectionDidBecomeReady()
        let drop = StoreError(.connectionLost(outcomeUnknown: true), "closed")
        guard case .none = machine.connectionDidClose(wasReady: true, error: drop) else {
            return XCTFail("another ready connection serves; nothing waits")
        }
        XCTAssertEqual(machine.state, .up)
        guard case .openConnection = machine.connectionDidClose(wasReady: true, error: drop) else {
            return XCTFail("the last one dropped: reopen")
        }
        XCTAssertEqual(machine.state, .connecting, "still accepting; commands wait for the new connection")
        XCTAssertTrue(machine.acceptsCommands)
        XCTAssertEqual(machine.submit(command(), canSendNow: false), .queued(openConnection: false))
        guard case .markDown = machine.connectionDidClose(wasReady: false, error: refused) else {
            return XCTFail("the reopen was refused: down")
        }
        XCTAssertEqual(machine.state, .down(failedConnects: 1))
    }

    func testAFailedExtraConnectionLeavesAnUpNodeUp() {
        var machine = Machine(address: address, limits: limits())
        _ = machine.openConnectionIfAllowed()
        machine.connectionDidBecomeReady()
        _ = machine.openConnectionIfAllowed()
        guard case .none = machine.connectionDidClose(wasReady: false, error: refused) else {
            return XCTFail("one ready connection still serves")
        }
        XCTAssertEqual(machine.state, .up)
        XCTAssertEqual(machine.lastError, refused)
        XCTAssertEqual(machine.openConnections, 1)
    }

    func testCloseFailsTheWaitingAndRefusesEverythingAfter() {
        var machine = Machine(address: address, limits: limits())
        let a = command("a")
        let b = command("b")
        _ = machine.submit(a, canSendNow: false)
        _ = machine.submit(b, canSendNow: false)
        XCTAssertEqual(machine.close().map(ObjectIdentifier.init), [a, b].map(ObjectIdentifier.init))
        XCTAssertEqual(machine.state, .closed)
        XCTAssertEqual(machine.queuedCount, 0)
        XCTAssertEqual(
            machine.submit(command(), canSendNow: true), .refuse(StoreError(.nodeDown, "the store is closed")))
        guard case .none = machine.connectionDidClose(wasReady: false, error: StoreError(.closed, "closed")) else {
            return XCTFail("closed: nothing reopens")
        }
        XCTAssertFalse(machine.reconnectTimerDidFire())
        XCTAssertFalse(machine.openConnectionIfAllowed())
        XCTAssertTrue(machine.close().isEmpty)
    }
}
