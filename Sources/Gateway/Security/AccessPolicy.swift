/// What a route needs, looked up by method + route template. Routes not in the table
/// get the default: GET/HEAD need `read`, every other method `write`, on the
/// namespace in the `{ns}` path parameter — or on `AccessPolicy.fixedNamespace` for a
/// route without one (the pizzeria's orders and kitchen).
package enum Requirement: Equatable, Sendable {
    /// /healthz, /readyz, /metrics, /openapi.yaml: public, or any valid key, by configuration.
    case operational(String)
    case admin
    case namespace(Scope, NamespaceSource)
    /// POST /v1/batch: every item's namespace, read for `get` and write otherwise.
    case batchItems
}

package enum NamespaceSource: Equatable, Sendable {
    case parameter(String)
    case fixed(String)
}

package struct AccessPolicy: Sendable {
    /// The namespace of routes that have no `{ns}` parameter.
    package static let fixedNamespace = "pizzeria"
    /// The names `--public-endpoints` takes.
    package static let operationalEndpoints = ["healthz", "readyz", "metrics", "openapi.yaml"]

    private var table: [String: Requirement] = [
        "GET /healthz": .operational("healthz"),
        "GET /readyz": .operational("readyz"),
        "GET /metrics": .operational("metrics"),
        "GET /openapi.yaml": .operational("openapi.yaml"),
        "GET /v1/cluster": .admin,
        "POST /v1/kitchen/restock": .admin,
        "POST /v1/batch": .batchItems,
    ]

    package init() {}

    /// Overrides or adds one entry (for routes whose needs differ from the default).
    package mutating func set(_ method: String, _ template: String, _ requirement: Requirement) {
        table["\(method) \(template)"] = requirement
    }

    package func requirement(method: String, template: String) -> Requirement {
        let method = method == "HEAD" ? "GET" : method
        if let requirement = table["\(method) \(template)"] { return requirement }
        let scope: Scope = method == "GET" ? .read : .write
        return .namespace(scope, template.contains("{ns}") ? .parameter("ns") : .fixed(Self.fixedNamespace))
    }
}

/// Client-facing security settings: the API keys (auth is off when there are none),
/// which operational endpoints stay public, and the CORS origins (CORS is off when
/// there are none).
package struct SecurityConfiguration: Sendable {
    package var keys = APIKeyRing()
    package var publicEndpoints: Set<String> = ["healthz", "readyz"]
    package var corsOrigins: [String] = []
    package var policy = AccessPolicy()

    package init() {}

    package var authEnabled: Bool { !keys.isEmpty }
    package var isInactive: Bool { keys.isEmpty && corsOrigins.isEmpty }
}
