import EventLoop
import Foundation
import RESP
import Store
import TLS
import TestSupport

/// Drives a Store on the test thread: commands are submitted, then the loop runs
/// until a condition holds or a (scaled) timeout passes. A 5 ms ticker keeps the
/// loop from sleeping past the condition.
final class StoreHarness {
    let loop: Loop
    let store: Store
    private let ticker: EventLoop.Timer

    init(url: String, limits: StoreLimits = StoreLimits(), tls: TLSConfiguration = TLSConfiguration()) throws {
        loop = try Loop()
        store = try Store(loop: loop, url: StoreURL(parsing: url), limits: limits, tls: tls)
        ticker = EventLoop.Timer(loop: loop)
        ticker.start(afterMs: 5, repeatMs: 5) {}
    }

    /// Runs the loop until `condition` or the timeout; returns whether it held.
    @discardableResult
    func run(within seconds: Double = 10, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds * timeoutMultiplier)
        while !condition() {
            if Date() > deadline { return false }
            loop.runOnce()
        }
        return true
    }

    /// One command, run to completion.
    func call(_ arguments: [String], idempotent: Bool = true, timeoutMs: UInt64? = nil) -> Result<RESPValue, StoreError>
    {
        var result: Result<RESPValue, StoreError>?
        if let refused = store.execute(
            arguments, idempotent: idempotent, timeoutMs: timeoutMs, completion: { result = $0 })
        {
            return .failure(refused)
        }
        run { result != nil }
        return result ?? .failure(StoreError(.closed, "test timed out"))
    }

    /// Closes the store and the loop; returns libuv handles that were left open.
    func shutdown() -> Int {
        store.close()
        ticker.close()
        return loop.close()
    }
}

extension Result where Success == RESPValue, Failure == StoreError {
    var value: RESPValue? { try? get() }
    var error: StoreError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
