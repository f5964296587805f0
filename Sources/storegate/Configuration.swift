internal import EventLoop
internal import Gateway
internal import HTTP
internal import Orders
internal import Store
internal import TLS

/// Everything the process can be told, by flag or by environment variable
/// (`--max-body-bytes` ↔ `STOREGATE_MAX_BODY_BYTES`); a flag wins over the environment.
/// docs/configuration.md lists every option; ConfigurationDocTests keeps it in step with `usage`.
struct Configuration {
    var listen = SocketAddress.inet(host: "127.0.0.1", port: 8080)
    var store = (try? StoreURL(parsing: "redis://127.0.0.1:6379"))!
    var limits = HTTPLimits()
    var storeLimits = StoreLimits()
    /// TLS to the store for rediss:// URLs (TLSOptions.swift).
    var storeTLS = TLSConfiguration()
    var openAPIPath: String?
    var accessLog = true
    var workers = 1
    /// Set by the supervisor for its workers (environment only): which worker this is,
    /// and that the listening socket is shared.
    var workerID: Int?
    var reusePort = false
    /// The supervisor's pid, passed down to its workers (environment only).
    var supervisorPID: Int32?
    var logLevel = LogLevel.info
    var logFormat = LogFormat.json
    var shutdownGraceMs: UInt64 = 10_000
    /// API keys, public endpoints, CORS (SecurityOptions.swift).
    var security = SecurityConfiguration()
    var apiKeysFile: String?
    var maxBatchItems = Gateway.defaultMaxBatchItems
    /// `--commit-level`: when a write that does not choose is acknowledged.
    var commitLevel = CommitLevel.master
    /// The pizzeria kitchen (OrdersConfiguration.swift).
    var kitchen = KitchenSettings()

    struct Option {
        let flag: String
        let help: String
        let defaultValue: String
        let apply: (inout Configuration, String) throws(ConfigurationError) -> Void

        var environmentVariable: String {
            "STOREGATE_" + flag.dropFirst(2).uppercased().replacingOccurrences(of: "-", with: "_")
        }
    }

    static var options: [Option] {
        [
            Option(flag: "--listen", help: "address to listen on, HOST:PORT", defaultValue: "127.0.0.1:8080") {
                config, value throws(ConfigurationError) in
                guard let address = SocketAddress(parsing: value), case .inet = address else {
                    throw ConfigurationError("--listen expects HOST:PORT, got '\(value)'")
                }
                config.listen = address
            },
            Option(
                flag: "--store",
                help:
                    "store URL: redis://[user:pass@]host:port[/db], unix:///path[?db=N] or redis+cluster://h1:p1,h2:p2; rediss:// and rediss+cluster:// for TLS",
                defaultValue: "redis://127.0.0.1:6379"
            ) { config, value throws(ConfigurationError) in
                do throws(StoreError) {
                    config.store = try StoreURL(parsing: value)
                } catch {
                    throw ConfigurationError("--store: \(error.message)")
                }
            },
            intOption(
                "--max-request-target-bytes", "longest request target (414 past it)", \.limits.maxRequestTargetBytes),
            intOption("--max-header-field-bytes", "longest header field (431 past it)", \.limits.maxHeaderFieldBytes),
            intOption("--max-header-bytes", "all header fields of a request (431 past it)", \.limits.maxHeaderBytes),
            intOption("--max-header-count", "header fields in a request (431 past it)", \.limits.maxHeaderCount),
            intOption("--max-body-bytes", "largest request body (413 past it)", \.limits.maxBodyBytes),
            intOption("--max-batch-items", "operations in one POST /v1/batch (413 past it)", \.maxBatchItems),
            msOption(
                "--header-timeout-ms", "time to receive a request's headers (408 past it)", \.limits.headerTimeoutMs),
            msOption("--body-timeout-ms", "time to receive a request's body (408 past it)", \.limits.bodyTimeoutMs),
            msOption(
                "--keepalive-timeout-ms", "idle keep-alive connections are closed after this",
                \.limits.keepAliveTimeoutMs),
            intOption(
                "--max-pipelined-requests", "requests in progress per connection; more are not read yet",
                \.limits.maxPipelinedRequests),
            intOption("--max-connections", "open client connections; more are closed at once", \.limits.maxConnections),
            intOption(
                "--max-unsent-bytes", "unsent response bytes at which a client is not read", \.limits.maxUnsentBytes),
            msOption(
                "--slow-reader-timeout-ms", "a client over --max-unsent-bytes this long is closed",
                \.limits.slowReaderTimeoutMs),
            msOption(
                "--linger-timeout-ms", "input drained after a connection's last response", \.limits.lingerTimeoutMs),
            msOption("--shutdown-grace-ms", "on SIGTERM, time for requests in progress to finish", \.shutdownGraceMs),
            intOption(
                "--max-conns-per-node", "backend connections per store node", \.storeLimits.maxConnectionsPerNode),
            intOption(
                "--max-pipeline-per-conn", "commands on the wire per backend connection",
                \.storeLimits.maxPipelinePerConnection),
            intOption(
                "--max-queued-per-node", "commands waiting per store node; past it: 503", \.storeLimits.maxQueuedPerNode
            ),
            msOption("--store-timeout-ms", "deadline of a store command; past it: 504", \.storeLimits.commandTimeoutMs),
            msOption(
                "--store-connect-timeout-ms", "connect plus AUTH/SELECT to a store node", \.storeLimits.connectTimeoutMs
            ),
            Option(
                flag: "--read-from-replicas", help: "Redis Cluster: reads may be served by replicas: on or off",
                defaultValue: "off"
            ) {
                config, value throws(ConfigurationError) in
                guard value == "on" || value == "off" else {
                    throw ConfigurationError("--read-from-replicas expects on or off")
                }
                config.storeLimits.readFromReplicas = value == "on"
            },
            Option(
                flag: "--commit-level",
                help:
                    "writes without ?commit= are acknowledged once the master has them (master) or every replica (replicas)",
                defaultValue: "master"
            ) { config, value throws(ConfigurationError) in
                guard let level = CommitLevel(rawValue: value) else {
                    throw ConfigurationError("--commit-level expects master or replicas")
                }
                config.commitLevel = level
            },
            msOption(
                "--cluster-refresh-ms", "Redis Cluster: topology refresh period (250 ms while degraded)",
                \.storeLimits.clusterRefreshMs),
            Option(
                flag: "--workers", help: "worker processes sharing the port (SO_REUSEPORT), supervised by this one",
                defaultValue: "1"
            ) { config, value throws(ConfigurationError) in
                guard let count = Int(value), (1...64).contains(count) else {
                    throw ConfigurationError("--workers expects 1…64")
                }
                config.workers = count
            },
            Option(flag: "--access-log", help: "one JSON line per request on stdout: on or off", defaultValue: "on") {
                config, value throws(ConfigurationError) in
                guard value == "on" || value == "off" else {
                    throw ConfigurationError("--access-log expects on or off")
                }
                config.accessLog = value == "on"
            },
            Option(flag: "--log-level", help: "events on stderr: info or error", defaultValue: "info") {
                config, value throws(ConfigurationError) in
                guard let level = LogLevel(rawValue: value) else {
                    throw ConfigurationError("--log-level expects info or error")
                }
                config.logLevel = level
            },
            Option(flag: "--log-format", help: "json (one object a line) or text (key=value)", defaultValue: "json") {
                config, value throws(ConfigurationError) in
                guard let format = LogFormat(rawValue: value) else {
                    throw ConfigurationError("--log-format expects json or text")
                }
                config.logFormat = format
            },
            intOption(
                "--max-requests-in-progress", "requests handled at once; more wait (503 after the admission timeout)",
                \.limits.maxRequestsInProgress),
            msOption(
                "--admission-timeout-ms", "a request waiting for capacity this long gets 503 + Retry-After",
                \.limits.admissionTimeoutMs),
            Option(
                flag: "--openapi-path", help: "openapi.yaml served at GET /openapi.yaml",
                defaultValue: "found next to the binary or in the working directory"
            ) {
                config, value throws(ConfigurationError) in
                config.openAPIPath = value
            },
        ] + tlsOptions + securityOptions + kitchenOptions
    }

