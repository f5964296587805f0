/// The life of one client connection as a value: its state, why it is not reading,
/// which deadline covers it and how many responses it still owes. Each event method
/// returns the `Actions` its owner (`HTTPConnection`) carries out; nothing here touches
/// a socket, the parser or a responder, so every transition is testable without them.
///
/// ```
///   reading ──a cap is reached──▶ paused(reasons) ──every reason cleared──▶ reading
///   reading, paused ──last request, refusal, drain, idle after EOF──▶ draining
///   draining ──final response flushed──▶ lingering ──EOF or linger deadline──▶ closed
///   any state ──close, reset, write error──▶ closed
/// ```
/// `reading` parses input as it comes (idle when nothing is open). `paused` keeps the
/// socket unread and any unparsed input in the owner until every reason is cleared.
/// `draining` parses nothing more; its final response is queued once
/// `finalResponseWritten`, and its flush starts `lingering`: FIN sent, input read and
/// dropped until EOF or the linger deadline. One deadline at a time covers the state.
struct HTTPConnectionStateMachine: Equatable {
    enum State: Equatable {
        case reading
        case paused(PauseReasons)
        case draining(finalResponseWritten: Bool)
        case lingering
        case closed
    }

    /// Why a connection is not read: layer 1, layer 4 or layer 2 of backpressure.
    struct PauseReasons: OptionSet, Equatable {
        let rawValue: UInt8
        static let pipelineCap = PauseReasons(rawValue: 1)
        static let slowReader = PauseReasons(rawValue: 2)
        static let admission = PauseReasons(rawValue: 4)
    }

    enum DeadlineReason: Equatable { case none, firstRequest, head, body, keepAlive, slowReader, linger }

    /// What the owner does after an event, in this field order.
    struct Actions: Equatable {
        enum Reading: Equatable { case unchanged, start, stop }
        enum Deadline: Equatable {
            case unchanged
            case set(DeadlineReason)
            case clear
        }
        enum Close: Equatable { case none, graceful, reset }

        /// Drop input kept while paused: nothing after the final request is parsed.
        var discardInput = false
        var reading = Reading.unchanged
        var deadline = Deadline.unchanged
        /// Reasons newly added by this event (for the layer 1 and 4 counters).
        var paused: PauseReasons = []
        /// Write `100 Continue`: the request waiting for it is next in line.
        var writeContinue = false
        /// Parse the input kept while paused, on a later loop turn (never inside the caller).
        var parseKeptInput = false
        /// Hand the parsed request to the handler.
        var dispatch = false
        /// Answer this error as the connection's final response.
        var refuse: HTTPError?
        var shutdownWrite = false
        var close = Close.none
    }

    private(set) var state = State.reading
    private(set) var deadline = DeadlineReason.none
    /// Requests whose responses are not yet fully written (Int32: the machine is 12 bytes
    /// of every connection; the pipeline cap keeps it small).
    private(set) var responsesOwed: Int32 = 0
    /// The parser is between the first byte of a request and its end.
    private(set) var insideRequest = false
    /// The owner holds input it has not parsed (kept while paused, or the rest of a read).
    private(set) var hasUnparsedInput = false
    private(set) var continuePending = false
    private(set) var peerClosedInput = false

    init() {}

    private var isIdle: Bool { responsesOwed == 0 && !insideRequest && !hasUnparsedInput }

    /// Input is (or will again be) parsed: neither draining, lingering nor closed.
    var isReadingOrPaused: Bool { isParsing }

    private var isParsing: Bool {
        switch state {
        case .reading, .paused: true
        case .draining, .lingering, .closed: false
        }
    }

    // MARK: parsing

    /// The socket is open: read, and expect the first request within the header timeout.
    mutating func start() -> Actions {
        var actions = Actions()
        actions.reading = .start
        setDeadline(.firstRequest, &actions)
        return actions
    }

    mutating func didBeginRequest() -> Actions {
        var actions = Actions()
        insideRequest = true
        setDeadline(.head, &actions)
        return actions
    }

    mutating func didParseHead(expectsBody: Bool, expectsContinue: Bool) -> Actions {
        var actions = Actions()
        if expectsBody { setDeadline(.body, &actions) } else { clearDeadline(&actions) }
        if expectsContinue {
            if responsesOwed == 0 { actions.writeContinue = true } else { continuePending = true }
        }
        return actions
    }

