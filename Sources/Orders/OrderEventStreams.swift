internal import EventLoop
internal import Gateway
internal import HTTP
internal import JSON
internal import RESP

/// `GET /v1/orders/{id}/events`: Server-Sent Events, one per transition, read from the
/// order's event stream in the store (so only what was persisted is ever announced),
/// until the order is delivered or rejected. At most `maxEventStreams` are open.
///
/// ```
///  Kitchen.onTransition(id) ─▶ stream.fetch ─XRANGE (last id…─▶ "id: …\ndata: {…}\n\n" chunks
///  every second: a heartbeat comment, fetch too (orders another process runs), close if the client left
/// ```
final class OrderEventStreams {
    private let kitchen: Kitchen
    private let isDraining: () -> Bool
    private var byOrder: [String: [OrderEventStream]] = [:]
    private(set) var openCount = 0
    static let pollMs: UInt64 = 1000

    init(kitchen: Kitchen, isDraining: @escaping () -> Bool) {
        self.kitchen = kitchen
        self.isDraining = isDraining
        kitchen.onTransition = { [weak self] id, _ in
            for stream in self?.byOrder[id] ?? [] { stream.fetch() }
        }
    }

    var draining: Bool { isDraining() }
    var orders: OrderStore { kitchen.orders }

    /// Nil when the read is on its way (its completion answers), else the store's refusal.
    func open(_ context: RouteContext, id: String) throws(GatewayError) -> GatewayError? {
        guard openCount < kitchen.settings.maxEventStreams else {
            throw GatewayError(
                status: 503, code: "too_many_streams", message: "\(openCount) event streams are open",
                retryAfterSeconds: 1)
        }
        let lastEventID = context.request.headers["Last-Event-ID"]
        if let lastEventID, !Self.isStreamID(lastEventID) {
            throw GatewayError(
                status: 400, code: "invalid_last_event_id",
                message: "Last-Event-ID is an event id such as 1733100000000-0 (or its milliseconds)")
        }
        let keys = [OrderKeys.order(id), OrderKeys.events(id)]
        let refusal = orders.evalOnce(OrderScripts.read, keys: keys, [], isWrite: false) { [self] result in
            switch result {
            case .failure(let error): context.fail(error)
            case .success(let reply):
                guard let parts = reply.array, parts.count == 2 else {
                    return context.fail(GatewayError(status: 404, code: "order_not_found", message: "no order \(id)"))
                }
                var headers = HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
                guard !context.responder.isHead else {
                    return context.responder.respond(HTTPResponse(status: 200, headers: headers))
                }
                headers.add(name: "X-Accel-Buffering", value: "no")
                context.responder.beginStreaming(status: 200, headers: headers)
                context.responder.writeChunk(Array("retry: 1000\n\n".utf8))
                let stream = OrderEventStream(id: id, responder: context.responder, hub: self, after: lastEventID)
                openCount += 1
                byOrder[id, default: []].append(stream)
                stream.deliver(StoredOrder.events(fromXRange: parts[1]))
                if !stream.isEnded { kitchen.loop.deadlines.schedule(stream, afterMs: Self.pollMs) }
            }
        }
        return refusal
    }

    func didEnd(_ stream: OrderEventStream) {
        openCount -= 1
        kitchen.loop.deadlines.cancel(stream)
        byOrder[stream.id]?.removeAll { $0 === stream }
        if byOrder[stream.id]?.isEmpty == true { byOrder[stream.id] = nil }
    }

    /// `1733100000000-0` (what XADD generates), or just the milliseconds (sequence 0), as Redis takes them.
    static func isStreamID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count)
            && parts.allSatisfy { !$0.isEmpty && $0.count <= 19 && $0.utf8.allSatisfy { (48...57).contains($0) } }
            && parts.allSatisfy { UInt64($0) != nil }
    }
}

/// One client's SSE stream: the last event id it has been sent, and whether a read of
/// newer events is on its way (a notification meanwhile just marks it to read again).
final class OrderEventStream: DeadlineTarget {
    let id: String
    private let responder: HTTPResponder
    private unowned let hub: OrderEventStreams
    private var lastID: String?
    private var fetching = false
    private var again = false
    private(set) var isEnded = false
    var deadlineHeapIndex = -1

    init(id: String, responder: HTTPResponder, hub: OrderEventStreams, after lastID: String?) {
        self.id = id
        self.responder = responder
        self.hub = hub
        self.lastID = lastID
    }

    func fetch() {
        guard !isEnded else { return }
        guard !fetching else {
            again = true
            return
        }
        fetching = true
        let start = lastID.map { "(" + $0 } ?? "-"
        hub.orders.run(["XRANGE", OrderKeys.events(id), start, "+"]) { [self] reply in
            fetching = false
            deliver(StoredOrder.events(fromXRange: reply))
            if again, !isEnded {
                again = false
                fetch()
            }
        }
    }

    func deliver(_ events: [StoredOrder.Event]) {
        guard !isEnded else { return }
        var bytes: [UInt8] = []
        var finished = false
        for event in events {
            if let lastID, !Self.isAfter(event.streamID, lastID) { continue }
            bytes.append(contentsOf: "id: \(event.streamID)\ndata: ".utf8)
            JSONWriter.append(event.json, to: &bytes)
            bytes.append(contentsOf: "\n\n".utf8)
            lastID = event.streamID
            if OrderStatus(rawValue: event.status)?.isFinished == true { finished = true }
        }
        responder.writeChunk(bytes)
        if finished { end() }
    }

    private func end() {
        guard !isEnded else { return }
        isEnded = true
        responder.end()
        hub.didEnd(self)
    }

    /// The poll: read anything new, and stop when the client left or the server drains.
    /// The comment line is a heartbeat: writing is how a vanished client is noticed.
    func deadlineDidExpire() {
        guard responder.isConnected, !hub.draining else { return end() }
        responder.writeChunk(Self.heartbeat)
        fetch()
        hub.kitchenLoopSchedule(self)
    }

    static let heartbeat = Array(":\n\n".utf8)

    static func isAfter(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: "-").compactMap { UInt64($0) } + [0]
        let y = b.split(separator: "-").compactMap { UInt64($0) } + [0]
        return (x[0], x[1]) > (y[0], y[1])
    }
}

extension OrderEventStreams {
    func kitchenLoopSchedule(_ stream: OrderEventStream) {
        kitchen.loop.deadlines.schedule(stream, afterMs: Self.pollMs)
    }
}
