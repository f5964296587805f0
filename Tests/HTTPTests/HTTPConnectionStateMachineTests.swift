import XCTest

@testable import HTTP

/// Every transition of `HTTPConnectionStateMachine`, without a socket: each case drives
/// a machine through events and compares the state, the deadline and the actions.
final class HTTPConnectionStateMachineTests: XCTestCase {
    typealias Machine = HTTPConnectionStateMachine
    typealias Actions = Machine.Actions

    private static let limits: HTTPLimits = {
        var limits = HTTPLimits()
        limits.maxPipelinedRequests = 2
        limits.maxUnsentBytes = 100
        return limits
    }()

    private func actions(_ build: (inout Actions) -> Void) -> Actions {
        var actions = Actions()
        build(&actions)
        return actions
    }

    /// A started machine with one request parsed and dispatched (the handler has it).
    private func machineWithOneRequest() -> Machine {
        var machine = Machine()
        _ = machine.start()
        _ = machine.didBeginRequest()
        _ = machine.didParseHead(expectsBody: false, expectsContinue: false)
        _ = machine.didParseRequest(keepAlive: true, moreInput: false)
        _ = machine.didDispatch(waitsForAdmission: false, unsentBytes: 0, limits: Self.limits)
        return machine
    }

    private func written(
        _ machine: inout Machine, count: Int = 1, closes: Bool = false, unsent: Int = 0,
        draining: Bool = false
    ) -> Actions {
        machine.didWriteResponses(
            count: count, closesConnection: closes, unsentBytes: unsent, serverDraining: draining, limits: Self.limits)
    }

    // MARK: reading

    func testStartReadsUnderTheFirstRequestDeadline() {
        var machine = Machine()
        XCTAssertEqual(
            machine.start(),
            actions {
                $0.reading = .start
                $0.deadline = .set(.firstRequest)
            })
        XCTAssertEqual(machine.state, .reading)
    }

    func testARequestMovesThroughHeadBodyAndDispatch() {
        var machine = Machine()
        _ = machine.start()
        XCTAssertEqual(machine.didBeginRequest(), actions { $0.deadline = .set(.head) })
        XCTAssertTrue(machine.insideRequest)
        XCTAssertEqual(
            machine.didParseHead(expectsBody: true, expectsContinue: false), actions { $0.deadline = .set(.body) })
        XCTAssertEqual(
            machine.didParseRequest(keepAlive: true, moreInput: false),
            actions {
                $0.deadline = .clear
                $0.dispatch = true
            })
        XCTAssertEqual(machine.responsesOwed, 1)
        XCTAssertFalse(machine.insideRequest)
        XCTAssertEqual(machine.didDispatch(waitsForAdmission: false, unsentBytes: 0, limits: Self.limits), Actions())
        XCTAssertEqual(machine.state, .reading)
    }

    func testHeadWithoutBodyClearsTheDeadline() {
        var machine = Machine()
        _ = machine.start()
        _ = machine.didBeginRequest()
        XCTAssertEqual(
            machine.didParseHead(expectsBody: false, expectsContinue: false), actions { $0.deadline = .clear })
    }

    func testExpectContinueIsWrittenAtOnceOnlyWhenNothingIsOwed() {
        var idle = Machine()
        _ = idle.start()
        _ = idle.didBeginRequest()
        XCTAssertEqual(
            idle.didParseHead(expectsBody: true, expectsContinue: true),
            actions {
                $0.deadline = .set(.body)
                $0.writeContinue = true
            })

        var busy = machineWithOneRequest()
        _ = busy.didBeginRequest()
        XCTAssertEqual(
            busy.didParseHead(expectsBody: true, expectsContinue: true), actions { $0.deadline = .set(.body) })
        XCTAssertTrue(busy.continuePending)
        XCTAssertEqual(written(&busy), actions { $0.writeContinue = true })
        XCTAssertFalse(busy.continuePending)
    }

    func testARequestThatEndsTheConnectionStartsDraining() {
        var machine = Machine()
        _ = machine.start()
        _ = machine.didBeginRequest()
        XCTAssertEqual(
            machine.didParseRequest(keepAlive: false, moreInput: true),
            actions {
                $0.deadline = .clear
                $0.dispatch = true
                $0.discardInput = true
                $0.reading = .stop
            })
        XCTAssertEqual(machine.state, .draining(finalResponseWritten: false))
        XCTAssertFalse(machine.hasUnparsedInput)
        XCTAssertEqual(
            machine.didParseRequest(keepAlive: true, moreInput: false), Actions(), "nothing more is dispatched")
    }

    // MARK: pausing

