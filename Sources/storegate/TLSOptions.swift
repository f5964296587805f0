internal import Store
internal import TLS

/// The flags of TLS to the store (docs/tls.md); they apply to `rediss://` and
/// `rediss+cluster://` store URLs. Paths only: key material is never read here.
extension Configuration {
    /// Exit code when the store's certificate fails verification at start-up.
    static let certificateRejectedExitCode: Int32 = 76

    static var tlsOptions: [Option] {
        [
            pathOption(
                "--store-tls-ca-file", "rediss://: PEM file of the CAs that sign the store's certificate",
                "the system CA store", \.storeTLS.caFile),
            pathOption(
                "--store-tls-cert-file", "rediss://: PEM client certificate (chain), for tls-auth-clients", "none",
                \.storeTLS.certificateFile),
            pathOption(
                "--store-tls-key-file", "rediss://: PEM private key of --store-tls-cert-file", "none",
                \.storeTLS.keyFile),
            Option(
                flag: "--store-tls-server-name",
                help: "rediss://: name checked in the store's certificate (and sent as SNI) instead of the URL's host",
                defaultValue: "the URL's host"
            ) { config, value throws(ConfigurationError) in
                guard !value.isEmpty else { throw ConfigurationError("--store-tls-server-name must not be empty") }
                config.storeTLS.serverName = value
            },
            Option(
                flag: "--store-tls-insecure",
                help: "rediss://: on accepts any certificate (no verification; logged as a warning)",
                defaultValue: "off"
            ) { config, value throws(ConfigurationError) in
                guard value == "on" || value == "off" else {
                    throw ConfigurationError("--store-tls-insecure expects on or off")
                }
                config.storeTLS.insecure = value == "on"
            },
        ]
    }

    private static func pathOption(
        _ flag: String, _ help: String, _ defaultValue: String, _ path: WritableKeyPath<Configuration, String?>
    ) -> Option {
        Option(flag: flag, help: help, defaultValue: defaultValue) { config, value throws(ConfigurationError) in
            guard !value.isEmpty else { throw ConfigurationError("\(flag) expects a file path") }
            config[keyPath: path] = value
        }
    }

    /// Client certificate and key come together.
    func checkTLS() throws(ConfigurationError) {
        if (storeTLS.certificateFile == nil) != (storeTLS.keyFile == nil) {
            throw ConfigurationError("--store-tls-cert-file and --store-tls-key-file go together")
        }
    }
}

enum TLSAnnouncement {
    static func log(store: StoreURL, tls: TLSConfiguration) {
        guard store.secure else { return }
        if tls.insecure {
            Log.warn(
                "store_tls_insecure",
                [
                    (
                        "message",
                        "--store-tls-insecure IS ON: the store's certificate is NOT verified; anyone on the path can read and change every record"
                    )
                ])
            return
        }
        Log.info(
            "store_tls",
            [
                ("ca", tls.caFile ?? "system"), ("client_certificate", tls.certificateFile ?? "none"),
                ("server_name", tls.serverName ?? "the URL's host"),
            ])
    }
}
