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

    private struct Route: Hashable {
        let method: String
        let template: String
    }

    private var table: [Route: Requirement] = [
        Route(method: "GET", template: "/healthz"): .operational("healthz"),
        Route(method: "GET", template: "/readyz"): .operational("readyz"),
        Route(method: "GET", template: "/metrics"): .operational("metrics"),
        Route(method: "GET", template: "/openapi.yaml"): .operational("openapi.yaml"),
        Route(method: "GET", template: "/v1/cluster"): .admin,
        Route(method: "POST", template: "/v1/kitchen/restock"): .admin,
        Route(method: "POST", template: "/v1/batch"): .batchItems,
    ]

    package init() {}

    /// Overrides or adds one entry (for routes whose needs differ from the default).
    package mutating func set(_ method: String, _ template: String, _ requirement: Requirement) {
        table[Route(method: method, template: template)] = requirement
    }

    package func requirement(method: String, template: String) -> Requirement {
        let method = method == "HEAD" ? "GET" : method
        if let requirement = table[Route(method: method, template: template)] { return requirement }
        let scope: Scope = method == "GET" ? .read : .write
        return .namespace(scope, Self.hasNamespaceParameter(template) ? .parameter("ns") : .fixed(Self.fixedNamespace))
    }

    /// Whether the template has a `{ns}` segment (a byte scan: `String.contains` is slow).
    private static func hasNamespaceParameter(_ template: String) -> Bool {
        var template = template
        return template.withUTF8 { bytes in
            guard bytes.count >= 4 else { return false }
            for start in 0...(bytes.count - 4)
            where bytes[start] == UInt8(ascii: "{") && bytes[start + 1] == UInt8(ascii: "n")
                && bytes[start + 2] == UInt8(ascii: "s") && bytes[start + 3] == UInt8(ascii: "}")
            {
                return true
            }
            return false
        }
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
