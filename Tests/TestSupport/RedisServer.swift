package import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` for a test: a free loopback port, its own temporary directory,
/// optional password and unix socket. `stop()` (or deinit) kills it and removes the
/// directory; `start()` again restarts it on the same port.
package final class RedisServer: @unchecked Sendable {
    package let port: UInt16
    package let directory: URL
    package let password: String?
    package let unixSocketPath: String?
    /// Every write fsynced to an append-only file, so a SIGKILL loses nothing acknowledged.
    package let persistent: Bool
    private var process: Process?
    /// More redis-server arguments (the cluster fixture's `--cluster-enabled yes` …).
    private let extraArguments: [String]
    /// TLS only (`--port 0 --tls-port`), when set.
    package let tls: TLSSetup?

    /// A TLS-only server: its certificate (one of `certificates`) and whether clients
    /// must present one (`--tls-auth-clients`).
    package struct TLSSetup: Sendable {
        package var certificates: TestCertificates
        package var certificateFile: String
        package var requireClientCertificates: Bool

        package init(
            certificates: TestCertificates, certificateFile: String? = nil, requireClientCertificates: Bool = false
        ) {
            self.certificates = certificates
            self.certificateFile = certificateFile ?? certificates.serverCertificate
            self.requireClientCertificates = requireClientCertificates
        }
    }

    package init(
        password: String? = nil, unixSocket: Bool = false, persistent: Bool = false, extraArguments: [String] = [],
        tls: TLSSetup? = nil
    ) throws {
        self.tls = tls
        self.persistent = persistent
        self.extraArguments = extraArguments
        port = freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "storegate-redis-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.password = password
        unixSocketPath = unixSocket ? directory.appendingPathComponent("redis.sock").path : nil
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    package var pid: Int32 { process?.processIdentifier ?? -1 }
    package var isRunning: Bool { process?.isRunning ?? false }
    package var url: String {
        let scheme = tls == nil ? "redis" : "rediss"
        return password.map { "\(scheme)://:\($0)@127.0.0.1:\(port)" } ?? "\(scheme)://127.0.0.1:\(port)"
    }

    package func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.locate("redis-server"))
        var arguments = [
            "--port", tls == nil ? String(port) : "0", "--bind", "127.0.0.1", "--save", "",
            "--appendonly", persistent ? "yes" : "no", "--appendfsync", "always",
            "--dir", directory.path, "--logfile", directory.appendingPathComponent("redis.log").path,
            "--enable-debug-command", "local", "--daemonize", "no",
        ]
        if let password { arguments += ["--requirepass", password] }
        if let unixSocketPath { arguments += ["--unixsocket", unixSocketPath, "--unixsocketperm", "700"] }
        if let tls {
            arguments += [
                "--tls-port", String(port), "--tls-cert-file", tls.certificateFile, "--tls-key-file",
                tls.certificates.serverKey, "--tls-ca-cert-file", tls.certificates.caFile, "--tls-auth-clients",
                tls.requireClientCertificates ? "yes" : "no",
            ]
        }
        process.arguments = arguments + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        guard eventually(within: 10, { (try? cli(["PING"])) == "PONG" }) else {
            throw TestError("redis-server did not start on port \(port)")
        }
    }

    /// SIGKILL: the server dies at once, mid-flight.
    package func kill() {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGCONT)
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    package func stop() {
        kill()
        process = nil
    }

    /// SIGSTOP / SIGCONT: the server stalls with every connection open.
    package func pause() { if let process { Glibc.kill(process.processIdentifier, SIGSTOP) } }
    package func resume() { if let process { Glibc.kill(process.processIdentifier, SIGCONT) } }

    /// Runs one command with redis-cli and returns its raw output, trimmed.
    @discardableResult
    package func cli(_ arguments: [String], database: Int = 0) throws -> String {
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: Self.locate("redis-cli"))
        var base = ["-h", "127.0.0.1", "-p", String(port), "-n", String(database), "--no-auth-warning"]
        if let password { base += ["-a", password] }
        if let tls {
            // The test's own checks skip verification: an expired server certificate is a fixture too.
            base += [
                "--tls", "--insecure", "--cert", tls.certificates.clientCertificate, "--key",
                tls.certificates.clientKey,
            ]
        }
        cli.arguments = base + ["--raw"] + arguments
        let output = Pipe()
        cli.standardOutput = output
        cli.standardError = FileHandle.nullDevice
        try cli.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        cli.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Calls of `command` (lower case) the server has served so far, calls from scripts
    /// included (INFO commandstats); 0 when it has served none.
    package func commandCalls(_ command: String) throws -> Int {
        let prefix = "cmdstat_\(command):calls="
        let stats = try cli(["INFO", "commandstats"])
        guard let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix(prefix) }) else {
            return 0
        }
        return Int(line.dropFirst(prefix.count).prefix { $0.isNumber }) ?? 0
    }

    /// Clients whose name (CLIENT SETNAME) is `name`.
    package func clientCount(named name: String) throws -> Int {
        try cli(["CLIENT", "LIST"]).split(separator: "\n").filter { $0.contains(" name=\(name) ") }.count
    }

    package static func locate(_ program: String) -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let path = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "/usr/bin/\(program)"
    }
}