    /// A whole request was parsed; `moreInput` tells whether unparsed bytes follow it.
    /// A request that does not keep the connection alive is its last.
    mutating func didParseRequest(keepAlive: Bool, moreInput: Bool) -> Actions {
        var actions = Actions()
        insideRequest = false
        continuePending = false
        hasUnparsedInput = moreInput
        guard state == .reading else { return actions }
        clearDeadline(&actions)
        responsesOwed += 1
        actions.dispatch = true
        if !keepAlive { startDraining(&actions) }
        return actions
    }

    /// The handler has the request (or it waits in admission). Past a cap, stop reading.
    mutating func didDispatch(waitsForAdmission: Bool, unsentBytes: Int, limits: HTTPLimits) -> Actions {
        var actions = Actions()
        var reasons: PauseReasons = []
        if waitsForAdmission { reasons.insert(.admission) }
        if unsentBytes > limits.maxUnsentBytes { reasons.insert(.slowReader) }
        if Int(responsesOwed) >= limits.maxPipelinedRequests { reasons.insert(.pipelineCap) }
        pause(reasons, &actions)
        return actions
    }

    /// Parsing stopped while paused with bytes left over; the owner keeps them.
    mutating func didKeepInput() {
        hasUnparsedInput = true
    }

    /// Every byte the owner held is parsed: read again, and cover an idle connection.
    mutating func didConsumeInput(unsentBytes: Int, serverDraining: Bool) -> Actions {
        var actions = Actions()
        hasUnparsedInput = false
        guard state == .reading else { return actions }
        if !peerClosedInput { actions.reading = .start }
        settleIfIdle(unsentBytes: unsentBytes, serverDraining: serverDraining, &actions)
        return actions
    }

    /// Malformed input, or a request-line of a method llhttp does not know
    /// (`refusal` nil: the handler answers it): one final response, then close.
    mutating func didFailParsing(_ refusal: HTTPError?) -> Actions {
        var actions = Actions()
        guard isParsing else { return actions }
        insideRequest = false
        responsesOwed += 1
        startDraining(&actions)
        clearDeadline(&actions)
        if let refusal { actions.refuse = refusal } else { actions.dispatch = true }
        return actions
    }

    /// Layer 2 admitted or refused this connection's waiting request.
    mutating func admissionDidResolve() -> Actions {
        var actions = Actions()
        unpause(.admission, &actions)
        return actions
    }

    // MARK: writing

    /// `count` responses were written in full (0: only a stream's chunks were);
    /// `closesConnection` if the last of them carried `Connection: close`. Past the
    /// layer-4 limit the connection pauses as a slow reader: its deadline runs from the
    /// first write that went over and is not renewed by later ones (streamed chunks
    /// included) until every byte is flushed.
    mutating func didWriteResponses(
        count: Int, closesConnection: Bool, unsentBytes: Int, serverDraining: Bool, limits: HTTPLimits
    ) -> Actions {
        var actions = Actions()
        responsesOwed -= Int32(count)
        if responsesOwed == 0, continuePending {
            continuePending = false
            actions.writeContinue = true
        }
        if closesConnection, count > 0 {
            if state != .closed, state != .lingering { startDraining(&actions, finalResponseWritten: true) }
            return actions
        }
        if unsentBytes > limits.maxUnsentBytes {
            pause(.slowReader, &actions)
            return actions
        }
        guard count > 0 else { return actions }
        if Int(responsesOwed) < limits.maxPipelinedRequests { unpause(.pipelineCap, &actions) }
        settleIfIdle(unsentBytes: unsentBytes, serverDraining: serverDraining, &actions)
        return actions
    }

    /// Every queued byte reached the socket.
    mutating func didFlush(serverDraining: Bool) -> Actions {
        var actions = Actions()
        if state == .draining(finalResponseWritten: true) {
            startLingering(&actions)
            return actions
        }
        guard case .paused(let reasons) = state, reasons.contains(.slowReader) else { return actions }
        clearDeadline(&actions)
        unpause(.slowReader, &actions)
        settleIfIdle(unsentBytes: 0, serverDraining: serverDraining, &actions)
        return actions
    }

