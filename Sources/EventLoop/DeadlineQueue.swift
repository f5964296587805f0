internal import CLibUV

/// Something with a deadline: an HTTP connection's read timeout, a store command.
/// The queue keeps `deadlineHeapIndex` current so cancelling is O(log n) with no search.
package protocol DeadlineTarget: AnyObject {
    var deadlineHeapIndex: Int { get set }
    func deadlineDidExpire()
}

/// Every deadline of the loop, driven by a single `uv_timer_t` armed for the earliest
/// one (never one timer per request). The timer only marks expiry due: deadlines are
/// judged after that turn's poll for I/O (a `uv_check_t`; an idle handle keeps the poll
/// from sleeping), so a reply or request already waiting in a socket's buffer is read
/// before its deadline is. A turn that ran long (a loaded host) would otherwise time
/// out commands whose replies had arrived, and close their connections as stalled. A deadline no earlier than the last one queued in
/// one of a few first-in first-out lanes joins that lane at O(1) — the common case: one
/// kind of timeout (a store command's, a connection's keep-alive) from a clock that only
/// moves forward keeps a lane in deadline order — and cancelling one there only empties
/// its slot. Any other deadline goes into an indexed min-heap (O(log n)). Expired
/// targets are removed before they are told, so a target may reschedule itself from
/// `deadlineDidExpire`. A target's `deadlineHeapIndex` is its heap index (≥ 0), or
/// `-2 - (n * laneLimit + lane)` for a lane's n-th entry ever, or -1 when it has none.
package final class DeadlineQueue {
    private struct Slot {
        var at: UInt64
        var target: any DeadlineTarget
    }

    /// Deadlines in non-decreasing order: `slots[head...]`, the first one live (a
    /// cancelled slot's target is nil); `slots[i]` is entry number `base + i`.
    private struct Lane {
        var slots: [(at: UInt64, target: (any DeadlineTarget)?)] = []
        var head = 0
        var base = 0
        var live = 0

        var isEmpty: Bool { head == slots.count }
        /// Whether `at` keeps this lane in order (an empty lane takes anything).
        func accepts(_ at: UInt64) -> Bool { isEmpty || slots[slots.count - 1].at <= at }

        /// Empties the slot, then drops empty slots from the front (and the storage they
        /// held once it is at least half of it).
        mutating func remove(at position: Int) {
            slots[position].target = nil
            live -= 1
            while head < slots.count, slots[head].target == nil { head += 1 }
            if head == slots.count {
                base += slots.count
                slots.removeAll(keepingCapacity: slots.count <= 1024)
                head = 0
            } else if head >= 64, head * 2 >= slots.count {
                slots.removeFirst(head)
                base += head
                head = 0
            }
        }
    }

    private static let laneLimit = 4

    /// Unowned: the loop owns its deadline queue (a strong reference here kept both alive forever).
    private unowned let loop: Loop
    private let timer: UnsafeMutablePointer<uv_timer_t>
    private let afterPoll: UnsafeMutablePointer<uv_check_t>
    private let keepPolling: UnsafeMutablePointer<uv_idle_t>
    private var expiryPending = false
    private var heap: [Slot] = []
    private var lanes: [Lane] = []
    private var liveLaneCount = 0
    private var armedAt: UInt64 = .max
    private var isOpen = true

    init(loop: Loop) {
        self.loop = loop
        timer = .allocate(capacity: 1)
        afterPoll = .allocate(capacity: 1)
        keepPolling = .allocate(capacity: 1)
        uv_timer_init(loop.raw, timer)
        timer.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_check_init(loop.raw, afterPoll)
        afterPoll.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_idle_init(loop.raw, keepPolling)
    }

    var openHandleCount: Int { isOpen ? 3 : 0 }  // the timer, the check and the idle handle
    package var count: Int { heap.count + liveLaneCount }

    /// Schedules (or moves) `target` to fire `afterMs` from the loop's current time.
    package func schedule(_ target: any DeadlineTarget, afterMs: UInt64) {
        schedule(target, atMs: loop.nowMs &+ afterMs)
    }

    package func schedule(_ target: any DeadlineTarget, atMs: UInt64) {
        let index = target.deadlineHeapIndex
        if index >= 0, index < heap.count, heap[index].target === target {
            let earlier = atMs < heap[index].at
            heap[index].at = atMs
            if earlier { siftUp(index) } else { siftDown(index) }
        } else {
            if let (lane, position) = laneEntry(of: target) {
                if lanes[lane].slots[position].at == atMs { return }
                removeFromLane(lane, position, target)
            }
            if let lane = laneAccepting(atMs) {
                lanes[lane].slots.append((atMs, target))
                lanes[lane].live += 1
                liveLaneCount += 1
                let entry = lanes[lane].base + lanes[lane].slots.count - 1
                target.deadlineHeapIndex = -2 - (entry * Self.laneLimit + lane)
            } else {
                heap.append(Slot(at: atMs, target: target))
                target.deadlineHeapIndex = heap.count - 1
                siftUp(heap.count - 1)
            }
        }
        armIfEarlier()
    }

    /// The lane whose last deadline is the latest not after `at`; else an empty one.
    private func laneAccepting(_ at: UInt64) -> Int? {
        var best: Int?
        var bestLast: UInt64 = 0
        var empty: Int?
        for lane in lanes.indices {
            if lanes[lane].isEmpty {
                if empty == nil { empty = lane }
            } else if lanes[lane].accepts(at) {
                let last = lanes[lane].slots[lanes[lane].slots.count - 1].at
                if best == nil || last > bestLast {
                    best = lane
                    bestLast = last
                }
            }
        }
        if let best { return best }
        if let empty { return empty }
        guard lanes.count < Self.laneLimit else { return nil }
        lanes.append(Lane())
        return lanes.count - 1
    }

    /// When `target`'s entry fires; nil when it has none.
    package func scheduledAtMs(of target: any DeadlineTarget) -> UInt64? {
        let index = target.deadlineHeapIndex
        if index >= 0, index < heap.count, heap[index].target === target { return heap[index].at }
        return laneEntry(of: target).map { lanes[$0.lane].slots[$0.position].at }
    }

    package func cancel(_ target: any DeadlineTarget) {
        let index = target.deadlineHeapIndex
        guard index >= 0 else {
            if let (lane, position) = laneEntry(of: target) { removeFromLane(lane, position, target) }
            return
        }
        guard index < heap.count, heap[index].target === target else { return }
        target.deadlineHeapIndex = -1
        let last = heap.count - 1
        if index != last {
            heap.swapAt(index, last)
            heap[index].target.deadlineHeapIndex = index
        }
        heap.removeLast()
        if index < heap.count {
            siftDown(index)
            siftUp(index)
        }
    }

    private func laneEntry(of target: any DeadlineTarget) -> (lane: Int, position: Int)? {
        let index = target.deadlineHeapIndex
        guard index <= -2 else { return nil }
        let code = -2 - index
        let lane = code % Self.laneLimit
        guard lane < lanes.count else { return nil }
        let position = code / Self.laneLimit - lanes[lane].base
        guard position >= lanes[lane].head, position < lanes[lane].slots.count,
            lanes[lane].slots[position].target === target
        else { return nil }
        return (lane, position)
    }

    private func removeFromLane(_ lane: Int, _ position: Int, _ target: any DeadlineTarget) {
        target.deadlineHeapIndex = -1
        lanes[lane].remove(at: position)
        liveLaneCount -= 1
    }

    /// When the earliest entry of the heap and the lanes falls.
    private var earliestAt: UInt64? {
        var earliest = heap.first?.at
        for lane in lanes.indices where !lanes[lane].isEmpty {
            let at = lanes[lane].slots[lanes[lane].head].at
            if earliest.map({ at < $0 }) ?? true { earliest = at }
        }
        return earliest
    }

    /// The target whose deadline is the earliest, if it is due by `now`.
    private func firstDue(_ now: UInt64) -> (any DeadlineTarget)? {
        var due: (any DeadlineTarget)?
        var dueAt = now
        if let first = heap.first, first.at <= dueAt {
            due = first.target
            dueAt = first.at
        }
        for lane in lanes.indices where !lanes[lane].isEmpty {
            let front = lanes[lane].slots[lanes[lane].head]
            if front.at <= dueAt, due == nil || front.at < dueAt {
                due = front.target
                dueAt = front.at
            }
        }
        return due
    }

    private func armIfEarlier() {
        guard let first = earliestAt, first < armedAt, isOpen else { return }
        armedAt = first
        let now = loop.nowMs
        uv_timer_start(
            timer,
            { handle in
                guard let handle else { return }
                Unmanaged<DeadlineQueue>.fromOpaque(handle.pointee.data).takeUnretainedValue().didFire()
            }, first > now ? first - now : 0, 0)
    }

    private func didFire() {
        armedAt = .max
        guard !expiryPending, isOpen else { return }
        expiryPending = true
        uv_idle_start(keepPolling) { _ in }
        uv_check_start(afterPoll) { handle in
            guard let handle else { return }
            Unmanaged<DeadlineQueue>.fromOpaque(handle.pointee.data).takeUnretainedValue().expireDue()
        }
    }

    private func expireDue() {
        expiryPending = false
        uv_check_stop(afterPoll)
        uv_idle_stop(keepPolling)
        let now = loop.nowMs
        while let target = firstDue(now) {
            cancel(target)
            target.deadlineDidExpire()
        }
        armIfEarlier()
    }

    private func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].at < heap[parent].at else { break }
            swapSlots(child, parent)
            child = parent
        }
    }

    private func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].at < heap[smallest].at { smallest = left }
            if right < heap.count, heap[right].at < heap[smallest].at { smallest = right }
            guard smallest != parent else { return }
            swapSlots(parent, smallest)
            parent = smallest
        }
    }

    private func swapSlots(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].target.deadlineHeapIndex = a
        heap[b].target.deadlineHeapIndex = b
    }

    func close() {
        guard isOpen else { return }
        isOpen = false
        for slot in heap { slot.target.deadlineHeapIndex = -1 }
        for lane in lanes { for slot in lane.slots { slot.target?.deadlineHeapIndex = -1 } }
        heap.removeAll()
        lanes.removeAll()
        liveLaneCount = 0
        for handle in [
            UnsafeMutableRawPointer(timer), UnsafeMutableRawPointer(afterPoll), UnsafeMutableRawPointer(keepPolling),
        ] {
            uv_close(handle.assumingMemoryBound(to: uv_handle_t.self)) { handle in
                handle.map { UnsafeMutableRawPointer($0).deallocate() }
            }
        }
    }
}
