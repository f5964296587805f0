internal import CLibUV

/// Runs once per loop turn, just before the loop polls (a `uv_prepare_t`): first the
/// deferred work queued with `Loop.runSoon`, then one flush per socket that was
/// written to during the turn. This is what coalesces many responses or commands
/// into one write per socket. When deferred work keeps producing more, an idle handle
/// keeps the next poll from sleeping so the rest runs on the next turn.
final class FlushScheduler {
    private let prepare: UnsafeMutablePointer<uv_prepare_t>
    private let idle: UnsafeMutablePointer<uv_idle_t>
    private var deferred: [() -> Void] = []
    private var dirty: [SocketStream] = []
    /// Emptied output buffers that kept their storage, lent to the next streams written
    /// to (at most `maxSpareBuffers`, each under `maxSpareCapacity` bytes).
    private var spareBuffers: [[UInt8]] = []
    private static let maxSpareBuffers = 64
    private static let maxSpareCapacity = 16 * 1024
    private var isOpen = true
    private static let maxRoundsPerTurn = 16

    init(loop: Loop) {
        prepare = .allocate(capacity: 1)
        idle = .allocate(capacity: 1)
        uv_prepare_init(loop.raw, prepare)
        uv_idle_init(loop.raw, idle)
        prepare.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_prepare_start(prepare) { handle in
            guard let handle else { return }
            Unmanaged<FlushScheduler>.fromOpaque(handle.pointee.data).takeUnretainedValue().didPrepare()
        }
        uv_unref(UnsafeMutableRawPointer(prepare).assumingMemoryBound(to: uv_handle_t.self))
    }

    var openHandleCount: Int { isOpen ? 2 : 0 }  // the prepare and the idle handle

    func enqueue(_ work: @escaping () -> Void) {
        deferred.append(work)
    }

    func markDirty(_ stream: SocketStream) {
        dirty.append(stream)
    }

    /// An empty buffer: a spare with room from earlier writes, or a new one that grows to
    /// what is written. New ones reserve nothing: when thousands of connections answer in
    /// one turn, each would otherwise hold a reserved block until the flush.
    func takeSpareBuffer() -> [UInt8] {
        spareBuffers.popLast() ?? []
    }

    /// Takes `buffer`'s storage (leaving it empty, with none) to lend again, unless the
    /// spares are full or it grew large.
    func giveBackBuffer(_ buffer: inout [UInt8]) {
        guard spareBuffers.count < Self.maxSpareBuffers, buffer.capacity <= Self.maxSpareCapacity else {
            buffer = []
            return
        }
        buffer.removeAll(keepingCapacity: true)
        spareBuffers.append(buffer)
        buffer = []
    }

    private func didPrepare() {
        var rounds = 0
        while rounds < Self.maxRoundsPerTurn, !(deferred.isEmpty && dirty.isEmpty) {
            rounds += 1
            runDeferred()
            flushDirty()
        }
        if deferred.isEmpty {
            uv_idle_stop(idle)
        } else {
            uv_idle_start(idle) { _ in }
        }
    }

    private func runDeferred() {
        guard !deferred.isEmpty else { return }
        let batch = deferred
        deferred.removeAll(keepingCapacity: true)
        for work in batch { work() }
    }

    private func flushDirty() {
        guard !dirty.isEmpty else { return }
        let batch = dirty
        dirty.removeAll(keepingCapacity: true)
        for stream in batch { stream.flush() }
    }

    func close() {
        guard isOpen else { return }
        isOpen = false
        deferred.removeAll()
        dirty.removeAll()
        spareBuffers.removeAll()
        let prepare = self.prepare
        let idle = self.idle
        uv_close(UnsafeMutableRawPointer(prepare).assumingMemoryBound(to: uv_handle_t.self)) { handle in
            handle.map { UnsafeMutableRawPointer($0).deallocate() }
        }
        uv_close(UnsafeMutableRawPointer(idle).assumingMemoryBound(to: uv_handle_t.self)) { handle in
            handle.map { UnsafeMutableRawPointer($0).deallocate() }
        }
    }
}
