import EventLoop
import Foundation
import FuzzChecks
import Gateway
import Store
import XCTest

/// Every committed fuzz input (seeds and regressions, Fuzz/corpus/TARGET) through the
/// same property checks the libFuzzer targets run, in the ordinary suite.
final class FuzzCorpusTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")

    private func replay(_ target: String, _ check: ([UInt8]) throws(FuzzFailure) -> Void) throws {
        let files = FuzzDriver.corpusFiles(Self.corpus.appendingPathComponent(target).path)
        XCTAssertGreaterThan(files.count, 5, "seed corpus of \(target)")
        for file in files {
            let bytes = try XCTUnwrap(FuzzDriver.readFile(file), file)
            do {
                try check(bytes)
            } catch {
                XCTFail("\(file): \(error)")
            }
        }
    }

    func testHTTPRequestCorpus() throws { try replay("FuzzHTTPRequest", HTTPRequestCheck.check) }
    func testJSONCorpus() throws { try replay("FuzzJSON", JSONCheck.check) }
    func testRESPCorpus() throws { try replay("FuzzRESP", RESPCheck.check) }
    func testRecordKeyCorpus() throws { try replay("FuzzRecordKey", RecordKeyCheck.check) }

    /// Every fix for a fuzz finding has its input committed next to the seeds.
    func testEveryRegressionInputIsInTheCorpus() {
        let regressions = ["FuzzHTTPRequest", "FuzzJSON", "FuzzRESP", "FuzzRecordKey"].flatMap { target in
            FuzzDriver.corpusFiles(Self.corpus.appendingPathComponent(target).path).filter {
                $0.contains("/regression-")
            }
        }
        for name in [
            "FuzzHTTPRequest/regression-unknown-method-split", "FuzzHTTPRequest/regression-trailing-whitespace",
            "FuzzHTTPRequest/regression-unknown-method-after-body", "FuzzHTTPRequest/regression-unknown-method-prefix",
            "FuzzHTTPRequest/regression-empty-field-name", "FuzzHTTPRequest/regression-empty-transfer-encoding",
            "FuzzRecordKey/regression-combining-mark", "FuzzRecordKey/regression-combining-mark-start",
        ] {
            XCTAssertTrue(regressions.contains { $0.hasSuffix(name) }, "\(name) in \(regressions)")
        }
    }

    /// RequestValidation repeats the record routes' checks: its templates must be the gateway's.
    func testTheValidationTemplatesAreTheGatewaysRecordRoutes() throws {
        let loop = try Loop()
        let store = try Store(loop: loop, url: StoreURL(parsing: "redis://127.0.0.1:1"))
        let gateway = Gateway(loop: loop, store: store)
        let routes = Set(gateway.routeTemplates.map { "\($0.method) \($0.template)" })
        let kv = routes.filter { $0.contains("/v1/kv/") }
        XCTAssertEqual(Set(RequestValidation.recordTemplates.map { "\($0.method) \($0.template)" }), kv)
        store.close()
        XCTAssertEqual(loop.close(), 0)
    }
}
