internal import Gateway
internal import Store

#if canImport(Glibc)
internal import Glibc
#endif

/// The client-security flags (docs/security.md) and the two environment-only
/// secrets: STOREGATE_API_KEYS (key lines separated by `;` or newlines) and
/// STOREGATE_STORE_PASSWORD (used when the store URL has no password). Secrets have
/// no flag, so they never show in the process list.
extension Configuration {
    static var securityOptions: [Option] {
        [
            Option(
                flag: "--api-keys-file",
                help: "API keys, one KEY:SCOPES:NAMESPACES a line; auth is off when no keys are configured",
                defaultValue: "none"
            ) { config, value throws(ConfigurationError) in
                config.apiKeysFile = value
            },
            Option(
                flag: "--public-endpoints",
                help:
                    "operational endpoints answered without a key when auth is on: a list of healthz, readyz, metrics, openapi.yaml; or none, all",
                defaultValue: "healthz,readyz"
            ) { config, value throws(ConfigurationError) in
                config.security.publicEndpoints = try publicEndpoints(value)
            },
            Option(
                flag: "--cors-origins",
                help: "browser origins allowed by CORS, comma-separated (scheme://host[:port], or *); off when empty",
                defaultValue: "none"
            ) { config, value throws(ConfigurationError) in
                let origins = value.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
                if let bad = origins.first(where: { !isValidCORSOrigin($0) }) {
                    throw ConfigurationError("--cors-origins: '\(bad.prefix(100))' is not * or scheme://host[:port]")
                }
                config.security.corsOrigins = origins
            },
        ]
    }

    static let securityEnvironmentHelp = """

        Secrets, from the environment only:
          STOREGATE_API_KEYS        API key lines as in --api-keys-file, separated by ';' or newlines
          STOREGATE_STORE_PASSWORD  the store password when --store has none

        """

    /// After flags and environment are read: loads the keys and the store password.
    mutating func finishSecurity(environment: [String: String]) throws(ConfigurationError) {
        var keys = APIKeyRing()
        var fileText: String?
        if let path = apiKeysFile {
            fileText = ProcessEnvironment.readTextFile(path)
            if fileText == nil { throw ConfigurationError("--api-keys-file: cannot read '\(path)'") }
        }
        do throws(APIKeyError) {
            if let path = apiKeysFile, let fileText { try keys.add(fileText, source: path) }
            if let text = environment["STOREGATE_API_KEYS"] {
                try keys.add(text, source: "STOREGATE_API_KEYS", semicolonSeparated: true)
            }
        } catch {
            throw ConfigurationError("API keys: \(error.description)")
        }
        security.keys = keys
        if let password = environment["STOREGATE_STORE_PASSWORD"], !password.isEmpty, store.password == nil {
            store.password = password
        }
    }

    private static func publicEndpoints(_ value: String) throws(ConfigurationError) -> Set<String> {
        switch value {
        case "none": return []
        case "all": return Set(AccessPolicy.operationalEndpoints)
        default:
            var names = Set<String>()
            for name in value.split(separator: ",").map({ String($0).trimmingSpaces() }) {
                guard AccessPolicy.operationalEndpoints.contains(name) else {
                    throw ConfigurationError(
                        "--public-endpoints: unknown endpoint '\(name.prefix(40))' (healthz, readyz, metrics, openapi.yaml, none, all)"
                    )
                }
                names.insert(name)
            }
            return names
        }
    }
}

/// Start-up lines about client security; auth off is said at warn level, loudly.
enum SecurityAnnouncement {
    static func log(_ security: SecurityConfiguration) {
        if security.authEnabled {
            Log.info(
                "auth_on",
                [
                    ("api_keys", String(security.keys.count)),
                    ("public_endpoints", security.publicEndpoints.sorted().joined(separator: ",")),
                ])
        } else {
            Log.warn(
                "auth_off",
                [
                    (
                        "message",
                        "NO API KEYS CONFIGURED: every client may read and write every namespace; set --api-keys-file or STOREGATE_API_KEYS"
                    )
                ])
        }
        if !security.corsOrigins.isEmpty {
            Log.info("cors_on", [("origins", security.corsOrigins.joined(separator: ","))])
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
