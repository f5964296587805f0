internal import EventLoop
internal import HTTP
internal import Store

#if canImport(Glibc)
internal import Glibc
#endif

/// SIGTERM / SIGINT: stop accepting, let requests in progress finish within the
/// grace period, close everything, and let the loop end so the process exits 0.
final class Shutdown {
    private let loop: Loop
    private let server: HTTPServer
    private let store: Store
    private let graceMs: UInt64
    private var watchers: [SignalWatcher] = []
    private var parentWatch: EventLoop.Timer?
    private var started = false
    private(set) var exitCode: Int32 = 0

    private let onFinish: () -> Void

    init(loop: Loop, server: HTTPServer, store: Store, graceMs: UInt64, onFinish: @escaping () -> Void) {
        self.loop = loop
        self.server = server
        self.store = store
        self.graceMs = graceMs
        self.onFinish = onFinish
    }

    func install() throws {
        for signum in [SIGTERM, SIGINT] {
            let watcher = try SignalWatcher(loop: loop, signal: signum) { [weak self] signum in
                Log.info("draining", [("signal", String(signum))])
                self?.begin(exitCode: 0)
            }
            watcher.unref()
            watchers.append(watcher)
        }
    }

    /// For a `--workers` child: once its supervisor is gone (SIGKILLed, so it could not
    /// forward a SIGTERM), the worker drains instead of holding the port as an orphan.
    /// Checked once a second against the pid the supervisor passed down (not this
    /// process's first parent: the supervisor may already be gone by then); the timer
    /// does not keep the loop alive.
    func drainWhenOrphaned(supervisorPID: pid_t?) {
        let supervisor = supervisorPID ?? getppid()
        let timer = EventLoop.Timer(loop: loop)
        timer.unref()
        timer.start(afterMs: 1000, repeatMs: 1000) { [weak self] in
            guard getppid() != supervisor else { return }
            Log.error("supervisor \(supervisor) is gone; draining")
            self?.begin(exitCode: 0)
        }
        parentWatch = timer
    }

    /// Drains the HTTP server, then closes the store and lets the loop end.
    func begin(exitCode: Int32) {
        guard !started else { return }
        started = true
        self.exitCode = exitCode
        server.drain(graceMs: graceMs) { [weak self] in
            self?.finish()
        }
    }

    private func finish() {
        for watcher in watchers { watcher.close() }
        watchers = []
        parentWatch?.close()
        parentWatch = nil
        store.close()
        onFinish()
        loop.stop()
    }
}
