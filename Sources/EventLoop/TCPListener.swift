internal import CLibUV

#if canImport(Glibc)
internal import Glibc
#endif

package protocol TCPListenerDelegate: AnyObject {
    /// The stream the next connection is accepted into: a plain `SocketStream`, or a
    /// subclass that is the connection's owner too. The default is a plain one.
    func listenerStreamForNextConnection(_ listener: TCPListener, loop: Loop) -> SocketStream
    /// A new connection, already accepted; the delegate becomes its owner.
    func listenerDidAccept(_ listener: TCPListener, stream: SocketStream)
    func listenerDidFail(_ listener: TCPListener, error: EventLoopError)
}

extension TCPListenerDelegate {
    package func listenerStreamForNextConnection(_ listener: TCPListener, loop: Loop) -> SocketStream {
        SocketStream(loop: loop, kind: .tcp)
    }
}

/// A listening TCP socket (`uv_tcp_t`). Accepts every pending connection and hands
/// each to the delegate as a `SocketStream`; it keeps no per-connection state itself.
package final class TCPListener: HandleOwner {
    package weak var delegate: (any TCPListenerDelegate)?
    private unowned let loop: Loop

    package init(loop: Loop, address: SocketAddress, backlog: Int32 = 1024, reusePort: Bool = false)
        throws(EventLoopError)
    {
        self.loop = loop
        super.init(byteCount: MemoryLayout<uv_tcp_t>.size)
        let tcp = handle.assumingMemoryBound(to: uv_tcp_t.self)
        uv_tcp_init_ex(loop.raw, tcp, UInt32(AF_UNSPEC))
        retainWhileOpen()
        do throws(EventLoopError) {
            let rc = try address.withSockaddr { sockaddr -> Int32 in
                let family = Int32(sockaddr.pointee.sa_family)
                if reusePort {
                    let rc = Self.enableReusePort(tcp, family: family)
                    if rc != 0 { return rc }
                }
                return uv_tcp_bind(tcp, sockaddr, 0)
            }
            guard rc == 0 else { throw EventLoopError(code: rc, operation: "bind \(address)") }
            let listenRC = uv_listen(rawStream, backlog) { server, status in
                HandleOwner.owner(TCPListener.self, of: server).didReceiveConnection(status: status)
            }
            guard listenRC == 0 else { throw EventLoopError(code: listenRC, operation: "listen \(address)") }
        } catch {
            close()
            throw error
        }
    }

    var rawStream: UnsafeMutablePointer<uv_stream_t> { handle.assumingMemoryBound(to: uv_stream_t.self) }

    /// SO_REUSEPORT has to be set before bind, so the socket is created here by hand.
    private static func enableReusePort(_ tcp: UnsafeMutablePointer<uv_tcp_t>, family: Int32) -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -errno }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = uv_tcp_open(tcp, fd)
        if rc != 0 { Glibc.close(fd) }
        return rc
    }

    /// The port actually bound (useful with port 0).
    package var port: UInt16 {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { pointer in
            uv_tcp_getsockname(
                handle.assumingMemoryBound(to: uv_tcp_t.self),
                UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: sockaddr.self), &length)
        }
        guard rc == 0 else { return 0 }
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer in
            let raw = UnsafeRawPointer(pointer)
            if family == AF_INET6 {
                return UInt16(bigEndian: raw.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port)
            }
            return UInt16(bigEndian: raw.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port)
        }
    }

    private func didReceiveConnection(status: Int32) {
        guard status == 0 else {
            delegate?.listenerDidFail(self, error: EventLoopError(code: status, operation: "accept"))
            return
        }
        guard let delegate else {
            let stream = SocketStream(loop: loop, kind: .tcp)
            _ = uv_accept(rawStream, stream.rawStream)
            stream.close()
            return
        }
        let stream = delegate.listenerStreamForNextConnection(self, loop: loop)
        guard uv_accept(rawStream, stream.rawStream) == 0 else {
            stream.close()
            return
        }
        delegate.listenerDidAccept(self, stream: stream)
    }
}
