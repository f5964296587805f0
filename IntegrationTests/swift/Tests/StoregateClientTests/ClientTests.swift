import Foundation
import OpenAPIRuntime
import OpenAPIURLSession
import StoregateClient
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The client generated from openapi.yaml against a live gateway and redis-server: the
/// whole record lifecycle, batch and scan, with the store itself checked by redis-cli.
final class ClientTests: XCTestCase {
    private var servers: LiveServers!
    private var client: Client!

    override func setUpWithError() throws {
        servers = try LiveServers()
        // A bounded request timeout, so a response that never completes fails the test
        // instead of hanging it.
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        let session = URLSession(configuration: configuration)
        client = Client(
            serverURL: servers.baseURL, transport: URLSessionTransport(configuration: .init(session: session)))
    }

    override func tearDown() {
        if let servers { XCTAssertEqual(servers.stop(), 0, "the gateway drains and exits 0") }
        servers = nil
        client = nil
    }

    private func bins(_ values: [String: (any Sendable)?]) throws -> OpenAPIObjectContainer {
        try OpenAPIObjectContainer(unvalidatedValue: values)
    }

    private func path(_ key: String) -> Operations.GetRecord.Input.Path {
        .init(ns: "test", set: "users", key: key)
    }

    func testReadiness() async throws {
        let status = try await client.getReadiness().ok.body.json
        XCTAssertEqual(status.status, "ready")
    }

    func testRecordLifecycle() async throws {
        // PUT creates: 201 with generation 1.
        let created = try await client.putRecord(
            path: .init(ns: "test", set: "users", key: "alice"),
            body: .json(.init(bins: .init(additionalProperties: bins(["name": "Alice", "age": 30, "tags": ["a"]]))))
        ).created
        XCTAssertEqual(created.headers.eTag, "\"1\"")
        let createdRecord = try created.body.json
        XCTAssertEqual(createdRecord.generation, 1)
        XCTAssertEqual(createdRecord.bins.additionalProperties.value["name"] as? String, "Alice")
        XCTAssertEqual(try servers.redisCLI(["HGET", "sg:{test/users/alice}", "_gen"]), "1")
        XCTAssertEqual(try servers.storedBins("sg:{test/users/alice}")["name"], "\"Alice\"")

        // GET with ?bins= reads only the named bins.
        let read = try await client.getRecord(path: path("alice"), query: .init(bins: "name")).ok.body.json
        XCTAssertEqual(read.generation, 1)
        XCTAssertEqual(Set(read.bins.additionalProperties.value.keys), ["name"])

        // POST is create-only: 409 on an existing record.
        let conflict = try await client.createRecord(
            path: .init(ns: "test", set: "users", key: "alice"),
            body: .json(.init(bins: .init(additionalProperties: bins(["name": "Other"]))))
        ).conflict.body.json
        XCTAssertEqual(conflict.error.code, "record_exists")

        // PATCH at generation 1 merges; a null bin is removed.
        let patched = try await client.patchRecord(
            path: .init(ns: "test", set: "users", key: "alice"), headers: .init(ifMatch: "1"),
            body: .json(.init(bins: .init(additionalProperties: bins(["age": 31, "tags": nil]))))
        ).ok
        XCTAssertEqual(patched.headers.eTag, "\"2\"")
        let patchedRecord = try patched.body.json
        XCTAssertEqual(patchedRecord.generation, 2)
        XCTAssertEqual(patchedRecord.bins.additionalProperties.value["age"] as? Int, 31)
        XCTAssertNil(patchedRecord.bins.additionalProperties.value["tags"] ?? nil)
        XCTAssertNil(try servers.storedBins("sg:{test/users/alice}")["tags"])

        // The same If-Match again is stale now: 412, nothing written.
        let stale = try await client.patchRecord(
            path: .init(ns: "test", set: "users", key: "alice"), headers: .init(ifMatch: "1"),
            body: .json(.init(bins: .init(additionalProperties: bins(["age": 99]))))
        ).preconditionFailed.body.json
        XCTAssertEqual(stale.error.code, "generation_mismatch")
        XCTAssertEqual(try servers.storedBins("sg:{test/users/alice}")["age"], "31")

        // Operate: three steps in one script, one result each.
        let operated = try await client.operateRecord(
            path: .init(ns: "test", set: "users", key: "alice"),
            body: .json(
                .init(operations: [
                    .incr(.init(op: .incr, bin: "visits", value: 5)),
                    .setAdd(.init(op: .setAdd, bin: "friends", value: .case1("jd"))),
                    .get(.init(op: .get, bin: "visits")),
                ]))
        ).ok.body.json
        XCTAssertEqual(operated.generation, 3)
        XCTAssertEqual(operated.results.count, 3)
        XCTAssertEqual(operated.results[0].value as? Int, 5)
        XCTAssertEqual(try servers.storedBins("sg:{test/users/alice}")["friends"], "[\"jd\"]")

        // DELETE at the wrong generation: 412; at the right one: 204, then GET is 404.
        let wrongDelete = try await client.deleteRecord(
            path: .init(ns: "test", set: "users", key: "alice"), headers: .init(ifMatch: "2"))
        XCTAssertEqual(try wrongDelete.preconditionFailed.body.json.error.code, "generation_mismatch")
        _ = try await client.deleteRecord(
            path: .init(ns: "test", set: "users", key: "alice"), headers: .init(ifMatch: "3")
        ).noContent
        XCTAssertEqual(try servers.redisCLI(["EXISTS", "sg:{test/users/alice}"]), "0")
        let missing = try await client.getRecord(path: path("alice")).notFound.body.json
        XCTAssertEqual(missing.error.code, "record_not_found")
    }

