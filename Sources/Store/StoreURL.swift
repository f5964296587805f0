package import EventLoop

/// A parsed `--store` value: `redis://[user:password@]host[:port][/db]`,
/// `unix:///path/to/socket[?db=N]`, or `redis+cluster://h1:p1,h2:p2` (seed list);
/// `rediss://` and `rediss+cluster://` are the same over TLS (`secure`).
/// Passwords are never part of `description`.
package struct StoreURL: Equatable, Sendable, CustomStringConvertible {
    package enum Target: Equatable, Sendable {
        case single(SocketAddress)
        case cluster([SocketAddress])
    }

    package var target: Target
    package var user: String?
    package var password: String?
    package var database = 0
    /// Every connection speaks TLS (docs/tls.md).
    package var secure = false

    package init(
        target: Target, user: String? = nil, password: String? = nil, database: Int = 0, secure: Bool = false
    ) {
        self.target = target
        self.secure = secure
        self.user = user
        self.password = password
        self.database = database
    }

    package init(parsing text: String) throws(StoreError) {
        if text.hasPrefix("unix://") {
            var path = Substring(text.dropFirst("unix://".count))
            var database = 0
            if let mark = path.firstIndex(of: "?") {
                let query = path[path.index(after: mark)...]
                path = path[..<mark]
                for pair in query.split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[0] == "db", let number = Int(parts[1]), number >= 0 else {
                        throw StoreError(.invalidConfiguration, "unix store URL: unknown parameter '\(pair)'")
                    }
                    database = number
                }
            }
            guard path.hasPrefix("/") else {
                throw StoreError(.invalidConfiguration, "unix store URL needs an absolute path: unix:///path")
            }
            self.init(target: .single(.unix(path: String(path))), database: database)
            return
        }
        let secure = text.hasPrefix("rediss://") || text.hasPrefix("rediss+cluster://")
        let isCluster = text.hasPrefix("redis+cluster://") || text.hasPrefix("rediss+cluster://")
        guard isCluster || secure || text.hasPrefix("redis://") else {
            throw StoreError(
                .invalidConfiguration,
                "store URL must start with redis://, rediss://, redis+cluster://, rediss+cluster:// or unix://")
        }
        var rest = Substring(text.drop { $0 != "/" }.dropFirst(2))
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = credentials[..<colon].isEmpty ? nil : percentDecode(credentials[..<colon])
                password = percentDecode(credentials[credentials.index(after: colon)...])
            } else {
                password = percentDecode(credentials)
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let dbText = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !dbText.isEmpty {
                guard let number = Int(dbText), number >= 0 else {
                    throw StoreError(.invalidConfiguration, "store URL: database must be a number, got '\(dbText)'")
                }
                database = number
            }
        }
        var addresses: [SocketAddress] = []
        for hostPort in rest.split(separator: ",") {
            let withPort = hostPort.contains(":") && !hostPort.hasSuffix("]") ? String(hostPort) : "\(hostPort):6379"
            guard let address = SocketAddress(parsing: withPort) else {
                throw StoreError(.invalidConfiguration, "store URL: bad host:port '\(hostPort)'")
            }
            addresses.append(address)
        }
        guard !addresses.isEmpty else { throw StoreError(.invalidConfiguration, "store URL has no host") }
        guard isCluster || addresses.count == 1 else {
            throw StoreError(.invalidConfiguration, "several hosts need redis+cluster:// or rediss+cluster://")
        }
        self.init(
            target: isCluster ? .cluster(addresses) : .single(addresses[0]), user: user, password: password,
            database: database, secure: secure)
    }

    private var scheme: String { secure ? "rediss" : "redis" }

    /// The URL with any password replaced by `***`.
    package var description: String {
        let credentials =
            switch (user, password) {
            case (nil, nil): ""
            case (let user?, nil): "\(user)@"
            case (let user, _?): "\(user ?? ""):***@"
            }
        switch target {
        case .single(.unix(let path)):
            return "unix://\(path)" + (database == 0 ? "" : "?db=\(database)")
        case .single(let address):
            return "\(scheme)://\(credentials)\(address)" + (database == 0 ? "" : "/\(database)")
        case .cluster(let seeds):
            return "\(scheme)+cluster://\(credentials)" + seeds.map(\.description).joined(separator: ",")
        }
    }
}

private func percentDecode(_ text: Substring) -> String {
    var bytes: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let byte = iterator.next() {
        if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
            let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
        {
            bytes.append(value)
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
