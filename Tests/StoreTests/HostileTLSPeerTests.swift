import EventLoop
import Foundation
import RESP
import Store
import TLS
import TestSupport
import XCTest

/// A TLS peer that misbehaves, played by a small Python `ssl` server: bytes that are
/// not TLS at all, garbage outside any record after a good handshake, and garbage
/// plaintext (not RESP) inside good records. Each fails the command with a clear error,
/// never hangs it, and leaves nothing open behind.
final class HostileTLSPeerTests: XCTestCase {
    private static let server = #"""
        import os, socket, ssl, sys
        certificate, key, mode = sys.argv[1:4]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        print(listener.getsockname()[1], flush=True)
        while True:
            connection, _ = listener.accept()
            try:
                if mode == "not-tls":
                    connection.sendall(b"-ERR this is plain RESP, not TLS\r\n" + os.urandom(512))
                    connection.recv(4096)
                    continue
                session = context.wrap_socket(connection, server_side=True)
                session.recv(4096)
                if mode == "garbage-records":
                    raw = socket.socket(fileno=os.dup(session.fileno()))
                    raw.sendall(b"\x17\x03\x03\x00\x40" + os.urandom(64) + os.urandom(256))
                    raw.detach()
                else:
                    session.sendall(b"\x00\x01not RESP at all\r\n" + os.urandom(256))
                session.recv(4096)
            except Exception:
                pass
            finally:
                connection.close()
        """#

    private func withHostilePeer(_ mode: String, _ body: (UInt16, TestCertificates) throws -> Void) throws {
        let certificates = try TestCertificates()
        let script = certificates.path("hostile.py")
        try Data(Self.server.utf8).write(to: URL(fileURLWithPath: script))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, certificates.serverCertificate, certificates.serverKey, mode]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        let port = try XCTUnwrap(UInt16(line.trimmingCharacters(in: .whitespacesAndNewlines)), "port: \(line)")
        try body(port, certificates)
    }

    private func check(
        _ mode: String, expecting kinds: [StoreError.Kind], saying words: String, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        try withHostilePeer(mode) { port, certificates in
            var limits = StoreLimits()
            limits.connectTimeoutMs = 2000
            let harness = try StoreHarness(
                url: "rediss://127.0.0.1:\(port)", limits: limits, tls: TLSConfiguration(caFile: certificates.caFile))
            for attempt in 0..<3 {
                let result = harness.call(["PING"], timeoutMs: 3000)
                let error = try XCTUnwrap(result.error, "\(mode) #\(attempt): \(result)", file: file, line: line)
                XCTAssertTrue(
                    kinds.contains(error.kind), "\(mode) #\(attempt): \(error)", file: file, line: line)
                XCTAssertTrue(error.message.contains(words), "\(mode) #\(attempt): \(error)", file: file, line: line)
            }
            harness.run(within: 1) { false }
            XCTAssertEqual(harness.shutdown(), 0, "\(mode): libuv handles left open", file: file, line: line)
        }
    }

    func testBytesThatAreNotTLSFailTheHandshake() throws {
        try check("not-tls", expecting: [.nodeDown], saying: "TLS handshake failed")
    }

    func testGarbageRecordsAfterTheHandshakeCloseTheConnection() throws {
        try check(
            "garbage-records", expecting: [.nodeDown, .connectionLost(outcomeUnknown: false)],
            saying: "TLS record failed")
    }

    func testGarbagePlaintextInGoodRecordsIsAProtocolError() throws {
        try check(
            "garbage-plaintext", expecting: [.nodeDown, .protocolError, .connectionLost(outcomeUnknown: false)],
            saying: "bad reply")
    }
}
