import XCTest

@testable import Gateway

/// SHA-256 and SHA-1 against published vectors, the constant-time comparison's results, the
/// key-line parser (and its refusals, which name the line and never the key), and the
/// route policy table.
final class SecurityUnitTests: XCTestCase {
    func testSHA256MatchesPublishedVectors() {
        let vectors: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
            (
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
            ),
            (
                "The quick brown fox jumps over the lazy dog",
                "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"
            ),
        ]
        for (input, expected) in vectors { XCTAssertEqual(SHA256.hexDigest(input), expected, input) }
        // Lengths around the padding boundary (55, 56, 63, 64 bytes) must not trip it up.
        XCTAssertEqual(
            SHA256.hexDigest(String(repeating: "a", count: 55)),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
        XCTAssertEqual(
            SHA256.hexDigest(String(repeating: "a", count: 56)),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        XCTAssertEqual(
            SHA256.hexDigest(String(repeating: "a", count: 64)),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
        XCTAssertEqual(
            SHA256.hexDigest(String(repeating: "a", count: 1_000_000)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        XCTAssertEqual(SHA256.digest("abc").count, 32)
        XCTAssertEqual(SHA256.digest(Array("abc".utf8)), SHA256.digest("abc"))
    }

    func testSHA1MatchesPublishedVectorsAndRedis() throws {
        let vectors: [(String, String)] = [
            ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
            ),
            ("The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
            (String(repeating: "a", count: 1_000_000), "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
        ]
        for (input, expected) in vectors { XCTAssertEqual(SHA1.hexDigest(input), expected, String(input.prefix(60))) }
    }

    func testConstantTimeEqualsComparesWholeInputsOfAnyLength() {
        XCTAssertTrue(constantTimeEquals([], []))
        XCTAssertTrue(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(constantTimeEquals([1, 2, 3], [1, 2, 4]), "last byte differs")
        XCTAssertFalse(constantTimeEquals([9, 2, 3], [1, 2, 3]), "first byte differs")
        XCTAssertFalse(constantTimeEquals([1, 2, 3], [1, 2]), "a prefix is not equal")
        XCTAssertFalse(constantTimeEquals([1, 2], [1, 2, 0]), "trailing zero is not padding")
        XCTAssertFalse(constantTimeEquals([], [0]))
        XCTAssertFalse(
            constantTimeEquals(Array(repeating: 0, count: 256), []), "length 256 differs from 0 (low bits equal)")
        let a = SHA256.digest("key-one")
        let b = SHA256.digest("key-two")
        XCTAssertTrue(constantTimeEquals(a, SHA256.digest("key-one")))
        XCTAssertFalse(constantTimeEquals(a, b))
    }

    func testKeyLinesParseWithCommentsBlanksAndWhitespace() throws {
        var ring = APIKeyRing()
        try ring.add(
            """
            # readers
            k1:read,write:test,orders

              k2 : read : test
            k3:admin:*\r
            k4:read:*
            """, source: "keys.txt")
        XCTAssertEqual(ring.count, 4)
        let k1 = try XCTUnwrap(ring.authenticate(Array("k1".utf8)))
        XCTAssertEqual(k1.id, "keys.txt:2")
        XCTAssertEqual(k1.scopes, [.read, .write])
        XCTAssertEqual(k1.namespaces, ["test", "orders"])
        XCTAssertTrue(k1.allows(.read, namespace: "orders"))
        XCTAssertTrue(k1.allows(.write, namespace: "test"))
        XCTAssertFalse(k1.allows(.write, namespace: "other"))
        XCTAssertFalse(k1.allows(.admin, namespace: "test"))
        let k2 = try XCTUnwrap(ring.authenticate(Array("k2".utf8)))
        XCTAssertEqual(k2.id, "keys.txt:4")
        XCTAssertTrue(k2.allows(.read, namespace: "test"))
        XCTAssertFalse(k2.allows(.write, namespace: "test"), "read does not imply write")
        let k3 = try XCTUnwrap(ring.authenticate(Array("k3".utf8)))
        XCTAssertTrue(k3.isAdmin)
        XCTAssertFalse(k3.allows(.read, namespace: "test"), "admin is not a data scope")
        XCTAssertTrue(try XCTUnwrap(ring.authenticate(Array("k4".utf8))).allows(.read, namespace: "anything"))
        XCTAssertNil(ring.authenticate(Array("k5".utf8)))
        XCTAssertNil(ring.authenticate(Array("k1 ".utf8)))
        XCTAssertNil(ring.authenticate(Array("".utf8)))
        XCTAssertFalse(ring.keys.contains { $0.digest == Array("k1".utf8) }, "held as a digest, not the text")
        XCTAssertEqual(ring.keys.map(\.digest.count), [32, 32, 32, 32])
    }

    func testEnvironmentFormSplitsOnSemicolonsAndNewlines() throws {
        var ring = APIKeyRing()
        try ring.add("a1:read:test;a2:write:*\na3:admin:*;", source: "STOREGATE_API_KEYS", semicolonSeparated: true)
        XCTAssertEqual(ring.count, 3)
        XCTAssertEqual(ring.authenticate(Array("a3".utf8))?.id, "STOREGATE_API_KEYS:3")
    }

    func testBadLinesAreRefusedWithTheirLineNumberAndWithoutTheKey() {
        let cases: [(String, String)] = [
            ("ok:read:test\nsecretA:read\n", "keys:2: expected KEY:SCOPES:NAMESPACES"),
            ("secretB:read:test:extra", "keys:1: expected KEY:SCOPES:NAMESPACES"),
            ("\n\nsecretC:rid:test", "keys:3: unknown scope 'rid'"),
            ("secretD::test", "keys:1: unknown scope ''"),
            ("secretE:read:", "keys:1: namespace '' must be"),
            ("secretF:read:te st", "keys:1: namespace 'te st' must be"),
            ("secretG:read:*,test", "keys:1: '*' stands alone"),
            (":read:test", "keys:1: the key must be"),
            ("sec ret:read:test", "keys:1: the key must be"),
            ("secret=H:read:test", "keys:1: the key must be"),
            (String(repeating: "s", count: 513) + ":read:test", "keys:1: the key must be"),
            ("secretI:read:test\n# again\nsecretI:write:*", "keys:3: the same key is already configured at keys:1"),
        ]
        for (text, expected) in cases {
            var ring = APIKeyRing()
            XCTAssertThrowsError(try ring.add(text, source: "keys"), text) { error in
                let message = (error as? APIKeyError)?.description ?? ""
                XCTAssertTrue(message.hasPrefix(expected), "\(message) for \(text.debugDescription)")
                XCTAssertFalse(message.contains("secret"), "the message repeats the key: \(message)")
            }
        }
        var padded = APIKeyRing()
        XCTAssertNoThrow(try padded.add("dG9rZW4+/w==:read:test", source: "keys"), "base64 keys are allowed")
    }

    func testPolicyTableAndItsDefaults() {
        let policy = AccessPolicy()
        XCTAssertEqual(policy.requirement(method: "GET", template: "/healthz"), .operational("healthz"))
        XCTAssertEqual(policy.requirement(method: "HEAD", template: "/metrics"), .operational("metrics"))
        XCTAssertEqual(policy.requirement(method: "GET", template: "/v1/cluster"), .admin)
        XCTAssertEqual(policy.requirement(method: "POST", template: "/v1/kitchen/restock"), .admin)
        XCTAssertEqual(policy.requirement(method: "POST", template: "/v1/batch"), .batchItems)
        XCTAssertEqual(
            policy.requirement(method: "HEAD", template: "/v1/kv/{ns}/{set}/{key}"), .namespace(.read, .parameter("ns"))
        )
        XCTAssertEqual(
            policy.requirement(method: "DELETE", template: "/v1/kv/{ns}/{set}/{key}"),
            .namespace(.write, .parameter("ns")))
        XCTAssertEqual(
            policy.requirement(method: "GET", template: "/v1/scan/{ns}/{set}"), .namespace(.read, .parameter("ns")))
        XCTAssertEqual(
            policy.requirement(method: "POST", template: "/v1/orders"), .namespace(.write, .fixed("pizzeria")))
        XCTAssertEqual(
            policy.requirement(method: "GET", template: "/v1/orders/{id}"), .namespace(.read, .fixed("pizzeria")))
    }

    func testCORSOriginsThatMayBeConfigured() {
        XCTAssertTrue(isValidCORSOrigin("*"))
        XCTAssertTrue(isValidCORSOrigin("https://app.example"))
        XCTAssertTrue(isValidCORSOrigin("http://localhost:3000"))
        XCTAssertFalse(isValidCORSOrigin("app.example"))
        XCTAssertFalse(isValidCORSOrigin("https://app.example/"))
        XCTAssertFalse(isValidCORSOrigin("https://"))
        XCTAssertFalse(isValidCORSOrigin("ftp://app.example"))
    }
}