    private static func intOption(_ flag: String, _ help: String, _ path: WritableKeyPath<Configuration, Int>) -> Option
    {
        Option(flag: flag, help: help, defaultValue: String(Configuration()[keyPath: path])) {
            config, value throws(ConfigurationError) in
            guard let number = Int(value), number > 0 else {
                throw ConfigurationError("\(flag) expects a positive integer, got '\(value)'")
            }
            config[keyPath: path] = number
        }
    }

    private static func msOption(_ flag: String, _ help: String, _ path: WritableKeyPath<Configuration, UInt64>)
        -> Option
    {
        Option(flag: flag, help: help, defaultValue: String(Configuration()[keyPath: path])) {
            config, value throws(ConfigurationError) in
            guard let number = UInt64(value), number > 0 else {
                throw ConfigurationError("\(flag) expects a positive number of milliseconds, got '\(value)'")
            }
            config[keyPath: path] = number
        }
    }

    /// Environment first, then flags. `--help` is handled by the caller.
    static func load(arguments: [String], environment: [String: String]) throws(ConfigurationError) -> Configuration {
        var config = Configuration()
        for option in options {
            if let value = environment[option.environmentVariable] { try option.apply(&config, value) }
        }
        config.workerID = environment["STOREGATE_WORKER_ID"].flatMap { Int($0) }
        config.reusePort = environment["STOREGATE_REUSE_PORT"] == "1"
        config.supervisorPID = environment["STOREGATE_SUPERVISOR_PID"].flatMap { Int32($0) }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let (flag, inlineValue): (String, String?) =
                if let equals = argument.firstIndex(of: "=") {
                    (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
                } else { (argument, nil) }
            guard let option = options.first(where: { $0.flag == flag }) else {
                throw ConfigurationError("unknown option '\(argument)' (see --help)")
            }
            let value: String
            if let inlineValue {
                value = inlineValue
            } else {
                index += 1
                guard index < arguments.count else { throw ConfigurationError("\(flag) needs a value") }
                value = arguments[index]
            }
            try option.apply(&config, value)
            index += 1
        }
        try config.finishSecurity(environment: environment)
        try config.checkTLS()
        return config
    }

    static var usage: String {
        var text = """
            storegate — HTTP/1.1 gateway in front of a Redis-protocol store

            usage: storegate [options]
                   storegate healthcheck [--url http://HOST:PORT/healthz] [--timeout-ms N]
                   storegate --help

            Every option can also be set by its environment variable; a flag wins.

            """
        for option in options {
            text +=
                "  \(option.flag) VALUE\n      \(option.help)\n      default \(option.defaultValue), env \(option.environmentVariable)\n"
        }
        return text + securityEnvironmentHelp
    }
}

enum LogLevel: String { case info, error }
enum LogFormat: String { case json, text }

struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    fileprivate func replacingOccurrences(of target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        replacingOccurrences(of: Character(target), with: Character(replacement))
    }
}
