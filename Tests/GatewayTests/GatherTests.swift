import XCTest

@testable import Gateway

/// The fan-out/gather helper: outcomes in index order whatever order they arrive in,
/// the completion exactly once and only after the last, repeats ignored.
final class GatherTests: XCTestCase {
    func testOutcomesArriveInIndexOrderOnceTheLastIsIn() {
        var calls: [[String?]] = []
        let gather = Gather<String>(count: 4) { calls.append($0) }
        gather.finish(2, "c")
        gather.finish(0, "a")
        gather.finish(2, "again")  // a repeat does not count
        gather.finish(3, nil)
        XCTAssertEqual(calls.count, 0, "one is still missing")
        XCTAssertFalse(gather.isComplete)
        gather.finish(1, "b")
        XCTAssertEqual(calls, [["a", "b", "c", nil]])
        XCTAssertTrue(gather.isComplete)
        gather.finish(1, "late")
        XCTAssertEqual(calls.count, 1, "the completion runs once")
    }

    func testASingleOperation() {
        var got: [Int?]?
        let gather = Gather<Int>(count: 1) { got = $0 }
        XCTAssertNil(got)
        gather.finish(0, 7)
        XCTAssertEqual(got, [7])
    }

    func testArrivalHearsEachFirstOutcomeBeforeTheCompletion() {
        var events: [String] = []
        let gather = Gather<Int>(
            count: 3, arrival: { index, value in events.append("arrived \(index)=\(value.map(String.init) ?? "nil")") },
            completion: { all in events.append("done \(all.count)") })
        gather.finish(1, 10)
        gather.finish(1, 11)  // a repeat is not heard
        gather.finish(0, nil)
        XCTAssertEqual(gather.pendingCount, 1)
        gather.finish(2, 30)
        XCTAssertEqual(events, ["arrived 1=10", "arrived 0=nil", "arrived 2=30", "done 3"])
    }
}
