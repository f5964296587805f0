import EventLoop
import RESP
import Store
import XCTest

/// The pure parts of cluster routing: CRC16 and hash tags (vectors from the Redis
/// Cluster spec, and slots a real node's CLUSTER KEYSLOT printed), redirect parsing,
/// CLUSTER SLOTS parsing, and which argument of a command is its key.
final class HashSlotTests: XCTestCase {
    func testCRC16MatchesTheSpecVector() {
        XCTAssertEqual(HashSlot.crc16("123456789"), 0x31C3)
        XCTAssertEqual(HashSlot.crc16(""), 0)
    }

    func testSlotsMatchWhatRedisComputes() {
        // Printed by `redis-cli CLUSTER KEYSLOT` on redis-server 7.0.
        let expected: [(String, Int)] = [
            ("123456789", 12739), ("foo", 12182), ("bar", 5061), ("hello", 866), ("foo{}{bar}", 8363),
            ("foo{{bar}}zap", 4015), ("foo{bar}{zap}", 5061), ("{user1000}.following", 3443),
            ("sg:{test/users/alice}", 3557),
        ]
        for (key, slot) in expected { XCTAssertEqual(HashSlot.of(key), slot, key) }
    }

    func testHashTagRules() {
        XCTAssertEqual(HashSlot.of("{user1000}.following"), HashSlot.of("{user1000}.followers"))
        XCTAssertEqual(HashSlot.of("x{bar}y"), HashSlot.of("bar"), "the tag alone is hashed")
        XCTAssertEqual(
            HashSlot.of("foo{}{bar}"), Int(HashSlot.crc16("foo{}{bar}") & 0x3FFF), "an empty tag hashes the whole key")
        XCTAssertEqual(
            HashSlot.of("foo{bar"), Int(HashSlot.crc16("foo{bar") & 0x3FFF), "no closing brace: the whole key")
        XCTAssertEqual(HashSlot.of("foo{{bar}}zap"), HashSlot.of("{bar"), "the tag ends at the first }")
        for key in ["a", "b", "some longer key", "ключ"] { XCTAssertLessThan(HashSlot.of(key), 16384) }
    }

    func testRedirectParsing() {
        XCTAssertEqual(
            Redirect(error: "MOVED 3999 127.0.0.1:6381"), .moved(slot: 3999, to: .inet(host: "127.0.0.1", port: 6381)))
        XCTAssertEqual(
            Redirect(error: "ASK 12182 10.0.0.2:7002"), .ask(slot: 12182, to: .inet(host: "10.0.0.2", port: 7002)))
        XCTAssertEqual(Redirect(error: "MOVED 1 [::1]:7000"), .moved(slot: 1, to: .inet(host: "::1", port: 7000)))
        XCTAssertEqual(Redirect(error: "TRYAGAIN Multiple keys request during rehashing of slot"), .tryAgain)
        XCTAssertEqual(Redirect(error: "CLUSTERDOWN The cluster is down"), .clusterDown)
        for other in [
            "MOVED", "MOVED x 1:2", "MOVED 16384 h:1", "MOVED 1 nohost", "ASK 1 :7000", "ERR wrong", "NOSCRIPT x",
        ] {
            XCTAssertNil(Redirect(error: other), other)
        }
    }

