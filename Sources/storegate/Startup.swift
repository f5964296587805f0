internal import EventLoop
internal import HTTP
internal import Gateway
internal import Store
internal import RESP
internal import Orders
#if canImport(Glibc)
internal import Glibc
#endif

/// Builds the loop, the gateway and the server, runs until a signal has drained
/// everything, and returns the exit code.
enum Startup {
    static func run(_ configuration: Configuration) throws -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let loop = try Loop()
        let store = try Store(loop: loop, url: configuration.store, limits: configuration.storeLimits)
        let gateway = Gateway(
            loop: loop, store: store, openAPIDocument: loadOpenAPI(configuration.openAPIPath),
            workerID: configuration.workerID, security: configuration.security,
            maxBatchItems: configuration.maxBatchItems)
        let server = HTTPServer(loop: loop, limits: configuration.limits, formatError: { error, id in
            ErrorResponse.make(error, requestID: id)
        }) { request, responder in
            gateway.handle(request, responder)
        }
        gateway.server = server
        let pizzeria = configuration.kitchen.enabled ? Pizzeria(gateway: gateway, settings: configuration.kitchen) : nil
        Log.level = configuration.logLevel
        Log.format = configuration.logFormat
        let metrics = gateway.metrics
        let accessLog = configuration.accessLog ? AccessLog(loop: loop, format: configuration.logFormat) : nil
        server.responseObserver = { summary in
            metrics.record(summary)
            accessLog?.record(summary)
        }
        let port = try server.listen(on: configuration.listen, reusePort: configuration.reusePort)
        let shutdown = Shutdown(
            loop: loop, server: server, store: store, graceMs: configuration.shutdownGraceMs,
            onFinish: { accessLog?.close() })
        try shutdown.install()
        if configuration.workerID != nil { shutdown.drainWhenOrphaned() }
        Log.info("listening", [
            ("address", listenDescription(configuration.listen, port: port)),
            ("worker", configuration.workerID.map(String.init) ?? "-"),
            ("store", configuration.store.description),
        ])
        SecurityAnnouncement.log(configuration.security)
        probeStore(store, shutdown: shutdown)
        if let kitchen = pizzeria?.kitchen {
            pizzeria?.start { Log.info("kitchen_ready", [("resumed", String(kitchen.resumedCount))]) }
        }
        loop.run()
        let leaked = loop.close()
        if leaked > 0 { Log.error("\(leaked) libuv handles were still open at exit") }
        Log.info("stopped")
        return shutdown.exitCode
    }

    /// One PING at start: a wrong password is a configuration error (exit 78); an
    /// unreachable store is logged and retried, and /readyz says 503 meanwhile.
    private static func probeStore(_ store: Store, shutdown: Shutdown) {
        let refusal = store.execute(["PING"], idempotent: true) { result in
            switch result {
            case .success(.error(let message)):
                Log.error("store answered PING with an error: \(message)")
            case .success:
                Log.info("store_ready", [("store", store.url.description)])
            case .failure(let error) where error.kind == .authenticationFailed:
                Log.error("store authentication failed (check the user and password in --store): \(error.message)")
                shutdown.begin(exitCode: 78)
            case .failure(let error):
                Log.info("store_unreachable", [("store", store.url.description), ("reason", error.message)])
            }
        }
        if let refusal { Log.info("store_unreachable", [("reason", refusal.message)]) }
    }

    /// The contract served at /openapi.yaml: --openapi-path, else next to the binary
    /// (and two levels up, for .build/<config>/storegate), else the working directory.
    private static func loadOpenAPI(_ explicitPath: String?) -> [UInt8]? {
        var candidates: [String] = []
        if let explicitPath { candidates.append(explicitPath) }
        let executable = CommandLine.arguments[0]
        if let slash = executable.lastIndex(of: "/") {
            let directory = String(executable[..<slash])
            candidates += ["\(directory)/openapi.yaml", "\(directory)/../../openapi.yaml", "\(directory)/../../../openapi.yaml"]
        }
        candidates += ["openapi.yaml", "/usr/share/storegate/openapi.yaml"]
        for path in candidates {
            if let bytes = readFile(path) { return bytes }
        }
        Log.info("openapi_missing", [("searched", candidates.joined(separator: ", "))])
        return nil
    }

    private static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return bytes
    }

    private static func listenDescription(_ address: SocketAddress, port: UInt16) -> String {
        guard case .inet(let host, _) = address else { return address.description }
        return SocketAddress.inet(host: host, port: port).description
    }

}

