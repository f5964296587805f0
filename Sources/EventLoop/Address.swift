internal import CLibUV

#if canImport(Glibc)
internal import Glibc
#endif

/// Where a socket listens or connects: `host:port` (IPv4, `[IPv6]`, or a name: resolved
/// when a listener binds, and by a `NameResolution` for each connection to it) or a unix
/// socket path.
package enum SocketAddress: Equatable, Sendable, CustomStringConvertible {
    case inet(host: String, port: UInt16)
    case unix(path: String)

    /// Parses `HOST:PORT`, `[V6]:PORT` or `unix:///path`.
    package init?(parsing text: String) {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { return nil }
            self = .unix(path: path)
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = UInt16(portText) else { return nil }
        self = .inet(host: String(host), port: port)
    }

    package var description: String {
        switch self {
        case .inet(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix://\(path)"
        }
    }

    /// A `sockaddr_storage` for an inet address. Literal addresses are parsed directly;
    /// a name is resolved with a blocking getaddrinfo, so call this at start-up only.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>) -> R) throws(EventLoopError) -> R {
        guard case .inet(let host, let port) = self else {
            throw EventLoopError(code: UV_EINVAL.rawValue, operation: "sockaddr for \(self)")
        }
        var storage = sockaddr_storage()
        let rc: Int32 = withUnsafeMutablePointer(to: &storage) { pointer in
            let raw = UnsafeMutableRawPointer(pointer)
            if uv_ip4_addr(host, Int32(port), raw.assumingMemoryBound(to: sockaddr_in.self)) == 0 { return 0 }
            if uv_ip6_addr(host, Int32(port), raw.assumingMemoryBound(to: sockaddr_in6.self)) == 0 { return 0 }
            return Self.resolve(host: host, port: port, into: raw)
        }
        guard rc == 0 else { throw EventLoopError(code: rc, operation: "resolve \(host)") }
        return withUnsafePointer(to: &storage) { pointer in
            body(UnsafeRawPointer(pointer).assumingMemoryBound(to: sockaddr.self))
        }
    }

    private static func resolve(host: String, port: UInt16, into storage: UnsafeMutableRawPointer) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            return UV_EAI_NONAME.rawValue
        }
        defer { freeaddrinfo(result) }
        storage.copyMemory(from: first.pointee.ai_addr, byteCount: Int(first.pointee.ai_addrlen))
        return 0
    }
}
