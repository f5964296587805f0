package import Foundation

/// A throwaway certificate authority made with the `openssl` command at test time in
/// its own temporary directory (nothing is committed): a CA, a server certificate for
/// localhost and 127.0.0.1 (and one for localhost only), a client certificate, an expired server certificate, and a
/// second, unrelated CA. `remove()` (or deinit) deletes the directory.
package final class TestCertificates: @unchecked Sendable {
    package let directory: URL

    package init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "storegate-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("issued"), withIntermediateDirectories: true)
        try Data().write(to: directory.appendingPathComponent("index.txt"))
        try Data("01\n".utf8).write(to: directory.appendingPathComponent("serial"))
        try Data(authorityConfiguration.utf8).write(to: directory.appendingPathComponent("ca.cnf"))
        try selfSigned("ca", subject: "/CN=storegate test CA")
        try selfSigned("other-ca", subject: "/CN=an unrelated CA")
        try request("server", subject: "/CN=localhost", altNames: "DNS:localhost,IP:127.0.0.1")
        try sign("server", into: "server", validity: ["-days", "2"])
        try sign("server", into: "expired", validity: ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"])
        // The server's key again, named only by host: a connection by IP fails to verify it.
        try openssl([
            "req", "-new", "-key", path("server.key"), "-out", path("host-only.csr"), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost",
        ])
        try sign("host-only", into: "host-only", validity: ["-days", "2"])
        try request("client", subject: "/CN=storegate client", altNames: "DNS:storegate-client")
        try sign("client", into: "client", validity: ["-days", "2"])
    }

    deinit { remove() }

    package func remove() { try? FileManager.default.removeItem(at: directory) }

    package func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    package var caFile: String { path("ca.pem") }
    package var otherCAFile: String { path("other-ca.pem") }
    package var serverCertificate: String { path("server.pem") }
    package var serverKey: String { path("server.key") }
    package var expiredCertificate: String { path("expired.pem") }
    /// For `serverKey`, naming `DNS:localhost` and no IP address.
    package var hostOnlyCertificate: String { path("host-only.pem") }
    package var clientCertificate: String { path("client.pem") }
    package var clientKey: String { path("client.key") }

    private var authorityConfiguration: String {
        """
        [ ca ]
        default_ca = test_ca
        [ test_ca ]
        dir = \(directory.path)
        database = $dir/index.txt
        new_certs_dir = $dir/issued
        certificate = $dir/ca.pem
        private_key = $dir/ca.key
        serial = $dir/serial
        default_md = sha256
        policy = policy_any
        copy_extensions = copy
        unique_subject = no
        [ policy_any ]
        commonName = supplied

        """
    }

    private func selfSigned(_ name: String, subject: String) throws {
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            path("\(name).key"), "-out", path("\(name).pem"), "-days", "2", "-subj", subject,
        ])
    }

    private func request(_ name: String, subject: String, altNames: String) throws {
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(name).key"),
            "-out", path("\(name).csr"), "-subj", subject, "-addext", "subjectAltName=\(altNames)",
        ])
    }

    private func sign(_ request: String, into name: String, validity: [String]) throws {
        try openssl(
            [
                "ca", "-config", path("ca.cnf"), "-batch", "-notext", "-in", path("\(request).csr"), "-out",
                path("\(name).pem"),
            ]
                + validity)
    }

    private func openssl(_ arguments: [String]) throws {
        let result = try RedisCluster.run("openssl", arguments)
        guard result.status == 0 else { throw TestError("openssl \(arguments[0]) failed: \(result.output)") }
    }
}
