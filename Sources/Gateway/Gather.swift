/// The gather half of a fan-out: `count` operations started together each report
/// their outcome once, by index, and the completion receives every outcome in index
/// order when the last one arrives. It starts nothing and defers nothing: the completion
/// runs inside the `finish` call that delivers the last outcome, so callers finish from
/// their operations' completions (a later loop turn), and a synchronous refusal is
/// finished only after every operation has been issued. A second outcome for an index
/// is ignored. `arrival`, when given, hears each first outcome as it comes (a streamed
/// answer writes it out), before the completion. Loop thread only.
package final class Gather<Value> {
    private var outcomes: [Value?]
    private var arrived: [Bool]
    private var remaining: Int
    private let arrival: ((Int, Value?) -> Void)?
    private var completion: (([Value?]) -> Void)?

    /// `count` must be positive: with nothing to wait for, the caller answers at once itself.
    package init(
        count: Int, arrival: ((_ index: Int, _ outcome: Value?) -> Void)? = nil,
        completion: @escaping ([Value?]) -> Void
    ) {
        precondition(count > 0, "a gather of nothing would never complete")
        outcomes = Array(repeating: nil, count: count)
        arrived = Array(repeating: false, count: count)
        remaining = count
        self.arrival = arrival
        self.completion = completion
    }

    /// Operations whose outcome has not arrived yet.
    package var pendingCount: Int { remaining }

    package var isComplete: Bool { remaining == 0 }

    /// Records operation `index`'s outcome (nil: it produced nothing).
    package func finish(_ index: Int, _ outcome: Value?) {
        guard !arrived[index] else { return }
        arrived[index] = true
        outcomes[index] = outcome
        remaining -= 1
        arrival?(index, outcome)
        guard remaining == 0, let completion else { return }
        self.completion = nil
        completion(outcomes)
    }
}
