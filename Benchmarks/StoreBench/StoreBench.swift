internal import EventLoop
internal import Store

#if canImport(Glibc)
internal import Glibc
#endif

/// `StoreBench --store URL --connections N --commands M --window W` (its own
/// executable, not part of the production binary): the store client alone, on this process's loop: W commands kept outstanding
/// (GET of one key), over a pool of N connections, until M have completed. Prints
/// commands/s and this process's CPU µs per command. Used by scripts/bench/records_and_store.sh.
enum StoreBench {
    static func run(_ arguments: [String]) -> Int32 {
        var options: [String: String] = [
            "--store": "redis://127.0.0.1:6379", "--connections": "1",
            "--commands": "500000", "--window": "512", "--key": "bench:key",
        ]
        var index = 0
        while index + 1 < arguments.count, options[arguments[index]] != nil {
            options[arguments[index]] = arguments[index + 1]
            index += 2
        }
        guard index == arguments.count, let connections = Int(options["--connections"]!),
            let total = Int(options["--commands"]!), let window = Int(options["--window"]!),
            let url = try? StoreURL(parsing: options["--store"]!)
        else {
            print("usage: StoreBench [--store URL] [--connections N] [--commands M] [--window W] [--key K]")
            return 2
        }
        do {
            let loop = try Loop()
            var limits = StoreLimits()
            limits.maxConnectionsPerNode = connections
            limits.maxPipelinePerConnection = max(1, (window + connections - 1) / connections)
            limits.maxQueuedPerNode = window
            limits.commandTimeoutMs = 10_000
            let store = try Store(loop: loop, url: url, limits: limits)
            let key = options["--key"]!
            var issued = 0
            var completed = 0
            var failed = 0
            var startNanos: UInt64 = 0
            var startCPU = 0.0
            func issue() {
                guard issued < total else { return }
                issued += 1
                let refused = store.execute(["GET", key], idempotent: true) { result in
                    completed += 1
                    if case .failure = result { failed += 1 }
                    if completed == total { loop.stop() } else { issue() }
                }
                if refused != nil {
                    failed += 1
                    completed += 1
                }
            }
            // Warm the pool up to N connections before measuring.
            var warm = 0
            for _ in 0..<window {
                let refused = store.execute(["PING"], idempotent: true) { _ in
                    warm += 1
                    if warm == window { loop.stop() }
                }
                if refused != nil { warm += 1 }
            }
            if warm < window { loop.run() }
            startNanos = Loop.monotonicNanoseconds
            startCPU = cpuSeconds()
            for _ in 0..<window { issue() }
            loop.run()
            let seconds = Double(Loop.monotonicNanoseconds - startNanos) / 1e9
            let cpu = cpuSeconds() - startCPU
            let open = store.nodes.first?.openConnections ?? 0
            let rate = Int(Double(completed) / seconds)
            let cpuPerCommand = fixed3(cpu * 1e6 / Double(completed))
            print(
                "connections=\(open) commands=\(completed) failed=\(failed) seconds=\(fixed3(seconds)) "
                    + "commands_per_second=\(rate) gateway_cpu_us_per_command=\(cpuPerCommand)")
            store.close()
            _ = loop.close()
            return failed == 0 ? 0 : 1
        } catch {
            print("StoreBench: \(error)")
            return 1
        }
    }

    private static func fixed3(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let fraction = thousandths % 1000
        return "\(thousandths / 1000)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + "\(fraction)"
    }

    private static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
