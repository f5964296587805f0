import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client for tests: bytes in, bytes out, with a receive timeout.
/// Knows just enough HTTP/1.1 to split a byte stream into responses.
package final class RawHTTPClient {
    package private(set) var fd: Int32
    private var buffer: [UInt8] = []
    package private(set) var peerClosed = false

    package init(port: UInt16, host: String = "127.0.0.1", timeout: Double = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        // No close here: `self` is whole, so deinit runs when this throws and closes the
        // socket. A second close could hit a descriptor another thread opened meanwhile
        // (a redis-cli pipe, as under ASan in ClusterCommitLevelTests).
        guard rc == 0 else { throw TestError("connect to \(host):\(port) failed: errno \(errno)") }
        setTimeout(timeout)
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    package func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    package func send(_ text: String) throws { try send(Array(text.utf8)) }

    package func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestError("send failed: errno \(errno)") }
            offset += n
        }
    }

    package func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Closes the socket now; with `reset`, with an RST (SO_LINGER 0) instead of a FIN.
    package func close(reset: Bool = false) {
        guard fd >= 0 else { return }
        if reset {
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        }
        Glibc.close(fd)
        fd = -1
    }

    /// Reads once; returns false on EOF, reset or timeout.
    @discardableResult
    package func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            buffer.append(contentsOf: chunk[..<n])
            return true
        }
        if n == 0 || errno == ECONNRESET { peerClosed = true }
        return false
    }

    /// Reads until the peer closes or the timeout passes; returns everything unread.
    package func readAll() -> [UInt8] {
        while fill() {}
        defer { buffer = [] }
        return buffer
    }

    /// True if the peer closed the connection (EOF or reset) within the timeout,
    /// with no further bytes arriving.
    package func waitForClose() -> Bool {
        while fill() {}
        return peerClosed
    }

    /// The next complete response, or nil at EOF/timeout.
    package func readResponse(forHead: Bool = false) -> ParsedResponse? {
        while true {
            if let (response, used) = ParsedResponse.parse(buffer, forHead: forHead) {
                buffer.removeFirst(used)
                return response
            }
            guard fill() else { return nil }
        }
    }

    package var unreadBytes: [UInt8] { buffer }
}

/// One response split from a byte stream.
package struct ParsedResponse: CustomStringConvertible {
    package var status: Int
    package var headers: [(String, String)]
    package var body: [UInt8]
    package var chunked: Bool

    package func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    package var bodyText: String { String(decoding: body, as: UTF8.self) }

    package var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    package var errorCode: String? { (json?["error"] as? [String: Any])?["code"] as? String }

    package var description: String { "\(status) \(headers) \(bodyText)" }

    /// Parses one response at the start of `bytes`; nil if incomplete.
    package static func parse(_ bytes: [UInt8], forHead: Bool = false) -> (ParsedResponse, Int)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = bytes.firstRange(of: separator) else { return nil }
        let head = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        let headers: [(String, String)] = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = ParsedResponse(status: status, headers: headers, body: [], chunked: false)
        let bodyStart = headEnd.upperBound
        if forHead || status == 204 || status == 304 || status / 100 == 1 { return (response, bodyStart) }
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            response.chunked = true
            var position = bodyStart
            while true {
                guard let lineEnd = bytes[position...].firstRange(of: [13, 10]) else { return nil }
                let sizeText = String(decoding: bytes[position..<lineEnd.lowerBound], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";")[0], radix: 16) else { return nil }
                let dataStart = lineEnd.upperBound
                guard bytes.count >= dataStart + size + 2 else { return nil }
                if size == 0 { return (response, dataStart + 2) }
                response.body.append(contentsOf: bytes[dataStart..<dataStart + size])
                position = dataStart + size + 2
            }
        }
        let length = Int(response.header("Content-Length") ?? "0") ?? 0
        guard bytes.count >= bodyStart + length else { return nil }
        response.body = Array(bytes[bodyStart..<bodyStart + length])
        return (response, bodyStart + length)
    }
}

package struct TestError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