    func testClusterSlotsParsing() throws {
        func node(_ host: String, _ port: Int64) -> RESPValue {
            .array([.bulkString(Array(host.utf8)), .integer(port), .bulkString(Array("id".utf8))])
        }
        let reply = RESPValue.array([
            .array([.integer(5461), .integer(10922), node("127.0.0.1", 7001), node("127.0.0.1", 7004)]),
            .array([.integer(0), .integer(5460), node("", 7000), node("127.0.0.1", 7003)]),
        ])
        let map = try SlotMap(clusterSlots: reply, askedNode: .inet(host: "127.0.0.9", port: 7000))
        XCTAssertEqual(map.ranges.map(\.start), [0, 5461])
        XCTAssertEqual(map.range(ofSlot: 0)?.master, .inet(host: "127.0.0.9", port: 7000), "empty host: the node asked")
        XCTAssertEqual(map.range(ofSlot: 10922)?.replicas, [.inet(host: "127.0.0.1", port: 7004)])
        XCTAssertNil(map.range(ofSlot: 10923))
        XCTAssertEqual(map.uncoveredSlots, 16384 - 10923)
        XCTAssertThrowsError(
            try SlotMap(
                clusterSlots: .array([.array([.integer(5), .integer(2)])]), askedNode: .inet(host: "h", port: 1)))
        XCTAssertEqual(map.hostnames, [:], "no node announced a host name")

        // Redis 7 adds each node's announced names: key-value pairs (a map over RESP3).
        func named(_ port: Int64, _ metadata: RESPValue) -> RESPValue {
            .array([.bulkString(Array("10.0.0.1".utf8)), .integer(port), .bulkString(Array("id".utf8)), metadata])
        }
        let pairs: [RESPValue] = ["hostname", "redis-a.internal"].map { .bulkString(Array($0.utf8)) }
        let announced = try SlotMap(
            clusterSlots: .array([
                .array([.integer(0), .integer(100), named(7000, .array(pairs)), named(7001, .array([]))]),
                .array([
                    .integer(101), .integer(200),
                    named(
                        7002,
                        .map([
                            RESPPair(
                                key: .bulkString(Array("hostname".utf8)), value: .bulkString(Array("b.internal".utf8)))
                        ])),
                    named(7003, .array([.bulkString(Array("hostname".utf8)), .bulkString([])])),
                ]),
            ]), askedNode: .inet(host: "h", port: 1))
        XCTAssertEqual(announced.hostnames, ["10.0.0.1:7000": "redis-a.internal", "10.0.0.1:7002": "b.internal"])

        var moved = map
        moved.move(slot: 20000 % 16384, to: .inet(host: "127.0.0.1", port: 7002))
        XCTAssertEqual(moved.range(ofSlot: 3616)?.master, .inet(host: "127.0.0.1", port: 7002))
        XCTAssertEqual(moved.range(ofSlot: 3615)?.master, .inet(host: "127.0.0.9", port: 7000), "its neighbours stay")
    }

    func testCommandRouting() {
        let key = "sg:{ns/set/k}"
        XCTAssertEqual(CommandRouting(arguments: ["GET", key]), .slot(HashSlot.of(key)))
        XCTAssertEqual(CommandRouting(arguments: ["evalsha", "abc", "1", key, "x"]), .slot(HashSlot.of(key)))
        XCTAssertEqual(CommandRouting(arguments: ["EVAL", "s", "0", "x"]), .keyless)
        XCTAssertEqual(CommandRouting(arguments: ["EVAL", "s", "2", "{a}1", "{a}2"]), .slot(HashSlot.of("a")))
        XCTAssertEqual(CommandRouting(arguments: ["EVAL", "s", "2", "foo", "bar"]), .crossSlot)
        XCTAssertEqual(CommandRouting(arguments: ["MGET", "foo", "bar"]), .crossSlot)
        XCTAssertEqual(CommandRouting(arguments: ["MSET", "{t}a", "1", "{t}b", "2"]), .slot(HashSlot.of("t")))
        XCTAssertEqual(CommandRouting(arguments: ["PING"]), .keyless)
        XCTAssertEqual(CommandRouting(arguments: ["SCAN", "0"]), .keyless)
        XCTAssertEqual(
            CommandRouting(arguments: ["EVALSHA", "abc", "3", "k"]), .keyless, "a short key list is not trusted")
        XCTAssertTrue(CommandRouting.isReadOnly(["EVALSHA_RO", "x", "1", key]))
        XCTAssertFalse(CommandRouting.isReadOnly(["EVALSHA", "x", "1", key]))
    }
}
