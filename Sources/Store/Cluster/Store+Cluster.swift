/// What `/v1/cluster`, `/readyz` and scan need to know of the cluster.
extension Store {
    /// Slots no live master serves (all of them before the first topology in cluster
    /// mode; always 0 for a single node).
    package var uncoveredSlots: Int {
        guard isCluster else { return 0 }
        var uncovered = 0
        var covered = [Bool](repeating: false, count: HashSlot.count)
        for node in nodes where node.role == .master && node.isUp {
            for range in node.slotRanges { for slot in range { covered[slot] = true } }
        }
        for flag in covered where !flag { uncovered += 1 }
        return uncovered
    }

    /// Each master's lowest slot, ascending: the order in which scan visits masters.
    package var scanAnchors: [Int] {
        nodes.filter { $0.role == .master }.compactMap { $0.slotRanges.map(\.lowerBound).min() }.sorted()
    }
}
