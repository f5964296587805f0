package import EventLoop

/// One client socket: parser, the ordered queue of responders, keep-alive and every
/// per-connection limit.
///
/// ```
///  socket ─read─▶ RequestParser ─request─▶ handler ─▶ HTTPResponder (slot k)
///  socket ◀─one write per loop turn── serialise slots 0…k in order ◀─┘
/// ```
/// States: `reading` (parsing; idle when no request is open), `paused` (layer 1: the
/// pipeline cap is reached, or layer 4: the client does not read its responses; the
/// socket is not read and unparsed bytes wait here), `closing` (a final response is
/// queued; nothing after it is parsed), `lingering` (final response sent, FIN sent,
/// input drained until EOF or the linger timeout), `closed`.
/// One deadline at a time covers the state: header, body, keep-alive, slow reader, linger.
package final class HTTPConnection: SocketStreamDelegate, RequestParserDelegate, DeadlineTarget {
    enum State { case reading, closing, lingering, closed }
    enum DeadlineReason { case none, firstRequest, head, body, keepAlive, slowReader, linger }

    let stream: SocketStream
    private let parser: RequestParser
    private unowned let server: HTTPServer
    private(set) var state = State.reading
    private var responders: [HTTPResponder] = []
    private var respondersHead = 0
    private var unparsed: [UInt8] = []
    private var pausedForPipeline = false
    private var pausedForSlowReader = false
    private var pausedForAdmission = false
    /// llhttp itself is paused (it returned HPE_PAUSED) and needs llhttp_resume.
    private var parserPaused = false
    private var continuePending = false
    private var closeAfterFlush = false
    private var peerClosedInput = false
    private var deadlineReason = DeadlineReason.none
    package var deadlineHeapIndex = -1

    init(stream: SocketStream, server: HTTPServer) {
        self.stream = stream
        self.server = server
        parser = RequestParser(settings: server.parserSettings, ids: server.requestIDs)
        parser.delegate = self
        stream.delegate = self
        stream.setNoDelay(true)
        stream.startReading()
        setDeadline(.firstRequest, afterMs: limits.headerTimeoutMs)
    }

    /// Read through the server: a per-connection copy would cost ~100 bytes per idle connection.
    private var limits: HTTPLimits { server.limits }
    /// This connection's slot in the server's table (swap-remove on close).
    var tableIndex = -1

    var unsentByteCount: Int { stream.unsentByteCount }
    private var openResponderCount: Int { responders.count - respondersHead }
    private var isIdle: Bool { openResponderCount == 0 && !parser.isInsideRequest && unparsed.isEmpty }

    // MARK: reading and parsing

    package func streamDidRead(_ stream: SocketStream, bytes: UnsafeRawBufferPointer) {
        guard state == .reading else { return }  // closing or lingering: input is discarded
        parse(bytes)
    }

    private func parse(_ bytes: UnsafeRawBufferPointer) {
        switch parser.feed(bytes) {
        case .consumedAll:
            break
        case .paused(let consumed):
            parserPaused = true
            if state == .reading { unparsed.append(contentsOf: bytes[consumed...]) }
            stream.stopReading()
        case .failed(let error):
            refuse(error)
        case .unknownMethod(let request):
            answerUnknownMethod(request)
        }
    }

    /// The request line of a method the parser does not know: the handler answers it
    /// (no route has such a method, so 405 with Allow, or 404), then the connection closes.
    private func answerUnknownMethod(_ request: HTTPRequest) {
        guard state == .reading else { return }
        state = .closing
        unparsed = []
        stream.stopReading()
        clearDeadline()
        let responder = HTTPResponder(
            connection: self, method: request.method, keepAlive: false, requestID: request.id, requestBytes: 0)
        responders.append(responder)
        _ = server.handle(request, responder)
    }

    /// Layer 2 admitted or refused this connection's waiting request.
    func admissionDidResolve() {
        guard pausedForAdmission else { return }
        pausedForAdmission = false
        resumeParsing()
    }

    private func resumeParsing() {
        guard state == .reading, !pausedForPipeline, !pausedForSlowReader, !pausedForAdmission else { return }
        if parserPaused {
            parserPaused = false
            parser.resume()
        }
        if !unparsed.isEmpty {
            let bytes = unparsed
            unparsed = []
            let outcome = bytes.withUnsafeBytes { parser.feed($0) }
            if case .paused(let consumed) = outcome {
                parserPaused = true
                if state == .reading { unparsed = Array(bytes[consumed...]) }
                return
            }
            if case .failed(let error) = outcome { return refuse(error) }
            if case .unknownMethod(let request) = outcome { return answerUnknownMethod(request) }
        }
        if state == .reading, !peerClosedInput { stream.startReading() }
    }

    package func parserDidBeginRequest() {
        setDeadline(.head, afterMs: limits.headerTimeoutMs)
    }

    package func parserDidParseHead(_ request: HTTPRequest, expectsBody: Bool, expectsContinue: Bool) {
        if expectsBody {
            setDeadline(.body, afterMs: limits.bodyTimeoutMs)
        } else {
            clearDeadline()
        }
        if expectsContinue {
            continuePending = true
            writeReadyResponses()
        }
    }

    package func parserDidParseRequest(_ request: HTTPRequest) -> Bool {
        clearDeadline()
        continuePending = false
        let keepAlive = request.keepAlive && !server.isDraining
        let responder = HTTPResponder(
            connection: self, method: request.method, keepAlive: keepAlive, requestID: request.id,
            requestBytes: request.body.count)
        responders.append(responder)
        if !keepAlive {
            // Nothing after a request that ends the connection is ever executed.
            state = .closing
            unparsed = []
            stream.stopReading()
        }
        let waitsForCapacity = server.handle(request, responder)
        guard state == .reading else { return true }
        if waitsForCapacity {
            pausedForAdmission = true
            return true
        }
        if stream.unsentByteCount > limits.maxUnsentBytes {
            pauseForSlowReader()
            return true
        }
        pausedForPipeline = openResponderCount >= limits.maxPipelinedRequests
        if pausedForPipeline { server.connectionStats.pipelinePauses += 1 }
        return pausedForPipeline
    }

    /// Layer 4: the client is not reading its responses; stop reading its requests.
    private func pauseForSlowReader() {
        guard !pausedForSlowReader else { return }
        server.connectionStats.slowReaderPauses += 1
        pausedForSlowReader = true
        stream.stopReading()
        setDeadline(.slowReader, afterMs: limits.slowReaderTimeoutMs)
    }

    /// Answers with `error` after every earlier response, then closes.
    private func refuse(_ error: HTTPError) {
        guard state == .reading else { return }
        server.connectionStats.refusedRequests += 1
        if error.status == 408 { server.connectionStats.requestTimeouts += 1 }
        state = .closing
        unparsed = []
        stream.stopReading()
        clearDeadline()
        let responder = HTTPResponder(
            connection: self, method: "-", keepAlive: false, requestID: parser.currentRequestID, requestBytes: 0)
        responder.route = "refused"
        responders.append(responder)
        responder.respond(server.errorResponse(error, requestID: parser.currentRequestID))
    }

    // MARK: writing responses in request order

    func responderDidUpdate() {
        writeReadyResponses()
    }

    private func writeReadyResponses() {
        guard state == .reading || state == .closing else { return }
        var wroteAny = false
        while respondersHead < responders.count {
            let responder = responders[respondersHead]
            guard write(responder) else { break }
            wroteAny = true
            responder.connection = nil
            respondersHead += 1
            if closeAfterFlush { break }
        }
        if respondersHead == responders.count {
            responders.removeAll(keepingCapacity: responders.count <= 4)
            respondersHead = 0
            if continuePending {
                continuePending = false
                stream.write("HTTP/1.1 100 Continue\r\n\r\n".utf8)
            }
        }
        guard wroteAny else { return }
        if closeAfterFlush {
            state = .closing
            unparsed = []
            stream.stopReading()
            return
        }
        if stream.unsentByteCount > limits.maxUnsentBytes {
            pauseForSlowReader()
            return
        }
        if pausedForPipeline, openResponderCount < limits.maxPipelinedRequests {
            pausedForPipeline = false
            resumeParsing()
        }
        afterResponsesWritten()
    }

    private func afterResponsesWritten() {
        guard state == .reading, isIdle else { return }
        if server.isDraining || peerClosedInput {
            closeAfterFlush = true
            stream.stopReading()
            state = .closing
            if stream.unsentByteCount == 0 { streamDidFlush(stream) }
        } else if deadlineReason == .none {
            setDeadline(.keepAlive, afterMs: limits.keepAliveTimeoutMs)
        }
    }

    /// Serialises `responder` if it is finished (or streams what it has); true when done.
    private func write(_ responder: HTTPResponder) -> Bool {
        let isLast = respondersHead == responders.count - 1 && !parser.isInsideRequest
        let close = !responder.keepAlive || (server.isDraining && isLast)
        switch responder.state {
        case .pending, .written:
            return false
        case .complete(let response):
            let bodyAllowed = !responder.isHead && response.status != 204 && response.status != 304
            var written = 0
            stream.write { out in
                let before = out.count
                server.serializer.appendHead(
                    status: response.status, headers: response.headers,
                    contentLength: response.body.count, close: close,
                    requestID: responder.requestID, to: &out)
                if bodyAllowed { out.append(contentsOf: response.body) }
                written = out.count - before
            }
            responder.state = .written
            server.observe(responder, status: response.status, bytesOut: written)
            if close { closeAfterFlush = true }
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
            responder.state = ended ? .written : .streaming(status: status, headers: headers, headWritten: true, buffered: [], ended: false)
            responder.streamedBytes += buffered.count
            if ended { server.observe(responder, status: status, bytesOut: responder.streamedBytes) }
            if ended, close { closeAfterFlush = true }
            return ended
        }
    }

    package func streamDidFlush(_ stream: SocketStream) {
        if closeAfterFlush, state == .closing {
            startLingering()
            return
        }
        if pausedForSlowReader {
            pausedForSlowReader = false
            clearDeadline()
            resumeParsing()
            afterResponsesWritten()
        }
    }

    // MARK: closing

    private func startLingering() {
        state = .lingering
        stream.shutdownWrite()
        if peerClosedInput { return close() }
        stream.startReading()
        setDeadline(.linger, afterMs: limits.lingerTimeoutMs)
    }

    package func streamDidEnd(_ stream: SocketStream, error: EventLoopError?) {
        peerClosedInput = true
        switch state {
        case .lingering, .closed:
            close()
        case .closing:
            break
        case .reading:
            if error != nil || parser.isInsideRequest || isIdle { close() } else { afterResponsesWritten() }
        }
    }

    package func streamDidFailWrite(_ stream: SocketStream, error: EventLoopError) { close() }

    package func deadlineDidExpire() {
        let reason = deadlineReason
        deadlineReason = .none
        switch reason {
        case .head, .body:
            refuse(.requestTimeout)
        case .slowReader:
            server.connectionStats.slowReaderResets += 1
            close(reset: true)
        case .none, .firstRequest, .keepAlive, .linger:
            close()
        }
    }

    /// Called by the server when it starts draining.
    func drain() {
        guard state == .reading else { return }
        if isIdle { return close() }
        guard !parser.isInsideRequest else { return }  // its responder will close
        state = .closing
        unparsed = []
        stream.stopReading()
    }

    func close(reset: Bool = false) {
        guard state != .closed else { return }
        state = .closed
        clearDeadline()
        for responder in responders[respondersHead...] { responder.connection = nil }
        responders = []
        unparsed = []
        if reset { stream.reset() } else { stream.close() }
    }

    package func streamDidClose(_ stream: SocketStream) {
        state = .closed
        clearDeadline()
        server.connectionDidClose(self)
    }

    private func setDeadline(_ reason: DeadlineReason, afterMs: UInt64) {
        deadlineReason = reason
        server.loop.deadlines.schedule(self, afterMs: afterMs)
    }

    private func clearDeadline() {
        guard deadlineReason != .none else { return }
        deadlineReason = .none
        server.loop.deadlines.cancel(self)
    }
}
