internal import CLibUV

/// The one lifecycle every libuv handle owner follows: the Swift object retains itself
/// while its handle is open (the handle's `data` holds that reference), `close()` is
/// the only way to close, and the close callback frees the handle memory, tells the
/// owner, and drops the self-reference, in that order.
/// Open only because `SocketStream` is (an open class's superclass must be).
open class HandleOwner {
    let handle: UnsafeMutableRawPointer
    package private(set) var isClosed = false

    init(byteCount: Int) {
        handle = .allocate(byteCount: byteCount, alignment: 16)
        handle.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    }

    var rawHandle: UnsafeMutablePointer<uv_handle_t> { handle.assumingMemoryBound(to: uv_handle_t.self) }

    /// Call right after the handle is initialised: from here until its close callback
    /// the handle owns a strong reference to `self`.
    func retainWhileOpen() {
        rawHandle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    package func close() {
        guard !isClosed else { return }
        isClosed = true
        willClose()
        uv_close(rawHandle) { HandleOwner.didCloseHandle($0) }
    }

    /// Closes a TCP handle with an RST: the kernel drops unsent data at once.
    func closeWithReset() {
        guard !isClosed else { return }
        isClosed = true
        willClose()
        if uv_tcp_close_reset(handle.assumingMemoryBound(to: uv_tcp_t.self), { HandleOwner.didCloseHandle($0) }) != 0 {
            uv_close(rawHandle) { HandleOwner.didCloseHandle($0) }
        }
    }

    private static func didCloseHandle(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
        guard let handle else { return }
        let owner = Unmanaged<HandleOwner>.fromOpaque(handle.pointee.data)
        owner.takeUnretainedValue().didClose()
        UnsafeMutableRawPointer(handle).deallocate()
        owner.release()
    }

    /// Subclasses stop timers or reads and drop pending work here.
    func willClose() {}
    /// Subclasses tell their delegate here; the handle memory is freed right after.
    func didClose() {}

    static func owner<T: HandleOwner>(_ type: T.Type, of handle: UnsafeMutableRawPointer?) -> T {
        let data = handle!.assumingMemoryBound(to: uv_handle_t.self).pointee.data!
        return Unmanaged<T>.fromOpaque(data).takeUnretainedValue()
    }
}

/// A one-shot or repeating `uv_timer_t` calling a closure; for rare timers (reconnect
/// backoff, shutdown grace). Per-request deadlines go through `DeadlineQueue` instead.
package final class Timer: HandleOwner {
    private var handler: (() -> Void)?

    package init(loop: Loop) {
        super.init(byteCount: MemoryLayout<uv_timer_t>.size)
        uv_timer_init(loop.raw, handle.assumingMemoryBound(to: uv_timer_t.self))
        retainWhileOpen()
    }

    package func start(afterMs: UInt64, repeatMs: UInt64 = 0, _ handler: @escaping () -> Void) {
        guard !isClosed else { return }
        self.handler = handler
        uv_timer_start(
            handle.assumingMemoryBound(to: uv_timer_t.self),
            { timer in
                HandleOwner.owner(Timer.self, of: timer).handler?()
            }, afterMs, repeatMs)
    }

    package func stop() {
        guard !isClosed else { return }
        uv_timer_stop(handle.assumingMemoryBound(to: uv_timer_t.self))
        handler = nil
    }

    /// A timer that does not keep the loop alive on its own.
    package func unref() { uv_unref(rawHandle) }

    override func willClose() { handler = nil }
}

/// Watches one signal (SIGTERM, SIGINT) on the loop thread through `uv_signal_t`.
package final class SignalWatcher: HandleOwner {
    private var handler: ((Int32) -> Void)?

    package init(loop: Loop, signal: Int32, _ handler: @escaping (Int32) -> Void) throws(EventLoopError) {
        self.handler = handler
        super.init(byteCount: MemoryLayout<uv_signal_t>.size)
        let signalHandle = handle.assumingMemoryBound(to: uv_signal_t.self)
        uv_signal_init(loop.raw, signalHandle)
        retainWhileOpen()
        let rc = uv_signal_start(
            signalHandle,
            { handle, signum in
                HandleOwner.owner(SignalWatcher.self, of: handle).handler?(signum)
            }, signal)
        guard rc == 0 else {
            close()
            throw EventLoopError(code: rc, operation: "uv_signal_start")
        }
    }

    package func unref() { uv_unref(rawHandle) }

    override func willClose() { handler = nil }
}

/// The only thing another thread may touch: `wake()` makes the loop thread run the
/// handler (used by tests and by shutdown to stop a loop from outside).
package final class LoopWakeup: HandleOwner, @unchecked Sendable {
    private var handler: (() -> Void)?

    package init(loop: Loop, _ handler: @escaping () -> Void) {
        self.handler = handler
        super.init(byteCount: MemoryLayout<uv_async_t>.size)
        uv_async_init(loop.raw, handle.assumingMemoryBound(to: uv_async_t.self)) { async in
            HandleOwner.owner(LoopWakeup.self, of: async).handler?()
        }
        retainWhileOpen()
    }

    /// Thread-safe (uv_async_send); must not be called after the loop closed the handle.
    package func wake() {
        uv_async_send(handle.assumingMemoryBound(to: uv_async_t.self))
    }

    override func willClose() { handler = nil }
}
