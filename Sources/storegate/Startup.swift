internal import EventLoop
internal import HTTP
internal import Gateway
#if canImport(Glibc)
internal import Glibc
#endif

/// Builds the loop, the gateway and the server, runs until a signal has drained
/// everything, and returns the exit code.
enum Startup {
    static func run(_ configuration: Configuration) throws -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let loop = try Loop()
        let gateway = Gateway(loop: loop)
        let server = HTTPServer(loop: loop, limits: configuration.limits, formatError: { error, id in
            ErrorResponse.make(error, requestID: id)
        }) { request, responder in
            gateway.handle(request, responder)
        }
        let port = try server.listen(on: configuration.listen)
        let shutdown = Shutdown(loop: loop, server: server, graceMs: configuration.shutdownGraceMs)
        try shutdown.install()
        Log.info("listening", [
            ("address", listenDescription(configuration.listen, port: port)),
            ("store", redacted(configuration.store)),
        ])
        loop.run()
        let leaked = loop.close()
        if leaked > 0 { Log.error("\(leaked) libuv handles were still open at exit") }
        Log.info("stopped")
        return 0
    }

    private static func listenDescription(_ address: SocketAddress, port: UInt16) -> String {
        guard case .inet(let host, _) = address else { return address.description }
        return SocketAddress.inet(host: host, port: port).description
    }

    /// Drops any password from a store URL before it is logged.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.firstRange(of: "//"), let at = url[scheme.upperBound...].lastIndex(of: "@") else {
            return url
        }
        return String(url[..<scheme.upperBound]) + "***@" + String(url[url.index(after: at)...])
    }
}

/// SIGTERM / SIGINT: stop accepting, let requests in progress finish within the
/// grace period, close everything, and let the loop end so the process exits 0.
final class Shutdown {
    private let loop: Loop
    private let server: HTTPServer
    private let graceMs: UInt64
    private var watchers: [SignalWatcher] = []

    init(loop: Loop, server: HTTPServer, graceMs: UInt64) {
        self.loop = loop
        self.server = server
        self.graceMs = graceMs
    }

    func install() throws {
        for signum in [SIGTERM, SIGINT] {
            let watcher = try SignalWatcher(loop: loop, signal: signum) { [weak self] signum in
                self?.begin(signal: signum)
            }
            watcher.unref()
            watchers.append(watcher)
        }
    }

    private func begin(signal: Int32) {
        Log.info("draining", [("signal", String(signal)), ("connections", String(server.connectionCount))])
        server.drain(graceMs: graceMs) { [weak self] in
            self?.finish()
        }
    }

    private func finish() {
        for watcher in watchers { watcher.close() }
        watchers = []
        loop.stop()
    }
}

/// One JSON line per event on stderr; written with write(2) so nothing is buffered.
enum Log {
    static func info(_ event: String, _ fields: [(String, String)] = []) { emit("info", event, fields) }
    static func error(_ message: String) { emit("error", "error", [("message", message)]) }

    private static func emit(_ level: String, _ event: String, _ fields: [(String, String)]) {
        var line = #"{"level":"\#(level)","event":"#
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
