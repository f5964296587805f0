internal import CLibUV

/// Something with a deadline: an HTTP connection's read timeout, a store command.
/// The queue keeps `deadlineHeapIndex` current so cancelling is O(log n) with no search.
package protocol DeadlineTarget: AnyObject {
    var deadlineHeapIndex: Int { get set }
    func deadlineDidExpire()
}

/// Every deadline of the loop in one indexed min-heap, driven by a single `uv_timer_t`
/// armed for the earliest one (never one timer per request). Scheduling, moving and
/// cancelling are O(log n); expired targets are removed before they are told, so a
/// target may reschedule itself from `deadlineDidExpire`.
package final class DeadlineQueue {
    private struct Slot {
        var at: UInt64
        var target: any DeadlineTarget
    }

    /// Unowned: the loop owns its deadline queue (a strong reference here kept both alive forever).
    private unowned let loop: Loop
    private let timer: UnsafeMutablePointer<uv_timer_t>
    private var heap: [Slot] = []
    private var armedAt: UInt64 = .max
    private var isOpen = true

    init(loop: Loop) {
        self.loop = loop
        timer = .allocate(capacity: 1)
        uv_timer_init(loop.raw, timer)
        timer.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    var openHandleCount: Int { isOpen ? 1 : 0 }
    package var count: Int { heap.count }

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
            heap.append(Slot(at: atMs, target: target))
            target.deadlineHeapIndex = heap.count - 1
            siftUp(heap.count - 1)
        }
        armIfEarlier()
    }

    /// When `target`'s entry fires; nil when it has none.
    package func scheduledAtMs(of target: any DeadlineTarget) -> UInt64? {
        let index = target.deadlineHeapIndex
        guard index >= 0, index < heap.count, heap[index].target === target else { return nil }
        return heap[index].at
    }

    package func cancel(_ target: any DeadlineTarget) {
        let index = target.deadlineHeapIndex
        guard index >= 0, index < heap.count, heap[index].target === target else { return }
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

    private func armIfEarlier() {
        guard let first = heap.first, first.at < armedAt, isOpen else { return }
        armedAt = first.at
        let now = loop.nowMs
        uv_timer_start(
            timer,
            { handle in
                guard let handle else { return }
                Unmanaged<DeadlineQueue>.fromOpaque(handle.pointee.data).takeUnretainedValue().didFire()
            }, first.at > now ? first.at - now : 0, 0)
    }

    private func didFire() {
        armedAt = .max
        let now = loop.nowMs
        while let first = heap.first, first.at <= now {
            let target = first.target
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
        heap.removeAll()
        uv_close(UnsafeMutableRawPointer(timer).assumingMemoryBound(to: uv_handle_t.self)) { handle in
            handle.map { UnsafeMutableRawPointer($0).deallocate() }
        }
    }
}