    // MARK: closing

    /// The peer ended its input (`error`: the read failed).
    mutating func didReadEOF(error: Bool) -> Actions {
        var actions = Actions()
        peerClosedInput = true
        switch state {
        case .lingering, .closed:
            close(reset: false, &actions)
        case .draining:
            break
        case .reading, .paused:
            if error || insideRequest || isIdle { close(reset: false, &actions) }
        }
        return actions
    }

    mutating func didExpireDeadline() -> Actions {
        var actions = Actions()
        let reason = deadline
        deadline = .none
        switch reason {
        case .head, .body:
            return didFailParsing(.requestTimeout)
        case .slowReader:
            close(reset: true, &actions)
        case .none, .firstRequest, .keepAlive, .linger:
            close(reset: false, &actions)
        }
        return actions
    }

    /// The server drains: an idle connection closes, a busy one finishes what it parsed
    /// (a request half-read is finished too; its response closes the connection).
    mutating func drain() -> Actions {
        var actions = Actions()
        guard isParsing else { return actions }
        if isIdle {
            close(reset: false, &actions)
        } else if !insideRequest {
            startDraining(&actions)
        }
        return actions
    }

    mutating func close(reset: Bool) -> Actions {
        var actions = Actions()
        close(reset: reset, &actions)
        return actions
    }

    /// The socket's close callback ran.
    mutating func didClose() -> Actions {
        var actions = Actions()
        state = .closed
        clearDeadline(&actions)
        return actions
    }

    // MARK: steps shared by the events

    private mutating func pause(_ reasons: PauseReasons, _ actions: inout Actions) {
        let current: PauseReasons
        switch state {
        case .reading: current = []
        case .paused(let existing): current = existing
        case .draining, .lingering, .closed: return
        }
        let added = reasons.subtracting(current)
        guard !added.isEmpty else { return }
        state = .paused(current.union(added))
        actions.paused = added
        actions.reading = .stop
        if added.contains(.slowReader) { setDeadline(.slowReader, &actions) }
    }

    private mutating func unpause(_ reason: PauseReasons, _ actions: inout Actions) {
        guard case .paused(var reasons) = state, reasons.contains(reason) else { return }
        reasons.remove(reason)
        guard reasons.isEmpty else {
            state = .paused(reasons)
            return
        }
        state = .reading
        if hasUnparsedInput {
            actions.parseKeptInput = true
            return
        }
        if !peerClosedInput { actions.reading = .start }
        if isIdle, deadline == .none { setDeadline(.keepAlive, &actions) }
    }

    /// An idle reading connection closes if the server drains or the peer is gone,
    /// else waits for the next request under the keep-alive deadline.
    private mutating func settleIfIdle(unsentBytes: Int, serverDraining: Bool, _ actions: inout Actions) {
        guard state == .reading, isIdle else { return }
        if serverDraining || peerClosedInput {
            startDraining(&actions, finalResponseWritten: true)
            if unsentBytes == 0 { startLingering(&actions) }
        } else if deadline == .none {
            setDeadline(.keepAlive, &actions)
        }
    }

    private mutating func startDraining(_ actions: inout Actions, finalResponseWritten: Bool = false) {
        state = .draining(finalResponseWritten: finalResponseWritten)
        hasUnparsedInput = false
        actions.discardInput = true
        actions.reading = .stop
    }

    private mutating func startLingering(_ actions: inout Actions) {
        state = .lingering
        actions.shutdownWrite = true
        if peerClosedInput {
            close(reset: false, &actions)
        } else {
            actions.reading = .start
            setDeadline(.linger, &actions)
        }
    }

    private mutating func close(reset: Bool, _ actions: inout Actions) {
        guard state != .closed else { return }
        state = .closed
        hasUnparsedInput = false
        clearDeadline(&actions)
        actions.discardInput = true
        actions.close = reset ? .reset : .graceful
    }

    private mutating func setDeadline(_ reason: DeadlineReason, _ actions: inout Actions) {
        deadline = reason
        actions.deadline = .set(reason)
    }

    private mutating func clearDeadline(_ actions: inout Actions) {
        guard deadline != .none else { return }
        deadline = .none
        actions.deadline = .clear
    }
}
