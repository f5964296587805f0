internal import CLibUV

#if canImport(Glibc)
internal import Glibc
#endif

/// An address a name resolved to, ready for `SocketStream.connect(to:)`.
package struct ResolvedAddress {
    fileprivate(set) var storage = sockaddr_storage()
}

/// One host name being resolved with `uv_getaddrinfo`, for a connection opened while
/// the loop runs. libuv does the lookup on its resolver threads (the one piece of work
/// that leaves the loop thread: glibc has no non-blocking resolver), so a slow or dead
/// DNS server stalls that connection's connect, not the loop. The completion runs on
/// the loop thread, in a turn after `start` has returned; after `cancel()` it never
/// runs. Holds itself alive until libuv's callback has run.
package final class NameResolution {
    private let request = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
    private let host: String
    private var completion: ((Result<ResolvedAddress, EventLoopError>) -> Void)?

    private init(host: String, completion: @escaping (Result<ResolvedAddress, EventLoopError>) -> Void) {
        self.host = host
        self.completion = completion
    }

    deinit { request.deallocate() }

    /// Resolves `host` (its first address, as a blocking `getaddrinfo` would give it)
    /// with `port` filled in.
    package static func start(
        on loop: Loop, host: String, port: UInt16,
        completion: @escaping (Result<ResolvedAddress, EventLoopError>) -> Void
    ) -> NameResolution {
        let resolution = NameResolution(host: host, completion: completion)
        resolution.request.pointee.data = Unmanaged.passRetained(resolution).toOpaque()
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        let rc = uv_getaddrinfo(
            loop.raw, resolution.request,
            { request, status, result in
                Loop.owner(of: request!.pointee.loop).resolutionsInFlight -= 1
                let resolution = Unmanaged<NameResolution>.fromOpaque(request!.pointee.data).takeRetainedValue()
                defer { if let result { uv_freeaddrinfo(result) } }
                resolution.finish(status: status, result: result)
            }, host, String(port), &hints)
        if rc == 0 {
            loop.resolutionsInFlight += 1
        } else {
            Unmanaged<NameResolution>.fromOpaque(resolution.request.pointee.data).release()
            loop.runSoon { resolution.finish(status: rc, result: nil) }
        }
        return resolution
    }

    /// The completion will not run. A lookup already under way finishes on its thread
    /// and is dropped.
    package func cancel() {
        guard completion != nil else { return }
        completion = nil
        uv_cancel(UnsafeMutableRawPointer(request).assumingMemoryBound(to: uv_req_t.self))
    }

    private func finish(status: Int32, result: UnsafeMutablePointer<addrinfo>?) {
        guard let completion else { return }
        self.completion = nil
        guard status == 0, let first = result, let address = first.pointee.ai_addr else {
            let code = status == 0 ? UV_EAI_NONAME.rawValue : status
            return completion(.failure(EventLoopError(code: code, operation: "resolve \(host)")))
        }
        var resolved = ResolvedAddress()
        withUnsafeMutableBytes(of: &resolved.storage) { storage in
            storage.copyMemory(
                from: UnsafeRawBufferPointer(
                    start: address, count: min(Int(first.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)))
        }
        completion(.success(resolved))
    }
}

extension SocketAddress {
    /// An inet address whose host is a name, not a literal IPv4 or IPv6 address: connect
    /// to it through a `NameResolution`.
    package var needsResolution: Bool {
        guard case .inet(let host, _) = self else { return false }
        var storage = sockaddr_storage()
        return withUnsafeMutableBytes(of: &storage) { raw in
            uv_inet_pton(AF_INET, host, raw.baseAddress) != 0 && uv_inet_pton(AF_INET6, host, raw.baseAddress) != 0
        }
    }
}
