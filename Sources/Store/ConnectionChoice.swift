/// What a node knows of one of its connections when it places a command.
struct ConnectionLoad: Equatable {
    var isReady: Bool
    /// Commands on the wire.
    var depth: Int
    /// WAITs among them (each blocks the connection in the store until it returns).
    var waitsInFlight: Int
}

/// Where a node sends a command and when it opens another connection, decided from the
/// connections' loads alone (no sockets), so every case is a table row
/// (ConnectionChoiceTests).
enum ConnectionChoice {
    /// A command without WAIT goes to the first ready connection, free of WAIT, that is
    /// below half of `maxDepth`: commands are packed onto one connection while it has
    /// room, so the store reads them in big batches (spreading them over every
    /// connection halved the batches and cost redis a quarter more CPU per command,
    /// docs/performance.md). Past that, the least-loaded ready connection under
    /// `maxDepth`. A command without WAIT avoids connections with a WAIT in flight: it
    /// waits for a new connection instead, and takes the least-loaded of those only
    /// when the node may open no more
    /// (`connections.count >= maxConnections`). A command with WAIT at that cap keeps
    /// the last WAIT-free connection for the others: it goes behind another WAIT when one
    /// has room (WAITs of one connection run one after another in the store anyway).
    /// nil: queue the command.
    @inline(__always)
    static func pick<Connections: RandomAccessCollection>(
        _ connections: Connections, load: (Connections.Element) -> ConnectionLoad, commandWaits: Bool,
        maxDepth: Int, maxConnections: Int
    ) -> Connections.Index? {
        var best: Connections.Index?
        var bestDepth = Int.max
        var blocked: Connections.Index?
        var blockedDepth = Int.max
        var waitFree = 0
        let halfway = halfway(of: maxDepth)
        var index = connections.startIndex
        while index != connections.endIndex {
            let current = load(connections[index])
            if !commandWaits, current.isReady, current.waitsInFlight == 0, current.depth < halfway { return index }
            if current.waitsInFlight == 0 { waitFree += 1 }
            if current.isReady, current.depth < maxDepth {
                if current.waitsInFlight > 0, current.depth < blockedDepth {
                    (blocked, blockedDepth) = (index, current.depth)
                }
                if commandWaits || current.waitsInFlight == 0, current.depth < bestDepth {
                    (best, bestDepth) = (index, current.depth)
                }
            }
            connections.formIndex(after: &index)
        }
        let atCap = connections.count >= maxConnections
        if commandWaits {
            guard atCap, waitFree <= 1, maxConnections > 1, let blocked else { return best }
            return blocked
        }
        guard best == nil, let blocked else { return best }
        return atCap ? blocked : nil
    }

    /// After a send: open one more connection when every open one is at least half way
    /// to `maxDepth`, or, after a WAIT was sent (`sentWait`), when none is left free of
    /// WAIT. The node's state machine still decides whether one may be opened.
    @inline(__always)
    static func shouldGrow<Connections: Collection>(
        _ connections: Connections, load: (Connections.Element) -> ConnectionLoad, sentWait: Bool, maxDepth: Int
    ) -> Bool {
        let halfway = halfway(of: maxDepth)
        let busy = connections.allSatisfy { load($0).depth >= halfway }
        let blocked = sentWait && connections.allSatisfy { load($0).waitsInFlight > 0 }
        return busy || blocked
    }

    /// Half of a connection's depth cap (at least 1): where packing stops and growing starts.
    @inline(__always)
    private static func halfway(of maxDepth: Int) -> Int { max(maxDepth / 2, 1) }
}
