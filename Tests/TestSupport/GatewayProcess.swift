package import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The built `storegate` binary running as a child process on a free loopback port.
/// Its stderr (JSON log lines) is captured; `stop()` sends SIGTERM and waits.
package final class GatewayProcess: @unchecked Sendable {
    package let port: UInt16
    package let process = Process()
    private let logPipe = Pipe()
    private let outputPipe = Pipe()
    private let logLock = NSLock()
    private var logData = Data()
    private var outputData = Data()

    /// `launcher`: a command that execs the binary it is given next, with its
    /// arguments (the gateway keeps the launcher's pid), for example to run it in
    /// namespaces of its own.
    package init(arguments: [String] = [], environment: [String: String] = [:], launcher: [String] = []) throws {
        port = freePort()
        let binary = buildProductsDirectory.appendingPathComponent("storegate")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TestError("storegate binary not found at \(binary.path); build it first")
        }
        let gatewayArguments = ["--listen", "127.0.0.1:\(port)"] + arguments
        if let command = launcher.first {
            process.executableURL = URL(fileURLWithPath: command)
            process.arguments = launcher.dropFirst() + [binary.path] + gatewayArguments
        } else {
            process.executableURL = binary
            process.arguments = gatewayArguments
        }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STOREGATE_") }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardError = logPipe
        process.standardOutput = outputPipe
        logPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.logLock.lock()
            self.logData.append(chunk)
            self.logLock.unlock()
        }
        outputPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.logLock.lock()
            self.outputData.append(chunk)
            self.logLock.unlock()
        }
        try process.run()
        let ready = eventually(within: 10) { (try? RawHTTPClient(port: port, timeout: 1)) != nil || !process.isRunning }
        guard ready, process.isRunning else {
            throw TestError("storegate did not start: \(log)")
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        logPipe.fileHandleForReading.readabilityHandler = nil
        outputPipe.fileHandleForReading.readabilityHandler = nil
    }

    /// What the gateway wrote to stdout: the access log.
    package var output: String {
        logLock.lock()
        defer { logLock.unlock() }
        return String(decoding: outputData, as: UTF8.self)
    }

    package var pid: Int32 { process.processIdentifier }

    package var log: String {
        logLock.lock()
        defer { logLock.unlock() }
        return String(decoding: logData, as: UTF8.self)
    }

    package func connect(timeout: Double = 5) throws -> RawHTTPClient {
        try RawHTTPClient(port: port, timeout: timeout * timeoutMultiplier)
    }

    /// One request on a new connection; returns the response.
    package func request(_ raw: String) throws -> ParsedResponse {
        let client = try connect()
        try client.send(raw)
        guard let response = client.readResponse(forHead: raw.hasPrefix("HEAD ")) else {
            throw TestError("no response to \(raw.debugDescription)")
        }
        return response
    }

    /// One request built from its parts on a new connection; a body goes with its
    /// length and, unless `contentType` is nil, that Content-Type.
    @discardableResult
    package func call(
        _ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:],
        contentType: String? = "application/json"
    ) throws -> ParsedResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: test\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body {
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
            head += "Content-Length: \(body.utf8.count)\r\n"
        }
        return try request(head + "\r\n" + (body ?? ""))
    }

    package func get(_ path: String) throws -> ParsedResponse {
        try request("GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n")
    }

    /// Sends `signal` and waits for the exit; returns the exit status.
    @discardableResult
    package func stop(signal: Int32 = 15, within seconds: Double = 15) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        guard eventually(within: seconds, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
