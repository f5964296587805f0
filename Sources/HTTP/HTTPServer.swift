package import EventLoop

/// Called with each complete request. Answer through the responder, now or later.
package typealias HTTPHandler = (HTTPRequest, HTTPResponder) -> Void

/// The listening socket and the table of open connections. Enforces the connection
/// cap, hands requests to the handler, and drains on shutdown: stop accepting, let
/// requests in progress finish within the grace period, then close what is left.
package final class HTTPServer: TCPListenerDelegate {
    package let loop: Loop
    package let limits: HTTPLimits
    let parserSettings = ParserSettings()
    let serializer = ResponseSerializer()
    let requestIDs = RequestIDGenerator()
    private let handler: HTTPHandler
    private let formatError: (HTTPError, String) -> HTTPResponse
    private var listener: TCPListener?
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]
    package private(set) var isDraining = false
    private var drainTimer: Timer?
    private var drainCompletion: (() -> Void)?
    /// Connections refused because `maxConnections` was reached.
    package private(set) var refusedConnections = 0

    package init(
        loop: Loop, limits: HTTPLimits = HTTPLimits(),
        formatError: @escaping (HTTPError, String) -> HTTPResponse = HTTPServer.defaultErrorResponse,
        handler: @escaping HTTPHandler
    ) {
        self.loop = loop
        self.limits = limits
        self.handler = handler
        self.formatError = formatError
    }

    /// Binds and listens; returns the port actually bound.
    @discardableResult
    package func listen(on address: SocketAddress, backlog: Int32 = 1024, reusePort: Bool = false)
        throws(EventLoopError) -> UInt16
    {
        let listener = try TCPListener(loop: loop, address: address, backlog: backlog, reusePort: reusePort)
        listener.delegate = self
        self.listener = listener
        return listener.port
    }

    package var connectionCount: Int { connections.count }

    package func listenerDidAccept(_ listener: TCPListener, stream: SocketStream) {
        guard !isDraining, connections.count < limits.maxConnections else {
            refusedConnections += 1
            stream.close()
            return
        }
        let connection = HTTPConnection(stream: stream, server: self)
        connections[ObjectIdentifier(connection)] = connection
    }

    package func listenerDidFail(_ listener: TCPListener, error: EventLoopError) {}

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        handler(request, responder)
    }

    func errorResponse(_ error: HTTPError, requestID: String) -> HTTPResponse {
        formatError(error, requestID)
    }

    func connectionDidClose(_ connection: HTTPConnection) {
        connections[ObjectIdentifier(connection)] = nil
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
        for connection in Array(connections.values) { connection.drain() }
        guard !connections.isEmpty else { return finishDrain() }
        let timer = Timer(loop: loop)
        drainTimer = timer
        timer.start(afterMs: graceMs) { [weak self] in
            guard let self else { return }
            for connection in Array(self.connections.values) { connection.close() }
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
        for connection in Array(connections.values) { connection.close() }
        drainTimer?.close()
        drainTimer = nil
    }

    /// `{"error":{"code":…,"message":…,"request_id":…}}`, the shape of api.md.
    package static func defaultErrorResponse(_ error: HTTPError, requestID: String) -> HTTPResponse {
        var body = #"{"error":{"code":"#
        appendJSONString(error.code, to: &body)
        body += #","message":"#
        appendJSONString(error.message, to: &body)
        body += #","request_id":"#
        appendJSONString(requestID, to: &body)
        body += "}}"
        return HTTPResponse(status: error.status, contentType: "application/json", body: body)
    }
}

/// Appends `value` as a JSON string literal.
package func appendJSONString(_ value: String, to out: inout String) {
    out.append("\"")
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": out.append("\\\"")
        case "\\": out.append("\\\\")
        case "\n": out.append("\\n")
        case "\r": out.append("\\r")
        case "\t": out.append("\\t")
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
        default: out.unicodeScalars.append(scalar)
        }
    }
    out.append("\"")
}
