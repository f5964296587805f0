package import EventLoop

/// One client socket (the connection is its own `SocketStream`): the parser, the
/// ordered queue of responders and the kept input. Its `HTTPConnectionStateMachine`
/// decides everything else (states, pauses, deadlines, keep-alive, draining,
/// lingering); this class feeds it events and carries out the `Actions` it returns,
/// and is the only part that touches the socket.
///
/// An idle keep-alive connection is this object (one 128-byte malloc chunk) and its
/// `uv_tcp_t`: the parser is lent by the server's pool from the first byte of a
/// request until every byte read is parsed with no request half-read, and pipelined
/// responders and kept input allocate only while there are some.
///
/// ```
///  socket ─read─▶ RequestParser ─request─▶ (llhttp returns) ─dispatch─▶ handler ─▶ HTTPResponder (slot k)
///  socket ◀─one write per loop turn── serialise slots 0…k in order ◀──────────────────────┘
/// ```
/// llhttp pauses after each complete request; the request is dispatched only once
/// `feed` has returned, then parsing resumes with the rest of the read unless the
/// state machine paused. Input left over while paused waits in `backlog` and is parsed
/// on a later loop turn after the pause ends, so neither a responder answering at once
/// nor layer 2 admitting a request ever runs the next request inside its own call.
package final class HTTPConnection: SocketStream, SocketStreamDelegate, RequestParserDelegate, DeadlineTarget {
    typealias Machine = HTTPConnectionStateMachine

    // Fields in this order pack behind SocketStream's: the 4-byte fields last.
    private var parser: RequestParser?
    // The server outlives its connections: it closes them all before it goes away.
    private unowned(unsafe) let server: HTTPServer
    private var backlog = ConnectionBacklog()
    /// When the machine's deadline (if any) falls: the low 32 bits of the loop's
    /// milliseconds, compared with wrapping arithmetic (every timeout is clamped under
    /// 24 days). This connection's entry in the loop's deadline heap is moved only when
    /// the deadline comes earlier; a later or cleared deadline waits for the entry to
    /// fire and is then re-armed or ignored, so a request costs no heap operation in
    /// the common case.
    private var deadlineLowMs: UInt32 = 0
    private(set) var machine = Machine()
    private var heapIndex: Int32 = -1
    private var tableSlot: Int32 = -1

    /// A connection not yet accepted: `start()` once the socket is.
    init(server: HTTPServer) {
        self.server = server
        super.init(loop: server.loop, kind: .tcp)
        delegate = self
    }

    func start() {
        setNoDelay(true)
        perform(machine.start())
    }

    private var stream: SocketStream { self }

    /// Read through the server: a per-connection copy would cost ~100 bytes per idle connection.
    private var limits: HTTPLimits { server.limits }
    /// This connection's slot in the server's table (swap-remove on close).
    var tableIndex: Int {
        get { Int(tableSlot) }
        set { tableSlot = Int32(truncatingIfNeeded: newValue) }
    }

    package var deadlineHeapIndex: Int {
        get { Int(heapIndex) }
        set { heapIndex = Int32(truncatingIfNeeded: newValue) }
    }

    // MARK: reading and parsing

    package func streamDidRead(_ stream: SocketStream, bytes: UnsafeRawBufferPointer) {
        guard machine.state == .reading else { return }  // draining or lingering: input is discarded
        parse(bytes)
    }

    /// Feeds `bytes` to llhttp and dispatches each request after `feed` returns, until
    /// the bytes are used up or the state machine stops reading.
    private func parse(_ bytes: UnsafeRawBufferPointer) {
        let parser = self.parser ?? server.parsers.take(for: self)
        self.parser = parser
        defer { if !parser.isInsideRequest, machine.isReadingOrPaused { releaseParser() } }
        var rest = bytes
        while true {
            switch parser.feed(rest) {
            case .consumedAll:
                perform(machine.didConsumeInput(unsentBytes: stream.unsentByteCount, serverDraining: server.isDraining))
                return
            case .paused(let consumed):
                parser.resume()
                rest = UnsafeRawBufferPointer(rebasing: rest[consumed...])
                guard let request = server.takeParsedRequest() else { continue }
                dispatch(request, moreInput: !rest.isEmpty)
                switch machine.state {
                case .reading where rest.isEmpty:
                    perform(
                        machine.didConsumeInput(unsentBytes: stream.unsentByteCount, serverDraining: server.isDraining))
                    return
                case .reading:
                    continue
                case .paused where !rest.isEmpty:
                    backlog.keepInput(rest)
                    machine.didKeepInput()
                    return
                default:
                    return
                }
            case .failed(let error):
                return fail(error)
            case .unknownMethod(let request):
                return answerUnknownMethod(request)
            }
        }
    }

    /// Input kept while paused, once the pause is over (a later loop turn).
    private func parseKeptInput() {
        guard machine.state == .reading, backlog.hasKeptInput else { return }
        let bytes = backlog.takeKeptInput()
        bytes.withUnsafeBytes { parse($0) }
    }

    /// Every byte read is parsed and no request is half-read: the parser goes back to the pool.
    private func releaseParser() {
        guard let parser else { return }
        self.parser = nil
        server.parsers.giveBack(parser)
    }

    /// llhttp is running on this connection (requests are never dispatched then).
    var isParsing: Bool { parser?.isExecuting ?? false }

    private func dispatch(_ request: consuming HTTPRequest, moreInput: Bool) {
        assert(!isParsing, "dispatched inside an llhttp callback")
        let keepAlive = request.keepAlive && !server.isDraining
        let actions = machine.didParseRequest(keepAlive: keepAlive, moreInput: moreInput)
        perform(actions)
        guard actions.dispatch else { return }
        let responder = HTTPResponder(
            connection: self, method: request.method, keepAlive: keepAlive, requestID: request.id,
            requestBytes: request.body.count)
        backlog.appendResponder(responder)
        let waitsForCapacity = server.handle(request, responder)
        perform(
            machine.didDispatch(
                waitsForAdmission: waitsForCapacity, unsentBytes: stream.unsentByteCount, limits: limits))
    }

    /// The request line of a method the parser does not know: the handler answers it
    /// (no route has such a method, so 405 with Allow, or 404), then the connection closes.
    private func answerUnknownMethod(_ request: HTTPRequest) {
        let actions = machine.didFailParsing(nil)
        perform(actions)
        guard actions.dispatch else { return }
        let responder = HTTPResponder(
            connection: self, method: request.method, keepAlive: false, requestID: request.id, requestBytes: 0)
        backlog.appendResponder(responder)
        _ = server.handle(request, responder)
    }

    private func fail(_ error: HTTPError) {
        perform(machine.didFailParsing(error))
    }

    /// Answers with `error` after every earlier response; the connection then closes.
    private func refuse(_ error: HTTPError) {
        server.connectionStats.refusedRequests += 1
        if error.status == 408 { server.connectionStats.requestTimeouts += 1 }
        let requestID = parser?.currentRequestID ?? ""
        let responder = HTTPResponder(
            connection: self, method: "-", keepAlive: false, requestID: requestID, requestBytes: 0)
        responder.route = "refused"
        backlog.appendResponder(responder)
        responder.respond(server.errorResponse(error, requestID: requestID))
    }

    /// Layer 2 admitted or refused this connection's waiting request.
    func admissionDidResolve() {
        perform(machine.admissionDidResolve())
    }

    package func parserDidBeginRequest() {
        perform(machine.didBeginRequest())
    }

    package func parserDidParseHead(expectsBody: Bool, expectsContinue: Bool) {
        perform(machine.didParseHead(expectsBody: expectsBody, expectsContinue: expectsContinue))
    }

    /// Only records the request: it is dispatched once llhttp has returned.
    package func parserDidParseRequest(_ request: consuming HTTPRequest) -> Bool {
        server.parsedRequest = request
        return true
    }

    // MARK: writing responses in request order

    func responderDidUpdate() {
        writeReadyResponses()
    }

    private func writeReadyResponses() {
        switch machine.state {
        case .reading, .paused, .draining: break
        case .lingering, .closed: return
        }
        writeResponses(written: 0, closes: false)
    }

    /// Whether a response `responder` completes now is written at once: it is first in
    /// line and the connection still writes.
    func writesAtOnce(_ responder: HTTPResponder) -> Bool {
        switch machine.state {
        case .reading, .paused, .draining: backlog.firstResponder === responder
        case .lingering, .closed: false
        }
    }

    /// The first responder's whole response, its body lent for the call, serialised now
    /// (`writesAtOnce` was true); then whatever is ready behind it, as `writeReadyResponses`.
    func writeAtOnce(
        _ responder: HTTPResponder, status: Int, headers: HTTPHeaders, entityTag: Int?,
        body: UnsafeBufferPointer<UInt8>
    ) {
        let close = closes(responder)
        let written = writeComplete(
            responder, status: status, headers: headers, entityTag: entityTag, body: body, close: close)
        responder.state = .written
        server.observe(responder, status: status, bytesOut: written)
        responder.connection = nil
        responder.drainWaiter = nil
        backlog.removeFirstResponder()
        writeResponses(written: 1, closes: close)
    }

    /// Writes the ready responses at the head of the line after the `written` already
    /// written (none when the last of those closes the connection), then tells the machine.
    private func writeResponses(written: Int, closes: Bool) {
        var written = written
        var closes = closes
        while !closes, let responder = backlog.firstResponder, write(responder, closes: &closes) {
            responder.connection = nil
            responder.drainWaiter = nil
            backlog.removeFirstResponder()
            written += 1
        }
        perform(
            machine.didWriteResponses(
                count: written, closesConnection: closes, unsentBytes: stream.unsentByteCount,
                serverDraining: server.isDraining, limits: limits))
    }

    /// Serialises `responder` if it is finished (or streams what it has); true when done.
    /// `closes` is set when the response carries `Connection: close`.
    private func write(_ responder: HTTPResponder, closes: inout Bool) -> Bool {
        let close = self.closes(responder)
        switch responder.state {
        case .pending, .written:
            return false
        case .complete(let response):
            let written = response.body.withUnsafeBufferPointer { body in
                writeComplete(
                    responder, status: response.status, headers: response.headers, entityTag: response.entityTag,
                    body: body, close: close)
            }
            responder.state = .written
            server.observe(responder, status: response.status, bytesOut: written)
            closes = close
            return true
        case .streaming(let status, let headers, let headWritten, let buffered, let ended):
            stream.write { out in
                if !headWritten {
                    server.serializer.appendHead(
                        status: status, headers: headers, contentLength: nil, close: close,
                        requestID: responder.requestID, to: &out)
                }
                if !responder.isHead {
                    server.serializer.appendChunk(buffered, to: &out)
                    if ended { server.serializer.appendLastChunk(to: &out) }
                }
            }
            responder.state =
                ended
                ? .written
                : .streaming(status: status, headers: headers, headWritten: true, buffered: [], ended: false)
            responder.streamedBytes += buffered.count
            if ended { server.observe(responder, status: status, bytesOut: responder.streamedBytes) }
            closes = ended && close
            return ended
        }
    }

    /// Whether `responder`'s response carries `Connection: close`.
    private func closes(_ responder: HTTPResponder) -> Bool {
        let isLast = backlog.responderCount == 1 && !(parser?.isInsideRequest ?? false)
        return !responder.keepAlive || (server.isDraining && isLast)
    }

    /// Serialises a whole response, head and body in one piece of output; returns its size.
    private func writeComplete(
        _ responder: HTTPResponder, status: Int, headers: HTTPHeaders, entityTag: Int?,
        body: UnsafeBufferPointer<UInt8>, close: Bool
    ) -> Int {
        let bodyAllowed = !responder.isHead && status != 204 && status != 304
        var written = 0
        stream.write { out in
            let before = out.count
            // The head and body in one allocation; growth stays geometric for pipelined batches.
            let needed = before + 256 + body.count
            if out.capacity < needed { out.reserveCapacity(Swift.max(needed, 2 * out.capacity)) }
            server.serializer.appendHead(
                status: status, headers: headers, entityTag: entityTag, contentLength: body.count, close: close,
                requestID: responder.requestID, to: &out)
            if bodyAllowed { out.append(contentsOf: body) }
            written = out.count - before
        }
        return written
    }

    package func streamDidFlush(_ stream: SocketStream) {
        perform(machine.didFlush(serverDraining: server.isDraining))
        backlog.forEachResponder { responder in
            guard responder.drainWaiter != nil, !responder.isOutputBackedUp else { return }
            wakeDrainWaiter(of: responder)
        }
    }

    /// Layer 4's limit, for streams that hold their output back (`HTTPResponder.isOutputBackedUp`).
    var maxUnsentBytes: Int { limits.maxUnsentBytes }

    /// A stream waiting for output to drain hears it on a later loop turn.
    private func wakeDrainWaiter(of responder: HTTPResponder) {
        guard let waiter = responder.drainWaiter else { return }
        responder.drainWaiter = nil
        server.loop.runSoon(waiter)
    }

    /// The connection is closing: every responder left learns that its client is gone
    /// (a stream waiting for its output to drain is woken to find that out).
    private func detachAllResponders() {
        for responder in backlog.removeAllResponders() {
            responder.connection = nil
            wakeDrainWaiter(of: responder)
        }
    }

    // MARK: closing

    package func streamDidEnd(_ stream: SocketStream, error: EventLoopError?) {
        perform(machine.didReadEOF(error: error != nil))
    }

    package func streamDidFailWrite(_ stream: SocketStream, error: EventLoopError) { closeConnection() }

    package func deadlineDidExpire() {
        guard machine.deadline != .none else { return }
        let now = server.loop.nowMs
        let remainingMs = Int32(bitPattern: deadlineLowMs &- UInt32(truncatingIfNeeded: now))
        if remainingMs > 0 { return server.loop.deadlines.schedule(self, atMs: now &+ UInt64(remainingMs)) }
        if machine.deadline == .slowReader { server.connectionStats.slowReaderResets += 1 }
        perform(machine.didExpireDeadline())
    }

    /// Called by the server when it starts draining.
    func drain() {
        perform(machine.drain())
    }

    func closeConnection(reset: Bool = false) {
        perform(machine.close(reset: reset))
    }

    package func streamDidClose(_ stream: SocketStream) {
        perform(machine.didClose())
        detachAllResponders()
        releaseParser()
        server.loop.deadlines.cancel(self)
        server.connectionDidClose(self)
    }

    // MARK: carrying out the state machine's actions

    private func perform(_ actions: Machine.Actions) {
        if actions.discardInput, backlog.hasKeptInput { _ = backlog.takeKeptInput() }
        switch actions.reading {
        case .unchanged: break
        case .start: stream.startReading()
        case .stop: stream.stopReading()
        }
        switch actions.deadline {
        case .unchanged:
            break
        case .set(let reason):
            let atMs = server.loop.nowMs &+ timeoutMs(reason)
            deadlineLowMs = UInt32(truncatingIfNeeded: atMs)
            let deadlines = server.loop.deadlines!
            if let entryAtMs = deadlines.scheduledAtMs(of: self), entryAtMs <= atMs { break }
            deadlines.schedule(self, atMs: atMs)
        case .clear:
            break  // the heap entry, if any, fires and finds no deadline
        }
        if actions.paused.contains(.pipelineCap) { server.connectionStats.pipelinePauses += 1 }
        if actions.paused.contains(.slowReader) { server.connectionStats.slowReaderPauses += 1 }
        if actions.writeContinue { stream.write("HTTP/1.1 100 Continue\r\n\r\n".utf8) }
        if actions.parseKeptInput { server.loop.runSoon { [self] in parseKeptInput() } }
        if actions.shutdownWrite { stream.shutdownWrite() }
        switch actions.close {
        case .none:
            break
        case .graceful, .reset:
            detachAllResponders()
            server.loop.deadlines.cancel(self)
            if actions.close == .reset { stream.reset() } else { stream.close() }
        }
        if let error = actions.refuse { refuse(error) }
    }

    /// Clamped under 2^31 ms (24 days), so that `deadlineLowMs` compares correctly.
    private func timeoutMs(_ reason: Machine.DeadlineReason) -> UInt64 {
        min(configuredTimeoutMs(reason), UInt64(Int32.max))
    }

    private func configuredTimeoutMs(_ reason: Machine.DeadlineReason) -> UInt64 {
        switch reason {
        case .none, .firstRequest, .head: limits.headerTimeoutMs
        case .body: limits.bodyTimeoutMs
        case .keepAlive: limits.keepAliveTimeoutMs
        case .slowReader: limits.slowReaderTimeoutMs
        case .linger: limits.lingerTimeoutMs
        }
    }
}

