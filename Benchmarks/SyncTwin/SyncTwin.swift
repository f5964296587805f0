internal import HTTP

#if canImport(Glibc)
internal import Glibc
#endif

/// `SyncTwin --listen HOST:PORT --store HOST:PORT` (its own executable, never in the
/// image): storegate's record GET and PUT served the classic way, for
/// scripts/bench/sync-vs-async.sh and docs/sync-vs-async.md. The main thread blocks in
/// `accept`; each client connection gets its own OS thread (default pthread stack) and
/// that thread opens its own blocking store connection, so no lock is ever taken on the
/// request path. The HTTP parser, the response serialiser and the record handlers are
/// the gateway's (`RequestParser`, `ResponseSerializer`, `RecordExchange`); anything
/// else is answered 404.
enum SyncTwin {
    static func run(_ arguments: [String]) -> Int32 {
        var options = ["--listen": "127.0.0.1:8081", "--store": "127.0.0.1:6379"]
        var index = 0
        while index + 1 < arguments.count, options[arguments[index]] != nil {
            options[arguments[index]] = arguments[index + 1]
            index += 2
        }
        guard index == arguments.count, let listen = Endpoint(options["--listen"]!),
            let store = Endpoint(options["--store"]!)
        else {
            print("usage: SyncTwin [--listen HOST:PORT] [--store HOST:PORT]")
            return 2
        }
        signal(SIGPIPE, SIG_IGN)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = listen.address
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(listener, 4096) == 0 else {
            print("SyncTwin: cannot listen on \(options["--listen"]!): errno \(errno)")
            return 1
        }
        print("SyncTwin listening on \(options["--listen"]!), store \(options["--store"]!)")
        fflush(nil)
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE { continue }
                return 1
            }
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            startThread(ClientThread(client: client, store: store))
        }
    }

    /// One detached pthread running `thread.serve()`; it owns the retain passed in.
    private static func startThread(_ thread: ClientThread) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var id = pthread_t()
        let context = Unmanaged.passRetained(thread).toOpaque()
        let started = pthread_create(
            &id, &attributes,
            { context in
                Unmanaged<ClientThread>.fromOpaque(context!).takeRetainedValue().serve()
                return nil
            }, context)
        pthread_attr_destroy(&attributes)
        if started != 0 {
            Unmanaged<ClientThread>.fromOpaque(context).release()
            close(thread.client)
        }
    }
}

/// An IPv4 `HOST:PORT`.
struct Endpoint: Sendable {
    let address: sockaddr_in

    init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, String(parts[0]), &address.sin_addr) == 1 else { return nil }
        self.address = address
    }
}