    func testPipelineCapPausesAndAWrittenResponseResumes() {
        var machine = machineWithOneRequest()
        _ = machine.didBeginRequest()
        _ = machine.didParseRequest(keepAlive: true, moreInput: true)
        XCTAssertEqual(
            machine.didDispatch(waitsForAdmission: false, unsentBytes: 0, limits: Self.limits),
            actions {
                $0.paused = .pipelineCap
                $0.reading = .stop
            })
        XCTAssertEqual(machine.state, .paused(.pipelineCap))
        machine.didKeepInput()
        XCTAssertEqual(written(&machine), actions { $0.parseKeptInput = true }, "kept input is parsed on a later turn")
        XCTAssertEqual(machine.state, .reading)
        XCTAssertEqual(
            machine.didConsumeInput(unsentBytes: 0, serverDraining: false), actions { $0.reading = .start })
    }

    func testResumeWithoutKeptInputStartsReading() {
        var machine = machineWithOneRequest()
        _ = machine.didBeginRequest()
        _ = machine.didParseRequest(keepAlive: true, moreInput: false)
        _ = machine.didDispatch(waitsForAdmission: false, unsentBytes: 0, limits: Self.limits)
        XCTAssertEqual(written(&machine), actions { $0.reading = .start })
        XCTAssertEqual(machine.state, .reading)
        XCTAssertEqual(written(&machine), actions { $0.deadline = .set(.keepAlive) }, "idle: keep-alive deadline")
    }

    func testAdmissionPausesUntilResolved() {
        var machine = Machine()
        _ = machine.start()
        _ = machine.didBeginRequest()
        _ = machine.didParseRequest(keepAlive: true, moreInput: false)
        XCTAssertEqual(
            machine.didDispatch(waitsForAdmission: true, unsentBytes: 0, limits: Self.limits),
            actions {
                $0.paused = .admission
                $0.reading = .stop
            })
        XCTAssertEqual(machine.state, .paused(.admission))
        XCTAssertEqual(written(&machine), Actions(), "answered (503) while waiting: still paused until resolved")
        XCTAssertEqual(
            machine.admissionDidResolve(),
            actions {
                $0.reading = .start
                $0.deadline = .set(.keepAlive)
            })
        XCTAssertEqual(machine.state, .reading)
        XCTAssertEqual(machine.admissionDidResolve(), Actions(), "resolving twice changes nothing")
    }

    func testReasonsAccumulateAndAllMustClear() {
        var machine = machineWithOneRequest()
        _ = machine.didBeginRequest()
        _ = machine.didParseRequest(keepAlive: true, moreInput: false)
        XCTAssertEqual(
            machine.didDispatch(waitsForAdmission: true, unsentBytes: 500, limits: Self.limits),
            actions {
                $0.paused = [.admission, .slowReader, .pipelineCap]
                $0.reading = .stop
                $0.deadline = .set(.slowReader)
            })
        XCTAssertEqual(machine.admissionDidResolve(), Actions())
        XCTAssertEqual(machine.state, .paused([.slowReader, .pipelineCap]))
        XCTAssertEqual(machine.didFlush(serverDraining: false), actions { $0.deadline = .clear })
        XCTAssertEqual(machine.state, .paused(.pipelineCap))
        XCTAssertEqual(written(&machine), actions { $0.reading = .start })
        XCTAssertEqual(machine.state, .reading)
    }

    func testSlowReaderPausesOnWriteAndResumesOnFlush() {
        var machine = machineWithOneRequest()
        XCTAssertEqual(
            written(&machine, unsent: 101),
            actions {
                $0.paused = .slowReader
                $0.reading = .stop
                $0.deadline = .set(.slowReader)
            })
        XCTAssertEqual(machine.state, .paused(.slowReader))
        XCTAssertEqual(
            machine.didFlush(serverDraining: false),
            actions {
                $0.deadline = .set(.keepAlive)
                $0.reading = .start
            }, "idle after the flush")
        XCTAssertEqual(machine.state, .reading)
    }

    func testSlowReaderDeadlineResets() {
        var machine = machineWithOneRequest()
        _ = written(&machine, unsent: 101)
        XCTAssertEqual(
            machine.didExpireDeadline(),
            actions {
                $0.discardInput = true
                $0.close = .reset
            })
        XCTAssertEqual(machine.state, .closed)
    }

    /// A stream's chunks count like whole responses: past the limit the connection
    /// pauses with its deadline; more chunks while over do not renew it; the flush ends it.
    func testStreamedChunksPastTheLimitPauseOnceUntilTheFlush() {
        var machine = machineWithOneRequest()
        XCTAssertEqual(written(&machine, count: 0, unsent: 100), Actions(), "at the limit: nothing")
        XCTAssertEqual(
            written(&machine, count: 0, unsent: 101),
            actions {
                $0.paused = .slowReader
                $0.reading = .stop
                $0.deadline = .set(.slowReader)
            })
        XCTAssertEqual(machine.deadline, .slowReader)
        XCTAssertEqual(written(&machine, count: 0, unsent: 5000), Actions(), "the first deadline stands")
        XCTAssertEqual(machine.state, .paused(.slowReader))
        XCTAssertEqual(
            machine.didFlush(serverDraining: false),
            actions {
                $0.deadline = .clear
                $0.reading = .start
            })
        XCTAssertEqual(machine.state, .reading)
        XCTAssertEqual(machine.deadline, .none, "the stream still owes its response: no keep-alive deadline")
    }