/// SIGTERM / SIGINT: stop accepting, let requests in progress finish within the
/// grace period, close everything, and let the loop end so the process exits 0.
final class Shutdown {
    private let loop: Loop
    private let server: HTTPServer
    private let store: Store
    private let graceMs: UInt64
    private var watchers: [SignalWatcher] = []
    private var parentWatch: EventLoop.Timer?
    private var started = false
    private(set) var exitCode: Int32 = 0

    private let onFinish: () -> Void

    init(loop: Loop, server: HTTPServer, store: Store, graceMs: UInt64, onFinish: @escaping () -> Void) {
        self.loop = loop
        self.server = server
        self.store = store
        self.graceMs = graceMs
        self.onFinish = onFinish
    }

    func install() throws {
        for signum in [SIGTERM, SIGINT] {
            let watcher = try SignalWatcher(loop: loop, signal: signum) { [weak self] signum in
                Log.info("draining", [("signal", String(signum))])
                self?.begin(exitCode: 0)
            }
            watcher.unref()
            watchers.append(watcher)
        }
    }

    /// For a `--workers` child: once its supervisor is gone (SIGKILLed, so it could not
    /// forward a SIGTERM), the worker drains instead of holding the port as an orphan.
    /// Checked once a second against the pid the supervisor passed down (not this
    /// process's first parent: the supervisor may already be gone by then); the timer
    /// does not keep the loop alive.
    func drainWhenOrphaned() {
        let supervisor = getenv("STOREGATE_SUPERVISOR_PID").flatMap { pid_t(String(cString: $0)) } ?? getppid()
        let timer = EventLoop.Timer(loop: loop)
        timer.unref()
        timer.start(afterMs: 1000, repeatMs: 1000) { [weak self] in
            guard getppid() != supervisor else { return }
            Log.error("supervisor \(supervisor) is gone; draining")
            self?.begin(exitCode: 0)
        }
        parentWatch = timer
    }

    /// Drains the HTTP server, then closes the store and lets the loop end.
    func begin(exitCode: Int32) {
        guard !started else { return }
        started = true
        self.exitCode = exitCode
        server.drain(graceMs: graceMs) { [weak self] in
            self?.finish()
        }
    }

    private func finish() {
        for watcher in watchers { watcher.close() }
        watchers = []
        parentWatch?.close()
        parentWatch = nil
        store.close()
        onFinish()
        loop.stop()
    }
}

/// One JSON line per event on stderr; written with write(2) so nothing is buffered.
enum Log {
    nonisolated(unsafe) static var level = LogLevel.info
    nonisolated(unsafe) static var format = LogFormat.json

    static func info(_ event: String, _ fields: [(String, String)] = []) {
        guard level == .info else { return }
        emit("info", event, fields)
    }
    static func error(_ message: String) { emit("error", "error", [("message", message)]) }
    /// Shown at every log level: something an operator must not miss.
    static func warn(_ event: String, _ fields: [(String, String)] = []) { emit("warn", event, fields) }

    private static func emit(_ level: String, _ event: String, _ fields: [(String, String)]) {
        if format == .text {
            let text = WallClock().timestamp() + " \(level) \(event)"
                + fields.map { " \($0.0)=\($0.1.contains(" ") ? "\"\($0.1)\"" : $0.1)" }.joined() + "\n"
            var bytes = Array(text.utf8)
            _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
            return
        }
        var line = #"{"time":""# + WallClock().timestamp() + #"","level":"\#(level)","event":"#
        appendJSONString(event, to: &line)
        for (key, value) in fields {
            line += ","
            appendJSONString(key, to: &line)
            line += ":"
            appendJSONString(value, to: &line)
        }
        line += "}\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
