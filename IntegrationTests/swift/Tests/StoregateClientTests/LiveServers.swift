import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real redis-server and the real storegate binary, each on a free loopback port with
/// its output in a temporary directory; `stop()` (or deinit) ends both and removes it.
/// The gateway binary is STOREGATE_BIN, else the main package's debug build.
/// Self-contained: `package` access in the main package's TestSupport does not cross
/// packages.
final class LiveServers {
    let redisPort: UInt16
    let gatewayPort: UInt16
    let directory: URL
    private var redis: Process?
    private var gateway: Process?

    var baseURL: URL { URL(string: "http://127.0.0.1:\(gatewayPort)")! }

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("storegate-client-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        redisPort = Self.freePort()
        gatewayPort = Self.freePort()
        redis = try launch(
            "/usr/bin/redis-server",
            [
                "--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", directory.path, "--daemonize", "no",
            ], log: "redis.log")
        guard Self.eventually({ (try? self.redisCLI(["PING"])) == "PONG" }) else {
            stop()
            throw Failure("redis-server did not start on \(redisPort)")
        }
        gateway = try launch(
            Self.gatewayBinary,
            [
                "--listen", "127.0.0.1:\(gatewayPort)", "--store", "redis://127.0.0.1:\(redisPort)",
            ], log: "gateway.log")
        guard Self.eventually({ Self.canConnect(port: self.gatewayPort) }) else {
            let log = (try? String(contentsOf: directory.appendingPathComponent("gateway.log"), encoding: .utf8)) ?? ""
            stop()
            throw Failure("storegate did not start on \(gatewayPort): \(log)")
        }
    }

    deinit { stop() }

    /// SIGTERM to both (SIGKILL after 10 s); returns the gateway's exit status, nil if it
    /// had to be killed or was stopped before.
    @discardableResult
    func stop() -> Int32? {
        var gatewayStatus: Int32?
        for process in [gateway, redis].compactMap({ $0 }) where process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            if Self.eventually({ !process.isRunning }) {
                process.waitUntilExit()
                if process === gateway { gatewayStatus = process.terminationStatus }
            } else {
                kill(process.processIdentifier, SIGKILL)
            }
        }
        gateway = nil
        redis = nil
        try? FileManager.default.removeItem(at: directory)
        return gatewayStatus
    }

    /// One redis-cli command against the test's redis, output trimmed: checks the store
    /// itself, not only what the gateway says.
    /// A record's bins as the store holds them: `_b`, `<name length>:<name><value length>:<value>` per bin.
    func storedBins(_ key: String) throws -> [String: String] {
        var rest = Substring(try redisCLI(["HGET", key, "_b"])).utf8[...]
        var bins: [String: String] = [:]
        func piece() -> String {
            let colon = rest.firstIndex(of: UInt8(ascii: ":"))!
            let count = Int(String(decoding: rest[..<colon], as: UTF8.self))!
            let start = rest.index(after: colon)
            let end = rest.index(start, offsetBy: count)
            defer { rest = rest[end...] }
            return String(decoding: rest[start..<end], as: UTF8.self)
        }
        while !rest.isEmpty {
            let name = piece()
            bins[name] = piece()
        }
        return bins
    }

    func redisCLI(_ arguments: [String]) throws -> String {
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        cli.arguments = ["-h", "127.0.0.1", "-p", String(redisPort), "--raw"] + arguments
        let output = Pipe()
        cli.standardOutput = output
        cli.standardError = FileHandle.nullDevice
        try cli.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        cli.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func launch(_ path: String, _ arguments: [String], log: String) throws -> Process {
        let logURL = directory.appendingPathComponent(log)
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    private static var gatewayBinary: String {
        if let path = ProcessInfo.processInfo.environment["STOREGATE_BIN"] { return path }
        // IntegrationTests/swift/Tests/StoregateClientTests/LiveServers.swift → the repo root.
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { root.deleteLastPathComponent() }
        return root.appendingPathComponent(".build/debug/storegate").path
    }

    private static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                _ = bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func canConnect(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func eventually(within seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