    /// A pipelining client that never reads: once over, the responses still finishing
    /// neither renew the deadline nor resume parsing, and the deadline resets it.
    func testResponsesWrittenWhileOverTheLimitKeepTheFirstDeadline() {
        var machine = machineWithOneRequest()
        _ = machine.didBeginRequest()
        _ = machine.didParseRequest(keepAlive: true, moreInput: true)
        _ = machine.didDispatch(waitsForAdmission: false, unsentBytes: 0, limits: Self.limits)
        machine.didKeepInput()
        XCTAssertEqual(machine.state, .paused(.pipelineCap))
        XCTAssertEqual(
            written(&machine, unsent: 101),
            actions {
                $0.paused = .slowReader
                $0.reading = .stop
                $0.deadline = .set(.slowReader)
            })
        XCTAssertEqual(written(&machine, unsent: 300), Actions(), "no renewal, no parsing of the kept input")
        XCTAssertEqual(machine.state, .paused(.pipelineCap.union(.slowReader)))
        XCTAssertEqual(
            machine.didExpireDeadline(),
            actions {
                $0.discardInput = true
                $0.close = .reset
            })
    }

    func testFlushWithoutAPauseDoesNothing() {
        var machine = machineWithOneRequest()
        XCTAssertEqual(machine.didFlush(serverDraining: false), Actions())
    }

    // MARK: refusing

    func testMalformedInputRefusesAndDrains() {
        var machine = machineWithOneRequest()
        _ = machine.didBeginRequest()
        XCTAssertEqual(
            machine.didFailParsing(.malformed("x")),
            actions {
                $0.discardInput = true
                $0.reading = .stop
                $0.deadline = .clear
                $0.refuse = .malformed("x")
            })
        XCTAssertEqual(machine.state, .draining(finalResponseWritten: false))
        XCTAssertEqual(machine.responsesOwed, 2)
        XCTAssertEqual(machine.didFailParsing(.malformed("y")), Actions(), "one refusal")
    }

    func testUnknownMethodIsDispatchedThenDrains() {
        var machine = Machine()
        _ = machine.start()
        XCTAssertEqual(
            machine.didFailParsing(nil),
            actions {
                $0.discardInput = true
                $0.reading = .stop
                $0.deadline = .clear
                $0.dispatch = true
            })
    }

    func testHeadAndBodyDeadlinesRefuseWith408() {
        for expectsBody in [false, true] {
            var machine = Machine()
            _ = machine.start()
            _ = machine.didBeginRequest()
            if expectsBody { _ = machine.didParseHead(expectsBody: true, expectsContinue: false) }
            XCTAssertEqual(
                machine.didExpireDeadline(),
                actions {
                    $0.discardInput = true
                    $0.reading = .stop
                    $0.refuse = .requestTimeout
                })
            XCTAssertEqual(machine.state, .draining(finalResponseWritten: false))
        }
    }

    func testIdleDeadlinesClose() {
        var first = Machine()
        _ = first.start()
        XCTAssertEqual(
            first.didExpireDeadline(),
            actions {
                $0.discardInput = true
                $0.close = .graceful
            })
        var keepAlive = machineWithOneRequest()
        _ = written(&keepAlive)
        XCTAssertEqual(keepAlive.deadline, .keepAlive)
        XCTAssertEqual(
            keepAlive.didExpireDeadline(),
            actions {
                $0.discardInput = true
                $0.close = .graceful
            })
    }

    // MARK: draining, lingering, closing

    func testFinalResponseFlushedStartsLingering() {
        var machine = machineWithOneRequest()
        XCTAssertEqual(
            written(&machine, closes: true),
            actions {
                $0.discardInput = true
                $0.reading = .stop
            })
        XCTAssertEqual(machine.state, .draining(finalResponseWritten: true))
        XCTAssertEqual(
            machine.didFlush(serverDraining: false),
            actions {
                $0.shutdownWrite = true
                $0.reading = .start
                $0.deadline = .set(.linger)
            })
        XCTAssertEqual(machine.state, .lingering)
        XCTAssertEqual(
            machine.didReadEOF(error: false),
            actions {
                $0.discardInput = true
                $0.deadline = .clear
                $0.close = .graceful
            })
        XCTAssertEqual(machine.state, .closed)
    }

