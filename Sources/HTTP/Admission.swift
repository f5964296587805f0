internal import EventLoop

/// Layer 2 of backpressure: global capacity. At most `capacity` requests are being
/// handled at once; past that a parsed request waits in `waiting` (a FIFO) and its
/// connection stops reading. A request that waited `timeoutMs` is answered 503 with
/// `Retry-After` without reaching the handler. Waiting requests are bounded by the
/// connection cap (one each), so memory stays bounded.
///
/// Admitting never nests: `release()` only gives the unit back and, when requests
/// wait, schedules `admitWaiting()` on a later loop turn. That loop admits while
/// capacity lasts; a handler that answers at once releases inside it, which only
/// decrements, and the same loop admits the next. The stack stays flat however
/// long the queue and however the handlers answer.
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
    private var waiting = FIFO<Waiting>()
    /// `admitWaiting()` is running (handlers it calls may release) or is scheduled.
    private var isAdmitting = false
    private var isScheduled = false
    package var deadlineHeapIndex = -1
    package private(set) var stats = AdmissionStats()

    init(server: HTTPServer, capacity: Int, timeoutMs: UInt64) {
        self.server = server
        self.capacity = capacity
        self.timeoutMs = timeoutMs
    }

    package var waitingCount: Int { waiting.count }

    /// Hands the request to the handler now, or queues it. Returns true when queued.
    func submit(_ request: consuming HTTPRequest, _ responder: HTTPResponder) -> Bool {
        if inProgress < capacity, waiting.isEmpty, !isAdmitting {
            admit(request, responder)
            return false
        }
        waiting.append(Waiting(request: request, responder: responder, sinceMs: server.loop.nowMs))
        stats.queued += 1
        stats.peakWaiting = max(stats.peakWaiting, waiting.count)
        if waiting.count == 1 { server.loop.deadlines.schedule(self, afterMs: timeoutMs) }
        if inProgress < capacity { scheduleAdmission() }
        return true
    }

    private func admit(_ request: consuming HTTPRequest, _ responder: HTTPResponder) {
        inProgress += 1
        stats.admitted += 1
        stats.peakInProgress = max(stats.peakInProgress, inProgress)
        responder.admission = self
        server.dispatch(request, responder)
    }

    /// A responder admitted here has its answer (or started streaming it).
    func release() {
        inProgress -= 1
        if !waiting.isEmpty { scheduleAdmission() }
    }

    private func scheduleAdmission() {
        guard !isScheduled, !isAdmitting else { return }
        isScheduled = true
        server.loop.runSoon { [weak self] in self?.admitWaiting() }
    }

    /// Admits waiting requests while capacity lasts. Handlers that answer at once
    /// release inside this loop; the loop, not the release, admits the next.
    private func admitWaiting() {
        isScheduled = false
        isAdmitting = true
        while inProgress < capacity, let next = waiting.popFirst() {
            guard let connection = next.responder.connection else { continue }
            admit(next.request, next.responder)
            connection.admissionDidResolve()
        }
        isAdmitting = false
        if waiting.isEmpty { server.loop.deadlines.cancel(self) }
    }

    package func deadlineDidExpire() {
        let now = server.loop.nowMs
        while let head = waiting.first, head.sinceMs + timeoutMs <= now {
            _ = waiting.popFirst()
            stats.rejected += 1
            guard let connection = head.responder.connection else { continue }
            var response = server.errorResponse(.overloaded, requestID: head.request.id)
            response.headers.add(name: "Retry-After", value: "1")
            head.responder.respond(response)  // writing it detaches the responder from its connection
            connection.admissionDidResolve()
        }
        if let head = waiting.first {
            server.loop.deadlines.schedule(self, atMs: head.sinceMs + timeoutMs)
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
