internal import EventLoop

/// Handed to the request handler with each request; answers it now or on a later
/// loop turn, with a whole response or a chunked stream. Responses leave in request
/// order whatever order responders finish in. Once the connection is gone every call
/// is a no-op, so a late store reply can always answer safely. Answering never runs
/// another request inside the call: the capacity it gives back is handed on by
/// `Admission`'s own loop, and input the connection kept is parsed on a later turn.
package final class HTTPResponder {
    enum State {
        case pending
        case complete(HTTPResponse)
        case streaming(status: Int, headers: HTTPHeaders, headWritten: Bool, buffered: [UInt8], ended: Bool)
        case written
    }

    /// Strong: the connection clears it when the response is written or the connection
    /// closes, which breaks the cycle (a weak reference would give every connection a
    /// side table and slow each of its retains and releases).
    var connection: HTTPConnection?
    /// Set while this request holds one unit of global capacity (layer 2).
    var admission: Admission?
    package let isHead: Bool
    package let requestID: String
    let keepAlive: Bool
    var state = State.pending

    /// For the access log and metrics: when the request was complete, its method and
    /// size, and the route template the handler matched (set by the router).
    let startNanoseconds: UInt64
    let method: String
    let requestBytes: Int
    package var route = "unmatched"
    var streamedBytes = 0
    /// Added to whatever this responder answers, after the response's own headers
    /// (the gateway's CORS headers).
    package var extraHeaders: [(String, String)] = []
    /// A streaming producer waiting for the connection's output to drain (`whenOutputDrains`).
    var drainWaiter: (() -> Void)?

    init(connection: HTTPConnection, method: String, keepAlive: Bool, requestID: String, requestBytes: Int) {
        self.connection = connection
        self.isHead = method == "HEAD"
        self.method = method
        self.keepAlive = keepAlive
        self.requestID = requestID
        self.requestBytes = requestBytes
        startNanoseconds = Loop.monotonicNanoseconds
    }

    /// True while llhttp runs on this responder's connection; handlers never see it.
    package var isInsideParser: Bool { connection?.isParsing ?? false }

    /// False once the client is gone; long-running work can stop early.
    package var isConnected: Bool { connection != nil }

    package func respond(_ response: HTTPResponse) {
        guard case .pending = state else { return }
        var response = response
        for (name, value) in extraHeaders { response.headers.add(name: name, value: value) }
        state = .complete(response)
        releaseCapacity()
        connection?.responderDidUpdate()
    }

    /// `respond` with a body lent for the call: written straight into the connection's
    /// output with its head when this response is first in line (no body array and no
    /// stored response), else copied and answered as `respond` does.
    package func respond(status: Int, headers: HTTPHeaders, entityTag: Int?, lentBody body: UnsafeBufferPointer<UInt8>)
    {
        guard case .pending = state else { return }
        if extraHeaders.isEmpty, let connection, connection.writesAtOnce(self) {
            releaseCapacity()
            connection.writeAtOnce(self, status: status, headers: headers, entityTag: entityTag, body: body)
            return
        }
        respond(HTTPResponse(status: status, headers: headers, body: Array(body), entityTag: entityTag))
    }

    private func releaseCapacity() {
        guard let admission else { return }
        self.admission = nil
        admission.release()
    }

    /// Starts a chunked response; follow with `writeChunk` calls and one `end()`.
    package func beginStreaming(status: Int, headers: HTTPHeaders) {
        guard case .pending = state else { return }
        var headers = headers
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        state = .streaming(status: status, headers: headers, headWritten: false, buffered: [], ended: false)
        releaseCapacity()  // a stream's pace is bounded by layer 4, not by global capacity
        connection?.responderDidUpdate()
    }

    /// Once the connection is gone the bytes are dropped: nobody will read them.
    package func writeChunk(_ bytes: some Collection<UInt8>) {
        guard connection != nil else { return }
        guard case .streaming(let status, let headers, let headWritten, var buffered, false) = state else { return }
        guard !bytes.isEmpty else { return }
        state = .pending
        buffered.append(contentsOf: bytes)
        state = .streaming(status: status, headers: headers, headWritten: headWritten, buffered: buffered, ended: false)
        connection?.responderDidUpdate()
    }

    package func end() {
        guard case .streaming(let status, let headers, let headWritten, let buffered, false) = state else { return }
        state = .streaming(status: status, headers: headers, headWritten: headWritten, buffered: buffered, ended: true)
        connection?.responderDidUpdate()
    }

    /// Unsent response bytes on this responder's connection (for streaming producers).
    package var connectionBacklogBytes: Int { connection?.unsentByteCount ?? 0 }

    /// Chunks written to this stream and not yet handed to the connection (it waits
    /// behind an earlier response).
    var bufferedByteCount: Int {
        guard case .streaming(_, _, _, let buffered, _) = state else { return 0 }
        return buffered.count
    }

    /// Layer 4 for a stream: true while its connection holds more unsent output than
    /// `--max-unsent-bytes` (in the socket's buffer or in this stream's chunks). A
    /// producer then makes nothing more until `whenOutputDrains` calls it back.
    package var isOutputBackedUp: Bool {
        guard let connection else { return false }
        return connection.unsentByteCount + bufferedByteCount > connection.maxUnsentBytes
    }

    /// Calls `body` once, on a later loop turn, when this stream's output is no longer
    /// backed up or its connection is gone; one waiter at a time (a second replaces
    /// the first). Returns false, and never calls `body`, when the connection is
    /// already gone.
    @discardableResult
    package func whenOutputDrains(_ body: @escaping () -> Void) -> Bool {
        guard connection != nil else { return false }
        drainWaiter = body
        return true
    }
}