    func testCommitLevelIsAQueryParameter() async throws {
        // One redis-server, no replica: commit=replicas is refused and writes nothing.
        let refused = try await client.putRecord(
            path: .init(ns: "test", set: "users", key: "erin"), query: .init(commit: .replicas),
            body: .json(.init(bins: .init(additionalProperties: bins(["name": "Erin"]))))
        ).conflict.body.json
        XCTAssertEqual(refused.error.code, "no_replicas")
        XCTAssertEqual(try servers.redisCLI(["EXISTS", "sg:{test/users/erin}"]), "0")
        _ = try await client.putRecord(
            path: .init(ns: "test", set: "users", key: "erin"), query: .init(commit: .master),
            body: .json(.init(bins: .init(additionalProperties: bins(["name": "Erin"]))))
        ).created
        XCTAssertEqual(try servers.redisCLI(["EXISTS", "sg:{test/users/erin}"]), "1")
    }

    func testHeadSaysWhetherARecordExists() async throws {
        _ = try await client.putRecord(
            path: .init(ns: "test", set: "users", key: "dora"),
            body: .json(.init(bins: .init(additionalProperties: bins(["name": "Dora"]))))
        ).created
        _ = try await client.recordExists(path: .init(ns: "test", set: "users", key: "dora")).ok
        _ = try await client.recordExists(path: .init(ns: "test", set: "users", key: "nobody")).notFound
    }

    func testBatchAndScan() async throws {
        let batch = try await client.batch(
            body: .json(
                .init(operations: [
                    .put(
                        .init(
                            op: .put, namespace: "test", set: "people", key: "bob",
                            bins: .init(additionalProperties: bins(["name": "Bob"])))),
                    .put(
                        .init(
                            op: .put, namespace: "test", set: "people", key: "carol",
                            bins: .init(additionalProperties: bins(["name": "Carol"])))),
                    .get(.init(op: .get, namespace: "test", set: "people", key: "nobody")),
                    .patch(
                        .init(
                            op: .patch, namespace: "test", set: "people", key: "nobody",
                            bins: .init(additionalProperties: bins(["x": 1])))),
                ]))
        ).ok.body.json
        XCTAssertEqual(batch.results.map(\.index), [0, 1, 2, 3])
        XCTAssertEqual(batch.results.map(\.status), [200, 200, 404, 404])
        XCTAssertEqual(batch.results[0].record?.generation, 1)
        XCTAssertEqual(batch.results[2].error?.code, "record_not_found")
        XCTAssertEqual(try servers.storedBins("sg:{test/people/carol}")["name"], "\"Carol\"")

        // Read back and delete in a second batch.
        let second = try await client.batch(
            body: .json(
                .init(operations: [
                    .get(.init(op: .get, namespace: "test", set: "people", key: "bob")),
                    .delete(.init(op: .delete, namespace: "test", set: "people", key: "carol")),
                ]))
        ).ok.body.json
        XCTAssertEqual(second.results.map(\.status), [200, 204])
        XCTAssertEqual(second.results[0].record?.bins.additionalProperties.value["name"] as? String, "Bob")
        XCTAssertEqual(try servers.redisCLI(["EXISTS", "sg:{test/people/carol}"]), "0")

        // The same batch streamed: one NDJSON line per item, in completion order.
        let streamed = try await client.batch(
            headers: .init(accept: [.init(contentType: .applicationXNdjson)]),
            body: .json(
                .init(
                    operations: (0..<20).map { index in
                        .get(.init(op: .get, namespace: "test", set: "people", key: index % 2 == 0 ? "bob" : "nobody"))
                    }))
        ).ok.body.applicationXNdjson
        let data = try await Data(collecting: streamed, upTo: 1 << 20)
        let lines = data.split(separator: UInt8(ascii: "\n"))
        let results = try lines.map { try JSONDecoder().decode(Components.Schemas.BatchResult.self, from: Data($0)) }
        XCTAssertEqual(Set(results.map(\.index)), Set(0..<20))
        for result in results {
            XCTAssertEqual(result.status, result.index % 2 == 0 ? 200 : 404, "item \(result.index)")
        }

        // Scan the set to the end: only bob is left.
        var keys: [String] = []
        var cursor: String? = nil
        repeat {
            let page = try await client.scanSet(
                path: .init(ns: "test", set: "people"), query: .init(cursor: cursor, count: 10)
            ).ok.body.json
            keys += page.records.map(\.key)
            cursor = page.cursor
        } while cursor != nil
        XCTAssertEqual(keys, ["bob"])
    }
}