    func testLingerDeadlineCloses() {
        var machine = machineWithOneRequest()
        _ = written(&machine, closes: true)
        _ = machine.didFlush(serverDraining: false)
        XCTAssertEqual(
            machine.didExpireDeadline(),
            actions {
                $0.discardInput = true
                $0.close = .graceful
            })
    }

    func testEOFWhenIdleClosesAndWhenBusyWaitsForTheResponses() {
        var idle = machineWithOneRequest()
        _ = written(&idle)
        XCTAssertEqual(
            idle.didReadEOF(error: false),
            actions {
                $0.discardInput = true
                $0.deadline = .clear
                $0.close = .graceful
            })

        var busy = machineWithOneRequest()
        XCTAssertEqual(busy.didReadEOF(error: false), Actions())
        XCTAssertEqual(
            written(&busy, unsent: 0),
            actions {
                $0.discardInput = true
                $0.shutdownWrite = true
                $0.close = .graceful
                $0.reading = .stop
            }, "idle with the peer gone: FIN, then close at once")
        XCTAssertEqual(busy.state, .closed)

        var unflushed = machineWithOneRequest()
        _ = unflushed.didReadEOF(error: false)
        XCTAssertEqual(
            written(&unflushed, unsent: 50),
            actions {
                $0.discardInput = true
                $0.reading = .stop
            })
        XCTAssertEqual(unflushed.state, .draining(finalResponseWritten: true))
    }

    func testEOFInsideARequestOrWithAnErrorCloses() {
        var inside = machineWithOneRequest()
        _ = inside.didBeginRequest()
        XCTAssertEqual(inside.didReadEOF(error: false).close, .graceful)
        var failed = machineWithOneRequest()
        XCTAssertEqual(failed.didReadEOF(error: true).close, .graceful)
    }

    func testEOFWhileDrainingWaitsForTheFinalResponse() {
        var machine = Machine()
        _ = machine.start()
        _ = machine.didParseRequest(keepAlive: false, moreInput: false)
        XCTAssertEqual(machine.didReadEOF(error: false), Actions())
        XCTAssertTrue(machine.peerClosedInput)
        _ = written(&machine, closes: true)
        XCTAssertEqual(
            machine.didFlush(serverDraining: false),
            actions {
                $0.shutdownWrite = true
                $0.discardInput = true
                $0.close = .graceful
            })
    }

    func testServerDrain() {
        var idle = Machine()
        _ = idle.start()
        XCTAssertEqual(
            idle.drain(),
            actions {
                $0.discardInput = true
                $0.deadline = .clear
                $0.close = .graceful
            })

        var busy = machineWithOneRequest()
        XCTAssertEqual(
            busy.drain(),
            actions {
                $0.discardInput = true
                $0.reading = .stop
            })
        XCTAssertEqual(busy.state, .draining(finalResponseWritten: false))

        var halfRead = machineWithOneRequest()
        _ = halfRead.didBeginRequest()
        XCTAssertEqual(halfRead.drain(), Actions(), "the request half-read is finished first")
        XCTAssertEqual(halfRead.state, .reading)

        var idleAfterWrite = machineWithOneRequest()
        XCTAssertEqual(
            written(&idleAfterWrite, draining: true),
            actions {
                $0.discardInput = true
                $0.shutdownWrite = true
                $0.reading = .start
                $0.deadline = .set(.linger)
            },
            "idle while the server drains: FIN, then linger")
        XCTAssertEqual(idleAfterWrite.state, .lingering)
    }

    func testCloseAndCloseCallback() {
        var machine = machineWithOneRequest()
        XCTAssertEqual(
            machine.close(reset: false),
            actions {
                $0.discardInput = true
                $0.close = .graceful
            })
        XCTAssertEqual(machine.close(reset: true), Actions(), "closing twice does nothing")
        XCTAssertEqual(machine.didClose(), Actions())
        XCTAssertEqual(machine.state, .closed)
        var open = Machine()
        _ = open.start()
        XCTAssertEqual(open.didClose(), actions { $0.deadline = .clear })
        XCTAssertEqual(open.state, .closed)
    }

    func testNothingParsesOrPausesAfterDraining() {
        var machine = Machine()
        _ = machine.start()
        _ = machine.didParseRequest(keepAlive: false, moreInput: false)
        XCTAssertEqual(machine.didDispatch(waitsForAdmission: true, unsentBytes: 500, limits: Self.limits), Actions())
        XCTAssertEqual(machine.admissionDidResolve(), Actions())
        XCTAssertEqual(machine.didConsumeInput(unsentBytes: 0, serverDraining: false), Actions())
        XCTAssertEqual(machine.state, .draining(finalResponseWritten: false))
    }
}
