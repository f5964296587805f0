#if canImport(Glibc)
internal import Glibc
#endif

/// `storegate healthcheck --url http://HOST:PORT/PATH [--timeout-ms N]`: exit 0 when
/// the URL answers 2xx in time, else 1. For container HEALTHCHECKs (no curl needed).
enum Healthcheck {
    static func run(_ arguments: [String]) -> Int32 {
        var url = "http://127.0.0.1:8080/healthz"
        var timeoutMs = 2000
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--url" where index + 1 < arguments.count:
                url = arguments[index + 1]
                index += 1
            case "--timeout-ms" where index + 1 < arguments.count:
                timeoutMs = Int(arguments[index + 1]) ?? timeoutMs
                index += 1
            default:
                writeLine("usage: storegate healthcheck [--url http://HOST:PORT/PATH] [--timeout-ms N]")
                return 2
            }
            index += 1
        }
        guard url.hasPrefix("http://") else {
            writeLine("healthcheck: only http:// URLs")
            return 2
        }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        let colon = authority.lastIndex(of: ":")
        let host = colon.map { String(authority[..<$0]) } ?? String(authority)
        let port = colon.flatMap { UInt16(authority[authority.index(after: $0)...]) } ?? 80
        guard let status = fetchStatus(host: host, port: port, path: path, timeoutMs: Int32(timeoutMs)) else {
            writeLine("healthcheck: no answer from \(url)")
            return 1
        }
        if (200..<300).contains(status) { return 0 }
        writeLine("healthcheck: \(url) answered \(status)")
        return 1
    }

    private static func fetchStatus(host: String, port: UInt16, path: String, timeoutMs: Int32) -> Int? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let address = result else { return nil }
        defer { freeaddrinfo(result) }
        let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: Int(timeoutMs / 1000), tv_usec: Int(timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else { return nil }
        let request = Array(
            "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\nUser-Agent: storegate-healthcheck\r\n\r\n"
                .utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count
        else {
            return nil
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while response.count < 64, !response.contains(UInt8(ascii: "\n")) {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            response += chunk[..<count]
        }
        let line = String(decoding: response.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1.") else { return nil }
        return Int(parts[1])
    }

    private static func writeLine(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
