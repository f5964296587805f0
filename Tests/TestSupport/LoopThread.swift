package import EventLoop
import Foundation

/// Runs a `Loop` on its own thread for in-process tests. `setup` runs on that thread,
/// builds whatever it needs on the loop and returns the port it listens on and a
/// closure that closes it all; `stop()` runs that closure on the loop thread, waits
/// for the loop to finish, and records how many handles were left open.
package final class LoopThread: @unchecked Sendable {
    private let ready = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var wakeup: LoopWakeup?
    package private(set) var port: UInt16 = 0
    package private(set) var leakedHandles = -1
    private var setupError: (any Error)?
    private var stopped = false

    package init(_ setup: @escaping (Loop) throws -> (port: UInt16, close: () -> Void)) throws {
        nonisolated(unsafe) let setup = setup
        let thread = Thread { [self] in
            do {
                let loop = try Loop()
                let (port, close) = try setup(loop)
                self.port = port
                let wakeup = LoopWakeup(loop: loop) { [unowned loop, self] in
                    close()
                    self.wakeup?.close()
                    loop.stop()
                }
                self.wakeup = wakeup
                self.ready.signal()
                loop.run()
                self.leakedHandles = loop.close()
            } catch {
                self.setupError = error
                self.ready.signal()
            }
            self.finished.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        ready.wait()
        if let setupError { throw setupError }
    }

    /// Closes everything on the loop thread and waits for the loop to end.
    package func stop() {
        guard !stopped else { return }
        stopped = true
        wakeup?.wake()
        finished.wait()
    }

    deinit { stop() }
}
