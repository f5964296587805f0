package import EventLoop
package import RESP

/// One shard as CLUSTER SLOTS describes it: a slot range, its master and its replicas.
package struct SlotRange: Equatable, Sendable {
    package var start: Int
    package var end: Int
    package var master: SocketAddress
    package var replicas: [SocketAddress]
}

/// The cluster's layout from one CLUSTER SLOTS reply: the ranges, and for each of the
/// 16,384 slots the index of its range (or none: uncovered). Pure; the router turns
/// addresses into nodes.
package struct SlotMap: Equatable, Sendable {
    package private(set) var ranges: [SlotRange] = []
    /// The host name a node announces (`cluster-announce-hostname`, Redis 7), by
    /// address: the name its TLS certificate is checked against.
    package private(set) var hostnames: [String: String] = [:]
    /// Range index per slot; -1 = no node serves it.
    private var rangeOfSlot = [Int16](repeating: -1, count: HashSlot.count)

    package init() {}

    package init(ranges: [SlotRange]) {
        self.ranges = ranges
        for (index, range) in ranges.enumerated() {
            for slot in range.start...range.end { rangeOfSlot[slot] = Int16(index) }
        }
    }

    /// Parses a CLUSTER SLOTS reply. An empty host (a node that does not know its own
    /// address) means the node that was asked. A node entry's fourth element (Redis 7:
    /// key-value pairs, a map over RESP3) may name its `hostname`.
    package init(clusterSlots reply: RESPValue, askedNode: SocketAddress) throws(StoreError) {
        guard let entries = reply.array else {
            throw StoreError(.protocolError, "CLUSTER SLOTS: expected an array")
        }
        var ranges: [SlotRange] = []
        var hostnames: [String: String] = [:]
        for entry in entries {
            guard let parts = entry.array, parts.count >= 3, let start = parts[0].int, let end = parts[1].int,
                0 <= start, start <= end, end < HashSlot.count
            else { throw StoreError(.protocolError, "CLUSTER SLOTS: bad range entry") }
            var addresses: [SocketAddress] = []
            for node in parts[2...] {
                guard let fields = node.array, fields.count >= 2, let host = fields[0].string, let port = fields[1].int,
                    let port16 = UInt16(exactly: port)
                else { throw StoreError(.protocolError, "CLUSTER SLOTS: bad node entry") }
                let address: SocketAddress
                if host.isEmpty || host == "?" {
                    guard case .inet(let askedHost, _) = askedNode else { continue }
                    address = .inet(host: askedHost, port: port16)
                } else {
                    address = .inet(host: host, port: port16)
                }
                addresses.append(address)
                if fields.count >= 4, let hostname = Self.announcedHostname(fields[3]) {
                    hostnames[address.description] = hostname
                }
            }
            guard let master = addresses.first else { continue }
            ranges.append(
                SlotRange(start: Int(start), end: Int(end), master: master, replicas: Array(addresses.dropFirst())))
        }
        self.init(ranges: ranges.sorted { $0.start < $1.start })
        self.hostnames = hostnames
    }

    private static func announcedHostname(_ metadata: RESPValue) -> String? {
        var pairs: [(RESPValue, RESPValue)] = []
        if case .map(let entries) = metadata {
            pairs = entries.map { ($0.key, $0.value) }
        } else if let flat = metadata.array {
            pairs = stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0], flat[$0 + 1]) }
        }
        guard let hostname = pairs.first(where: { $0.0.string == "hostname" })?.1.string, !hostname.isEmpty
        else { return nil }
        return hostname
    }

    package func range(ofSlot slot: Int) -> SlotRange? {
        let index = rangeOfSlot[slot]
        return index < 0 ? nil : ranges[Int(index)]
    }

    package func rangeIndex(ofSlot slot: Int) -> Int? {
        let index = rangeOfSlot[slot]
        return index < 0 ? nil : Int(index)
    }

    /// Slots no range covers.
    package var uncoveredSlots: Int { rangeOfSlot.reduce(0) { $0 + ($1 < 0 ? 1 : 0) } }

    /// Every address in the map, masters first.
    package var addresses: [SocketAddress] {
        var seen = Set<String>()
        var out: [SocketAddress] = []
        for address in ranges.map(\.master) + ranges.flatMap(\.replicas) where seen.insert(address.description).inserted
        {
            out.append(address)
        }
        return out
    }

    /// A MOVED reply: `slot` is now `master`'s; the rest of its old range is unchanged
    /// until the next refresh.
    package mutating func move(slot: Int, to master: SocketAddress) {
        if let current = range(ofSlot: slot), current.master == master { return }
        if let index = ranges.firstIndex(where: { $0.start == slot && $0.end == slot }) {
            ranges[index].master = master
            ranges[index].replicas = []
            return
        }
        ranges.append(SlotRange(start: slot, end: slot, master: master, replicas: []))
        rangeOfSlot[slot] = Int16(ranges.count - 1)
    }
}
