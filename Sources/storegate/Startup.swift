internal import EventLoop
internal import Gateway
internal import HTTP
internal import Orders
internal import RESP
internal import Store

#if canImport(Glibc)
internal import Glibc
#endif

/// Builds the loop, the gateway and the server, runs until a signal has drained
/// everything, and returns the exit code.
enum Startup {
    static func run(_ configuration: Configuration) throws -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let loop = try Loop()
        let store: Store
        do throws(StoreError) {
            store = try Store(
                loop: loop, url: configuration.store, limits: configuration.storeLimits, tls: configuration.storeTLS)
        } catch {
            throw ConfigurationError("--store: \(error.message)")
        }
        var security = configuration.security
        if configuration.kitchen.enabled { Pizzeria.openDemoPage(in: &security) }
        let gateway = Gateway(
            loop: loop, store: store, limits: configuration.limits,
            openAPIDocument: loadOpenAPI(configuration.openAPIPath), workerID: configuration.workerID,
            security: security, maxBatchItems: configuration.maxBatchItems,
            commitLevel: configuration.commitLevel)
        let server = gateway.server
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
        if configuration.workerID != nil { shutdown.drainWhenOrphaned(supervisorPID: configuration.supervisorPID) }
        Log.info(
            "listening",
            [
                ("address", listenDescription(configuration.listen, port: port)),
                ("worker", configuration.workerID.map(String.init) ?? "-"),
                ("store", configuration.store.description),
            ])
        SecurityAnnouncement.log(configuration.security)
        TLSAnnouncement.log(store: configuration.store, tls: configuration.storeTLS)
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

    /// One PING at start: a wrong password is a configuration error (exit 78), a store
    /// certificate that fails verification stops start-up too (exit 76); an
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
            case .failure(let error) where error.kind == .certificateRejected:
                Log.error("store TLS certificate rejected (see docs/tls.md): \(error.message)")
                shutdown.begin(exitCode: Configuration.certificateRejectedExitCode)
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
            candidates += [
                "\(directory)/openapi.yaml", "\(directory)/../../openapi.yaml", "\(directory)/../../../openapi.yaml",
            ]
        }
        candidates += ["openapi.yaml", "/usr/share/storegate/openapi.yaml"]
        for path in candidates {
            if let bytes = ProcessEnvironment.readFile(path) { return bytes }
        }
        Log.info("openapi_missing", [("searched", candidates.joined(separator: ", "))])
        return nil
    }

    private static func listenDescription(_ address: SocketAddress, port: UInt16) -> String {
        guard case .inet(let host, _) = address else { return address.description }
        return SocketAddress.inet(host: host, port: port).description
    }

}
