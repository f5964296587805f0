internal import CLibUV

/// Owns the process's one `uv_loop_t` and the loop-wide services every socket shares:
/// the read slab handed out by the alloc callback, the flush scheduler that turns
/// all writes of one loop turn into one write per socket, the deadline queue, and the
/// queue of deferred work (completions are never delivered inside the caller).
///
/// ```
///   timers ─▶ poll (read callbacks) ─▶ check/close ─▶ prepare: deferred work, then
///                                                      one flush per dirty socket
/// ```
/// Everything here runs on the thread that created the loop; nothing is locked.
package final class Loop {
    let raw: UnsafeMutablePointer<uv_loop_t>
    package let readBuffer: ReadBuffer
    private(set) var scheduler: FlushScheduler!
    package private(set) var deadlines: DeadlineQueue!
    private var isClosed = false
    /// Name lookups started and not yet called back (`NameResolution`).
    var resolutionsInFlight = 0
    /// uv_loop_close refused (a lookup still runs on a resolver thread, which will
    /// write to the loop): its memory is kept, reachable from `abandonedLoops`.
    private var isAbandoned = false
    nonisolated(unsafe) private static var abandonedLoops: [UnsafeMutablePointer<uv_loop_t>] = []

    package init() throws(EventLoopError) {
        raw = .allocate(capacity: 1)
        let rc = uv_loop_init(raw)
        guard rc == 0 else {
            raw.deallocate()
            throw EventLoopError(code: rc, operation: "uv_loop_init")
        }
        readBuffer = ReadBuffer(capacity: 64 * 1024)
        raw.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        scheduler = FlushScheduler(loop: self)
        deadlines = DeadlineQueue(loop: self)
    }

    deinit {
        if !isClosed { _ = close() }
        if !isAbandoned { raw.deallocate() }
    }

    /// Runs until `stop()` or until nothing keeps the loop alive.
    package func run() {
        uv_run(raw, UV_RUN_DEFAULT)
    }

    /// Runs one iteration, waiting for I/O if there is nothing else to do.
    @discardableResult
    package func runOnce(wait: Bool = true) -> Bool {
        uv_run(raw, wait ? UV_RUN_ONCE : UV_RUN_NOWAIT) != 0
    }

    package func stop() { uv_stop(raw) }

    /// Milliseconds of the loop's cached monotonic clock.
    package var nowMs: UInt64 { uv_now(raw) }

    package func updateTime() { uv_update_time(raw) }

    /// Monotonic nanoseconds (not cached), for latency measurement.
    package static var monotonicNanoseconds: UInt64 { uv_hrtime() }

    /// Runs `work` on this loop before it next polls for I/O, never inside the caller.
    package func runSoon(_ work: @escaping () -> Void) {
        scheduler.enqueue(work)
    }

    /// Handles still open (closing ones included), excluding the loop's own services.
    package var liveHandleCount: Int {
        var count = 0
        withUnsafeMutablePointer(to: &count) { counter in
            uv_walk(
                raw,
                { handle, arg in
                    guard let handle, let arg, uv_is_closing(handle) == 0 else { return }
                    arg.assumingMemoryBound(to: Int.self).pointee += 1
                }, counter)
        }
        return count - Loop.serviceHandleCount(raw)
    }

    private static func serviceHandleCount(_ raw: UnsafeMutablePointer<uv_loop_t>) -> Int {
        let loop = Unmanaged<Loop>.fromOpaque(raw.pointee.data).takeUnretainedValue()
        return loop.scheduler.openHandleCount + loop.deadlines.openHandleCount
    }

    /// Closes the loop's services, runs the loop until every close callback has fired,
    /// and closes the loop. Returns how many handles other than the loop's own services
    /// were still open (each is then force-closed): 0 means nothing leaked.
    @discardableResult
    package func close() -> Int {
        guard !isClosed else { return 0 }
        let leaked = liveHandleCount
        scheduler.close()
        deadlines.close()
        uv_walk(
            raw,
            { handle, _ in
                guard let handle, uv_is_closing(handle) == 0 else { return }
                uv_close(handle, nil)  // leaked handle: its owner is gone or forgot to close
            }, nil)
        while uv_run(raw, UV_RUN_NOWAIT) != 0 {
            // A lookup under way on a resolver thread cannot be stopped: once nothing
            // else is left, do not wait (the resolver's timeout) for it.
            if resolutionsInFlight > 0, Self.handleCount(raw) == 0 { break }
        }
        if uv_loop_close(raw) != 0 {
            isAbandoned = true
            Self.abandonedLoops.append(raw)
        }
        isClosed = true
        return leaked
    }

    /// A loop was closed while a name lookup still ran on a resolver thread.
    package static var hasLookupStillRunning: Bool { !abandonedLoops.isEmpty }

    /// Every handle of the loop, closing ones included.
    private static func handleCount(_ raw: UnsafeMutablePointer<uv_loop_t>) -> Int {
        var count = 0
        withUnsafeMutablePointer(to: &count) { counter in
            uv_walk(raw, { _, arg in arg?.assumingMemoryBound(to: Int.self).pointee += 1 }, counter)
        }
        return count
    }

    static func owner(of raw: UnsafeMutablePointer<uv_loop_t>) -> Loop {
        Unmanaged<Loop>.fromOpaque(raw.pointee.data).takeUnretainedValue()
    }
}

/// A libuv call failed; `code` is the negative errno libuv returned.
package struct EventLoopError: Error, CustomStringConvertible, Equatable {
    package let code: Int32
    package let operation: String

    package init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    package var name: String { String(cString: uv_err_name(code)) }
    package var description: String { "\(operation): \(String(cString: uv_strerror(code))) (\(name))" }

    package static let connectionRefused = UV_ECONNREFUSED.rawValue
    package static let endOfFile = UV_EOF.rawValue
    package static let cancelled = UV_ECANCELED.rawValue
}
