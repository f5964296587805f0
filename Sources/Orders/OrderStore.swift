internal import EventLoop
internal import Gateway
internal import RESP
internal import Store

/// The kitchen's road to the store. At most `maxOutstanding` commands are on their way
/// at once; the rest wait here in FIFO order, so 10,000 orders in flight never overrun
/// the store client's bounded queues. Every workflow command is safe to repeat (reads,
/// SADD/SREM, and scripts that check before they change), so `run` retries a refusal,
/// a failure or an error reply with backoff until it has an answer. Request paths use
/// `runOnce`, which reports the first failure to the client instead.
final class OrderStore {
    typealias Reply = (RESPValue) -> Void

    private struct Pending {
        let arguments: [String]
        let attempt: Int
        let completion: Reply
    }

    let store: Store
    private let loop: Loop
    private let maxOutstanding: Int
    private var outstanding = 0
    private var waiting = FIFO<Pending>()
    private(set) var retries = 0

    init(store: Store, loop: Loop, maxOutstanding: Int) {
        self.store = store
        self.loop = loop
        self.maxOutstanding = max(1, maxOutstanding)
    }

    var queuedCount: Int { waiting.count }

    /// Sends `arguments` until a non-error reply arrives; `completion` hears it once.
    func run(_ arguments: [String], completion: @escaping Reply) {
        submit(Pending(arguments: arguments, attempt: 0, completion: completion))
    }

    func eval(_ script: String, keys: [String], _ arguments: [String], completion: @escaping Reply) {
        run(["EVAL", script, String(keys.count)] + keys + arguments, completion: completion)
    }

    /// One attempt; a refusal, failure or error reply becomes a `GatewayError`.
    func runOnce(_ arguments: [String], isWrite: Bool, completion: @escaping (Result<RESPValue, GatewayError>) -> Void)
        -> GatewayError?
    {
        let refusal = store.execute(arguments, idempotent: !isWrite) { result in
            completion(GatewayError.result(result, isWrite: isWrite))
        }
        return refusal.map { GatewayError($0, isWrite: isWrite) }
    }

    func evalOnce(
        _ script: String, keys: [String], _ arguments: [String], isWrite: Bool,
        completion: @escaping (Result<RESPValue, GatewayError>) -> Void
    ) -> GatewayError? {
        runOnce(["EVAL", script, String(keys.count)] + keys + arguments, isWrite: isWrite, completion: completion)
    }

    private func submit(_ pending: Pending) {
        guard outstanding < maxOutstanding else {
            waiting.append(pending)
            return
        }
        outstanding += 1
        let refusal = store.execute(pending.arguments, idempotent: true) { [self] result in
            outstanding -= 1
            switch result {
            case .success(let value) where !value.isError:
                pending.completion(value)
            default:
                retry(pending)
            }
            startWaiting()
        }
        if refusal != nil {
            outstanding -= 1
            retry(pending)
        }
    }

    private func startWaiting() {
        while outstanding < maxOutstanding, let next = waiting.popFirst() { submit(next) }
    }

    /// Backoff 50 ms doubling to 2 s; the command goes to the back of the line.
    private func retry(_ pending: Pending) {
        retries += 1
        let delay: UInt64 = min(2000, 50 << UInt64(min(pending.attempt, 6)))
        let again = Pending(arguments: pending.arguments, attempt: pending.attempt + 1, completion: pending.completion)
        OneShot.after(delay, on: loop) { [weak self] in self?.submit(again) }
    }
}

/// A deadline that runs a closure once: retries and other rare delays.
final class OneShot: DeadlineTarget {
    var deadlineHeapIndex = -1
    private var work: (() -> Void)?

    private init(_ work: @escaping () -> Void) { self.work = work }

    static func after(_ ms: UInt64, on loop: Loop, _ work: @escaping () -> Void) {
        loop.deadlines.schedule(OneShot(work), afterMs: ms)
    }

    func deadlineDidExpire() {
        let work = self.work
        self.work = nil
        work?()
    }
}

extension RESPValue {
    /// A flat `field, value, …` reply as a dictionary of strings.
    var flatDictionary: [String: String] {
        var out: [String: String] = [:]
        let parts = array ?? []
        var index = 0
        while index + 1 < parts.count {
            if let key = parts[index].string, let value = parts[index + 1].string { out[key] = value }
            index += 2
        }
        return out
    }
}
