internal import Gateway
internal import HTTP
internal import RESP

#if canImport(Glibc)
internal import Glibc
#endif

/// One client connection and the thread that serves it: blocking `read` on the client
/// socket, the gateway's llhttp parser, then for each request one blocking round trip on
/// this thread's own store connection and one blocking `write` of the response. The
/// thread ends, closing both sockets, when the client closes or asks to.
final class ClientThread: RequestParserDelegate, @unchecked Sendable {
    let client: Int32
    private let storeEndpoint: Endpoint
    private var store: StoreConnection?
    private var parsed: [HTTPRequest] = []

    init(client: Int32, store: Endpoint) {
        self.client = client
        storeEndpoint = store
    }

    func serve() {
        let parser = RequestParser(settings: ParserSettings())
        parser.delegate = self
        let serializer = ResponseSerializer()
        var input = [UInt8](repeating: 0, count: 16 * 1024)
        var output: [UInt8] = []
        defer {
            close(client)
            store?.close()
        }
        while true {
            let count = input.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            if count <= 0 { return }
            let result = input.withUnsafeBytes { parser.feed(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            var closing = false
            output.removeAll(keepingCapacity: true)
            for request in parsed where !closing {
                let response = respond(to: request)
                closing = !request.keepAlive
                let bodyAllowed = request.method != "HEAD" && response.status != 204 && response.status != 304
                serializer.appendHead(
                    status: response.status, headers: response.headers, entityTag: response.entityTag,
                    contentLength: response.body.count,
                    close: closing, requestID: request.id, to: &output)
                if bodyAllowed { output.append(contentsOf: response.body) }
            }
            parsed.removeAll(keepingCapacity: true)
            // A malformed request, or a method llhttp does not know: answer it and close.
            var last: (HTTPResponse, String)?
            switch result {
            case .failed(let error):
                last = (ErrorResponse.make(error, requestID: parser.currentRequestID), parser.currentRequestID)
            case .unknownMethod(let request):
                last = (ErrorResponse.notFound(path: request.path, requestID: request.id), request.id)
            case .consumedAll, .paused: break
            }
            if !closing, let (response, requestID) = last {
                serializer.appendHead(
                    status: response.status, headers: response.headers, entityTag: response.entityTag,
                    contentLength: response.body.count,
                    close: true, requestID: requestID, to: &output)
                output.append(contentsOf: response.body)
                closing = true
            }
            guard writeAll(client, output), !closing else { return }
        }
    }

    func parserDidBeginRequest() {}
    func parserDidParseHead(expectsBody: Bool, expectsContinue: Bool) {}
    func parserDidParseRequest(_ request: consuming HTTPRequest) -> Bool {
        parsed.append(request)
        return false
    }

    private func respond(to request: HTTPRequest) -> HTTPResponse {
        switch RecordExchange.plan(request) {
        case .respond(let response):
            return response
        case .roundTrip(var trip):
            do {
                if store == nil { store = try StoreConnection(storeEndpoint) }
                while true {
                    var reply = try store!.roundTrip(
                        trip.command, leadingReplies: trip.leadingReplies, keepsArrayEncoded: trip.keepsArrayEncoded)
                    if case .error(let message) = reply, message.hasPrefix("NOSCRIPT"),
                        let retry = trip.retryOnNoScript
                    {
                        reply = try store!.roundTrip(retry, leadingReplies: 0, keepsArrayEncoded: false)
                    }
                    switch trip.answer(to: reply) {
                    case .response(let response): return response
                    case .followUp(let next): trip = next
                    }
                }
            } catch {
                store?.close()
                store = nil
                return trip.responseToLostStore("\(error)")
            }
        }
    }
}

/// A blocking connection to the store: write a command, read until its reply is whole.
final class StoreConnection {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let fd: Int32
    private var decoder = RESPDecoder()
    private var input = [UInt8](repeating: 0, count: 16 * 1024)

    init(_ endpoint: Endpoint) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = endpoint.address
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw Failure(description: "cannot connect to the store: errno \(errno)")
        }
        var yes: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
    }

    func close() { Glibc.close(fd) }

    /// Sends `command`, drops `leadingReplies` replies, returns the next.
    func roundTrip(_ command: [UInt8], leadingReplies: Int, keepsArrayEncoded: Bool) throws -> RESPValue {
        guard writeAll(fd, command) else { throw Failure(description: "store write failed: errno \(errno)") }
        var skipped = 0
        while true {
            let keep = keepsArrayEncoded && skipped == leadingReplies
            if let reply = try decoder.next(keepingArraysEncoded: keep) {
                if skipped == leadingReplies { return reply }
                skipped += 1
                continue
            }
            let count = input.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw Failure(description: "store connection closed") }
            input.withUnsafeBytes { decoder.feed(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
    }
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0, errno == EINTR { continue }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }
}
