internal import EventLoop

#if canImport(Glibc)
internal import Glibc
#endif

/// `--workers N` (N > 1): this process listens nowhere; it starts N single-threaded
/// worker processes of the same binary that share the listening port (SO_REUSEPORT),
/// restarts a worker that dies (with a backoff when it keeps dying young), and on
/// SIGTERM/SIGINT forwards the signal and exits 0 once every worker has drained.
/// Each worker keeps its own capped store pools: N × max_conns_per_node per node.
final class Supervisor {
    private let loop: Loop
    private let count: Int
    private let executable: String
    private let arguments: [String]
    private var workers: [Int: ChildProcess] = [:]
    private var startedAt: [Int: UInt64] = [:]
    private var quickExits: [Int: Int] = [:]
    private var draining = false
    private var watchers: [SignalWatcher] = []
    private var restartTimers: [EventLoop.Timer] = []
    private var failed = false

    static func run(workers: Int, arguments: [String]) throws -> Int32 {
        let loop = try Loop()
        let supervisor = Supervisor(loop: loop, count: workers, arguments: Self.withoutWorkersFlag(arguments))
        try supervisor.start()
        loop.run()
        _ = loop.close()
        Log.info("supervisor_stopped")
        return supervisor.failed ? 1 : 0
    }

    private init(loop: Loop, count: Int, arguments: [String]) {
        self.loop = loop
        self.count = count
        self.arguments = arguments
        executable = Self.ownExecutable()
    }

    private func start() throws {
        for signum in [SIGTERM, SIGINT] {
            watchers.append(try SignalWatcher(loop: loop, signal: signum) { [weak self] signum in self?.drain(signum) })
        }
        for index in 1...count { try spawn(index) }
        Log.info("supervising", [("workers", String(count)), ("executable", executable)])
    }

    private func spawn(_ index: Int) throws {
        let own = ["STOREGATE_WORKERS=", "STOREGATE_WORKER_ID=", "STOREGATE_REUSE_PORT=", "STOREGATE_SUPERVISOR_PID="]
        var environment = ProcessEnvironment.entries.filter { entry in !own.contains { entry.hasPrefix($0) } }
        environment += [
            "STOREGATE_WORKERS=1", "STOREGATE_WORKER_ID=\(index)", "STOREGATE_REUSE_PORT=1",
            "STOREGATE_SUPERVISOR_PID=\(getpid())",
        ]
        let child = try ChildProcess(loop: loop, executable: executable, arguments: arguments, environment: environment)
        {
            [weak self] status, signal in
            self?.workerDidExit(index, status: status, signal: signal)
        }
        workers[index] = child
        startedAt[index] = loop.nowMs
        Log.info("worker_started", [("worker", String(index)), ("pid", String(child.pid))])
    }

    private func workerDidExit(_ index: Int, status: Int64, signal: Int32) {
        workers[index]?.close()
        workers[index] = nil
        if draining {
            // A worker killed by a signal (SIGKILL from the OOM killer…) reports status 0.
            if status != 0 || signal != 0 { failed = true }
            if workers.isEmpty { finish() }
            return
        }
        Log.error("worker \(index) exited (status \(status), signal \(signal)); restarting it")
        let lived = loop.nowMs - (startedAt[index] ?? 0)
        quickExits[index] = lived < 1000 ? (quickExits[index] ?? 0) + 1 : 0
        let delay = min(UInt64(100) << UInt64(min(quickExits[index] ?? 0, 6)), 5000)
        let timer = EventLoop.Timer(loop: loop)
        restartTimers.append(timer)
        timer.start(afterMs: delay) { [weak self, weak timer] in
            guard let self else { return }
            timer?.close()
            self.restartTimers.removeAll { $0 === timer }
            guard !self.draining else { return }
            do { try self.spawn(index) } catch { Log.error("cannot restart worker \(index): \(error)") }
        }
    }

    private func drain(_ signum: Int32) {
        guard !draining else { return }
        draining = true
        Log.info("draining_workers", [("signal", String(signum)), ("workers", String(workers.count))])
        for timer in restartTimers { timer.close() }
        restartTimers = []
        if workers.isEmpty { return finish() }
        for worker in workers.values { worker.signal(SIGTERM) }
    }

    private func finish() {
        for watcher in watchers { watcher.close() }
        watchers = []
        loop.stop()
    }

    private static func withoutWorkersFlag(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var skipNext = false
        for argument in arguments {
            if skipNext {
                skipNext = false
                continue
            }
            if argument == "--workers" {
                skipNext = true
                continue
            }
            if argument.hasPrefix("--workers=") { continue }
            result.append(argument)
        }
        return result
    }

    private static func ownExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
