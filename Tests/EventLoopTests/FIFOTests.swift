import EventLoop
import XCTest

final class FIFOTests: XCTestCase {
    func testElementsLeaveInTheOrderTheyCame() {
        var queue = FIFO<Int>()
        for value in 0..<1000 { queue.append(value) }
        var seen: [Int] = []
        while let value = queue.popFirst() {
            seen.append(value)
            if value % 3 == 0 { queue.append(value + 10_000) }  // interleaved appends
        }
        let firstThousand = seen.filter { $0 < 10_000 }
        XCTAssertEqual(firstThousand, Array(0..<1000))
        XCTAssertEqual(seen.count, 1000 + 334)  // each multiple of 3 below 1000 came back once
        XCTAssertTrue(queue.isEmpty)
        XCTAssertNil(queue.first)
    }

    func testCapacityIsReportedNotEnforced() {
        var queue = FIFO<String>(capacity: 2)
        XCTAssertFalse(queue.isFull)
        queue.append("a")
        queue.append("b")
        XCTAssertTrue(queue.isFull)
        XCTAssertEqual(queue.count, 2)
        XCTAssertEqual(queue.popFirst(), "a")
        XCTAssertFalse(queue.isFull)
        XCTAssertEqual(queue.first, "b")
    }

    func testRemoveAllHandsBackWhatWasQueued() {
        var queue = FIFO<Int>()
        for value in 0..<100 { queue.append(value) }
        for _ in 0..<70 { _ = queue.popFirst() }
        XCTAssertEqual(Array(queue.elements), Array(70..<100))
        XCTAssertEqual(Array(queue.removeAll()), Array(70..<100))
        XCTAssertEqual(queue.count, 0)
        queue.append(7)
        XCTAssertEqual(queue.popFirst(), 7)
    }
}
