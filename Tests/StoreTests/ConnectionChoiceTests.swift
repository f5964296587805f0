import XCTest

@testable import Store

/// Where a node sends a command, and when it opens another connection, as tables over
/// connection loads: no sockets.
final class ConnectionChoiceTests: XCTestCase {
    /// (ready, depth, WAITs in flight)
    private typealias Row = (Bool, Int, Int)

    private func pick(_ rows: [Row], waits: Bool = false, maxDepth: Int = 4, maxConnections: Int = 3) -> Int? {
        ConnectionChoice.pick(
            rows, load: { ConnectionLoad(isReady: $0.0, depth: $0.1, waitsInFlight: $0.2) }, commandWaits: waits,
            maxDepth: maxDepth, maxConnections: maxConnections)
    }

    func testPick() {
        let cases: [(String, [Row], Bool, Int, Int?)] = [
            ("no connection yet", [], false, 3, nil),
            ("the only one", [(true, 0, 0)], false, 3, 0),
            ("the least loaded", [(true, 3, 0), (true, 1, 0), (true, 2, 0)], false, 3, 1),
            ("packed: the first below half way, not the least loaded", [(true, 1, 0), (true, 0, 0)], false, 3, 0),
            ("past half way everywhere: the least loaded", [(true, 3, 0), (true, 2, 0)], false, 3, 1),
            ("packed, but not behind a WAIT", [(true, 0, 1), (true, 1, 0), (true, 0, 0)], false, 3, 1),
            ("the first of equals", [(true, 2, 0), (true, 2, 0)], false, 3, 0),
            ("not one still connecting", [(false, 0, 0), (true, 3, 0)], false, 3, 1),
            ("not one at its depth cap", [(true, 4, 0), (true, 3, 0)], false, 3, 1),
            ("all at the cap: queue", [(true, 4, 0), (true, 4, 0)], false, 3, nil),
            ("none ready: queue", [(false, 0, 0)], false, 3, nil),
            ("a plain command avoids a WAIT", [(true, 0, 1), (true, 3, 0)], false, 3, 1),
            ("all hold a WAIT, more may open: queue", [(true, 1, 1), (true, 0, 1)], false, 3, nil),
            ("all hold a WAIT, no more may open", [(true, 1, 1), (true, 0, 1), (true, 2, 1)], false, 3, 1),
            ("no more may open, but a full one is no choice", [(true, 4, 1), (true, 4, 0)], false, 2, nil),
            ("a WAIT write goes behind a WAIT too", [(true, 1, 1), (true, 2, 0)], true, 3, 0),
            ("a WAIT write: the least loaded", [(true, 2, 1), (true, 1, 0)], true, 3, 1),
            ("a WAIT write at the cap keeps the last WAIT-free one", [(true, 2, 1), (true, 0, 0)], true, 2, 0),
            ("... even one still connecting", [(true, 2, 1), (false, 0, 0)], true, 2, 0),
            ("... unless every WAIT holder is full", [(true, 4, 1), (true, 0, 0)], true, 2, 1),
            ("... and not while two are WAIT-free", [(true, 1, 0), (true, 0, 0), (true, 2, 1)], true, 3, 1),
            ("... nor below the cap", [(true, 2, 1), (true, 0, 0)], true, 3, 1),
            ("... nor with one connection allowed", [(true, 0, 0)], true, 1, 0),
            ("... the least loaded WAIT holder", [(true, 3, 1), (true, 1, 1), (true, 0, 0)], true, 3, 1),
        ]
        for (name, rows, waits, maxConnections, expected) in cases {
            XCTAssertEqual(pick(rows, waits: waits, maxConnections: maxConnections), expected, name)
        }
    }

    func testShouldGrow() {
        let cases: [(String, [Row], Bool, Bool)] = [
            ("one below half way", [(true, 1, 0)], false, false),
            ("one half way", [(true, 2, 0)], false, true),
            ("one of two below half way", [(true, 3, 0), (true, 1, 0)], false, false),
            ("after a WAIT, one free of WAIT left", [(true, 0, 1), (true, 0, 0)], true, false),
            ("after a WAIT, none free of WAIT", [(true, 0, 1), (true, 1, 1)], true, true),
            ("WAITs in flight but a plain send", [(true, 0, 1)], false, false),
        ]
        for (name, rows, sentWait, expected) in cases {
            let grows = ConnectionChoice.shouldGrow(
                rows, load: { ConnectionLoad(isReady: $0.0, depth: $0.1, waitsInFlight: $0.2) }, sentWait: sentWait,
                maxDepth: 4)
            XCTAssertEqual(grows, expected, name)
        }
    }
}
