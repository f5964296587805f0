package import EventLoop

/// A cluster node's "not here, not now" error replies. Each means the command was not
/// executed, so sending it again is safe whatever it does:
/// `MOVED <slot> <host>:<port>` (the slot lives there now: update the map),
/// `ASK <slot> <host>:<port>` (this one key is being migrated: send ASKING + the
/// command there, once, map unchanged), `TRYAGAIN` (a multi-key command during a
/// migration) and `CLUSTERDOWN` (the cluster cannot serve the slot yet).
package enum Redirect: Equatable, Sendable {
    case moved(slot: Int, to: SocketAddress)
    case ask(slot: Int, to: SocketAddress)
    case tryAgain
    case clusterDown

    package init?(error message: String) {
        if message.hasPrefix("TRYAGAIN") {
            self = .tryAgain
            return
        }
        if message.hasPrefix("CLUSTERDOWN") {
            self = .clusterDown
            return
        }
        let isMoved = message.hasPrefix("MOVED ")
        guard isMoved || message.hasPrefix("ASK ") else { return nil }
        let parts = message.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), (0..<HashSlot.count).contains(slot),
            let colon = parts[2].lastIndex(of: ":"), let port = UInt16(parts[2][parts[2].index(after: colon)...])
        else { return nil }
        var host = String(parts[2][..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        let address = SocketAddress.inet(host: host, port: port)
        self = isMoved ? .moved(slot: slot, to: address) : .ask(slot: slot, to: address)
    }
}
