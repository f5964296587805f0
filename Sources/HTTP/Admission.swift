package import EventLoop

/// Layer 2 of backpressure: global capacity. At most `maxRequestsInProgress` requests
/// are being handled at once; past that a parsed request waits here (FIFO) and its
/// connection stops reading. A request that waited longer than `admissionTimeoutMs`
/// is answered 503 with `Retry-After` at once, without reaching the handler. Waiting
/// requests are bounded by the connection cap (one each), so memory stays bounded.
package final class Admission: DeadlineTarget {
    private struct Waiting {
        let request: HTTPRequest
        let responder: HTTPResponder
        let sinceMs: UInt64
    }

    private unowned let server: HTTPServer
    private let capacity: Int
    private let timeoutMs: UInt64
    package private(set) var inProgress = 0
    private var waiting: [Waiting] = []
    private var waitingHead = 0
    package var deadlineHeapIndex = -1
    package private(set) var stats = AdmissionStats()

    init(server: HTTPServer, capacity: Int, timeoutMs: UInt64) {
        self.server = server
        self.capacity = capacity
        self.timeoutMs = timeoutMs
    }

    package var waitingCount: Int { waiting.count - waitingHead }

    /// Hands the request to the handler now, or queues it. Returns true when queued.
    func submit(_ request: HTTPRequest, _ responder: HTTPResponder) -> Bool {
        if inProgress < capacity, waitingCount == 0 {
            admit(request, responder)
            return false
        }
        waiting.append(Waiting(request: request, responder: responder, sinceMs: server.loop.nowMs))
        stats.queued += 1
        stats.peakWaiting = max(stats.peakWaiting, waitingCount)
        if waitingCount == 1 { server.loop.deadlines.schedule(self, afterMs: timeoutMs) }
        return true
    }

    private func admit(_ request: HTTPRequest, _ responder: HTTPResponder) {
        inProgress += 1
        stats.admitted += 1
        stats.peakInProgress = max(stats.peakInProgress, inProgress)
        responder.admission = self
        server.dispatch(request, responder)
    }

    /// A responder admitted here has its answer (or started streaming it).
    func release() {
        inProgress -= 1
        admitWaiting()
    }

    private func admitWaiting() {
        while inProgress < capacity, waitingHead < waiting.count {
            let next = waiting[waitingHead]
            waitingHead += 1
            guard let connection = next.responder.connection else { continue }
            admit(next.request, next.responder)
            connection.admissionDidResolve()
        }
        compact()
    }

    package func deadlineDidExpire() {
        let now = server.loop.nowMs
        while waitingHead < waiting.count, waiting[waitingHead].sinceMs + timeoutMs <= now {
            let expired = waiting[waitingHead]
            waitingHead += 1
            stats.rejected += 1
            guard let connection = expired.responder.connection else { continue }
            var response = server.errorResponse(.overloaded, requestID: expired.request.id)
            response.headers.add(name: "Retry-After", value: "1")
            expired.responder.respond(response)  // writing it detaches the responder from its connection
            connection.admissionDidResolve()
        }
        compact()
        if waitingHead < waiting.count {
            server.loop.deadlines.schedule(self, atMs: waiting[waitingHead].sinceMs + timeoutMs)
        }
    }

    private func compact() {
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: waiting.count <= 64)
            waitingHead = 0
            server.loop.deadlines.cancel(self)
        } else if waitingHead > 1024 {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }
}

/// Layer 2 counters for /metrics.
package struct AdmissionStats: Sendable {
    package var admitted = 0
    package var queued = 0
    package var rejected = 0
    package var peakInProgress = 0
    package var peakWaiting = 0
}
