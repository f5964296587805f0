package import EventLoop
internal import JSON

/// Called with each complete request. Answer through the responder, now or later.
package typealias HTTPHandler = (consuming HTTPRequest, HTTPResponder) -> Void

/// The listening socket and the table of open connections. Enforces the connection
/// cap, hands requests to the handler through layer 2 (`Admission`), and drains on
/// shutdown: stop accepting, let requests in progress finish within the grace period,
/// then close what is left.
package final class HTTPServer {
    package let loop: Loop
    package let limits: HTTPLimits
    let parserSettings: ParserSettings
    let serializer = ResponseSerializer()
    let requestIDs = RequestIDGenerator()
    /// Lent to connections while they read a request.
    package let parsers: RequestParserPool
    private let handler: HTTPHandler
    private let formatError: (HTTPError, String) -> HTTPResponse
    private var listener: TCPListener?
    private var listenerDelegate: ListenerDelegate?
    private var connections: [HTTPConnection] = []
    package private(set) var isDraining = false
    private var drainTimer: Timer?
    private var drainCompletion: (() -> Void)?
    /// Connections refused because `maxConnections` was reached.
    package private(set) var refusedConnections = 0
    package private(set) var admission: Admission!
    /// Layer 1 and 4 counters, for /metrics.
    package var connectionStats = ConnectionStats()
    /// The request llhttp completed inside the running `feed` (llhttp pauses right after
    /// it and the connection takes it once `feed` returns). One slot serves every
    /// connection: feeds never overlap on the loop thread, and an idle connection
    /// carries no request-sized field.
    var parsedRequest: HTTPRequest?

    package init(
        loop: Loop, limits: HTTPLimits = HTTPLimits(),
        formatError: @escaping (HTTPError, String) -> HTTPResponse = HTTPServer.defaultErrorResponse,
        handler: @escaping HTTPHandler
    ) {
        self.loop = loop
        self.limits = limits
        parserSettings = ParserSettings(limits: limits)
        parsers = RequestParserPool(settings: parserSettings, ids: requestIDs)
        self.handler = handler
        self.formatError = formatError
        admission = Admission(
            server: self, capacity: limits.maxRequestsInProgress, timeoutMs: limits.admissionTimeoutMs)
    }

    /// Binds and listens; returns the port actually bound.
    @discardableResult
    package func listen(on address: SocketAddress, backlog: Int32 = 1024, reusePort: Bool = false)
        throws(EventLoopError) -> UInt16
    {
        let listener = try TCPListener(loop: loop, address: address, backlog: backlog, reusePort: reusePort)
        let delegate = ListenerDelegate(server: self)
        listener.delegate = delegate
        listenerDelegate = delegate
        self.listener = listener
        return listener.port
    }

    package var connectionCount: Int { connections.count }

    /// Layer 4 now: response bytes written to client connections and not yet taken by
    /// the kernel, summed, and the connections holding more than `maxUnsentBytes`. One
    /// pass over the table, for /metrics.
    package var unsentOutput: (bytes: Int, connectionsOverLimit: Int) {
        var bytes = 0
        var over = 0
        for connection in connections {
            let unsent = connection.unsentByteCount
            bytes += unsent
            if unsent > limits.maxUnsentBytes { over += 1 }
        }
        return (bytes, over)
    }

    /// A connection is accepted straight into an `HTTPConnection` (its own stream); one
    /// about to be refused into a plain stream.
    func streamForNextConnection() -> SocketStream {
        guard !isDraining, connections.count < limits.maxConnections else {
            return SocketStream(loop: loop, kind: .tcp)
        }
        return HTTPConnection(server: self)
    }

    func didAccept(_ stream: SocketStream) {
        guard let connection = stream as? HTTPConnection, !isDraining, connections.count < limits.maxConnections else {
            refusedConnections += 1
            stream.close()
            return
        }
        connectionStats.accepted += 1
        connection.tableIndex = connections.count
        connections.append(connection)
        connection.start()
    }

    /// Told of every response as it is written: the access log and metrics.
    package var responseObserver: ((ResponseSummary) -> Void)?

    func observe(_ responder: HTTPResponder, status: Int, bytesOut: Int) {
        guard let responseObserver else { return }
        responseObserver(
            ResponseSummary(
                requestID: responder.requestID, method: responder.method, route: responder.route, status: status,
                durationNanoseconds: Loop.monotonicNanoseconds &- responder.startNanoseconds,
                bytesIn: responder.requestBytes, bytesOut: bytesOut))
    }

    /// Through layer 2; true when the request has to wait for capacity.
    func handle(_ request: consuming HTTPRequest, _ responder: HTTPResponder) -> Bool {
        admission.submit(request, responder)
    }

    func takeParsedRequest() -> HTTPRequest? {
        parsedRequest.take()
    }

    func dispatch(_ request: consuming HTTPRequest, _ responder: HTTPResponder) {
        handler(request, responder)
    }

    func errorResponse(_ error: HTTPError, requestID: String) -> HTTPResponse {
        formatError(error, requestID)
    }

    func connectionDidClose(_ connection: HTTPConnection) {
        let index = connection.tableIndex
        guard index >= 0, index < connections.count, connections[index] === connection else { return }
        connections.swapAt(index, connections.count - 1)
        connections[index].tableIndex = index
        connections.removeLast()
        connection.tableIndex = -1
        if isDraining, connections.isEmpty { finishDrain() }
    }

    /// Stops accepting, closes idle connections, lets the others finish their requests,
    /// and force-closes whatever is still open after `graceMs`. `completion` runs once
    /// every connection is closed.
    package func drain(graceMs: UInt64, completion: @escaping () -> Void) {
        guard !isDraining else { return }
        isDraining = true
        drainCompletion = completion
        listener?.close()
        listener = nil
        for connection in connections { connection.drain() }
        guard !connections.isEmpty else { return finishDrain() }
        let timer = Timer(loop: loop)
        drainTimer = timer
        timer.start(afterMs: graceMs) { [weak self] in
            guard let self else { return }
            for connection in self.connections { connection.closeConnection() }
        }
    }

    private func finishDrain() {
        drainTimer?.close()
        drainTimer = nil
        let completion = drainCompletion
        drainCompletion = nil
        completion?()
    }

    /// Closes the listener and every connection at once.
    package func close() {
        listener?.close()
        listener = nil
        for connection in connections { connection.closeConnection() }
        drainTimer?.close()
        drainTimer = nil
    }

    /// `{"error":{"code":…,"message":…,"request_id":…}}`, the `Error` schema of openapi.yaml.
    package static func defaultErrorResponse(_ error: HTTPError, requestID: String) -> HTTPResponse {
        HTTPResponse(
            status: error.status, contentType: "application/json",
            body: errorBody(code: error.code, message: error.message, requestID: requestID))
    }

    /// The error body every component uses; `inDoubt` only for writes of unknown outcome.
    package static func errorBody(code: String, message: String, requestID: String, inDoubt: Bool? = nil) -> String {
        var body = #"{"error":{"code":"#
        JSONWriter.appendString(code, to: &body)
        body += #","message":"#
        JSONWriter.appendString(message, to: &body)
        body += #","request_id":"#
        JSONWriter.appendString(requestID, to: &body)
        if let inDoubt { body += #","in_doubt":\#(inDoubt)"# }
        return body + "}}"
    }
}

/// The listener's delegate, so that the listener's weak reference lands here: a weak
/// reference gives its target a side table, which makes every retain, release and
/// `unowned` load of that object take the runtime's slow path, and the server is
/// reached on every request.
private final class ListenerDelegate: TCPListenerDelegate {
    unowned(unsafe) let server: HTTPServer

    init(server: HTTPServer) { self.server = server }

    func listenerStreamForNextConnection(_ listener: TCPListener, loop: Loop) -> SocketStream {
        server.streamForNextConnection()
    }

    func listenerDidAccept(_ listener: TCPListener, stream: SocketStream) { server.didAccept(stream) }

    func listenerDidFail(_ listener: TCPListener, error: EventLoopError) {}
}

/// One answered request, for the access log and metrics.
package struct ResponseSummary: Sendable {
    package let requestID: String
    package let method: String
    package let route: String
    package let status: Int
    package let durationNanoseconds: UInt64
    package let bytesIn: Int
    package let bytesOut: Int
}

/// Layer 1 and layer 4 events, for /metrics.
package struct ConnectionStats: Sendable {
    package var accepted = 0
    package var pipelinePauses = 0
    package var slowReaderPauses = 0
    package var slowReaderResets = 0
    package var refusedRequests = 0
    package var requestTimeouts = 0
}