/// A connection's responders in request order, and the input it keeps while paused.
/// The first responder is held inline; responders of pipelined requests and kept
/// input share one `Overflow` object that exists only while either is non-empty, so a
/// connection that is neither pipelining nor paused spends 16 bytes here.
struct ConnectionBacklog {
    private final class Overflow {
        /// At most the pipeline cap: removing from the front is a short move.
        var responders: [HTTPResponder] = []
        var input: [UInt8] = []
    }

    private(set) var firstResponder: HTTPResponder?
    private var overflow: Overflow?

    var responderCount: Int { firstResponder == nil ? 0 : 1 + (overflow?.responders.count ?? 0) }
    var hasKeptInput: Bool { !(overflow?.input.isEmpty ?? true) }

    mutating func appendResponder(_ responder: HTTPResponder) {
        if firstResponder == nil {
            firstResponder = responder
        } else {
            makeOverflow().responders.append(responder)
        }
    }

    func forEachResponder(_ body: (HTTPResponder) -> Void) {
        guard let firstResponder else { return }
        body(firstResponder)
        overflow?.responders.forEach(body)
    }

    mutating func removeFirstResponder() {
        guard let overflow, !overflow.responders.isEmpty else {
            firstResponder = nil
            return
        }
        firstResponder = overflow.responders.removeFirst()
        releaseOverflowIfEmpty()
    }

    /// Empties the queue of responders; returns what it held, oldest first.
    mutating func removeAllResponders() -> [HTTPResponder] {
        guard let first = firstResponder else { return [] }
        let all = [first] + (overflow?.responders ?? [])
        firstResponder = nil
        overflow?.responders = []
        releaseOverflowIfEmpty()
        return all
    }

    mutating func keepInput(_ bytes: UnsafeRawBufferPointer) {
        makeOverflow().input.append(contentsOf: bytes)
    }

    mutating func takeKeptInput() -> [UInt8] {
        guard let overflow else { return [] }
        let input = overflow.input
        overflow.input = []
        releaseOverflowIfEmpty()
        return input
    }

    private mutating func makeOverflow() -> Overflow {
        if let overflow { return overflow }
        let overflow = Overflow()
        self.overflow = overflow
        return overflow
    }

    private mutating func releaseOverflowIfEmpty() {
        if let overflow, overflow.responders.isEmpty, overflow.input.isEmpty { self.overflow = nil }
    }
}
