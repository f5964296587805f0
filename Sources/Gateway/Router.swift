package import HTTP

/// What a route handler gets: the request, the path parameters, and the responder.
package struct RouteContext {
    package let request: HTTPRequest
    package let parameters: [String: String]
    package let responder: HTTPResponder
    /// The API key's id (`keys.txt:3`) when auth is on; nil otherwise. A hook for
    /// per-key limits such as SSE connections per key.
    package var principal: String? = nil
}

package typealias RouteHandler = (RouteContext) -> Void

/// Routes compiled once into a table of path templates (`/v1/kv/{ns}/{set}/{key}`).
/// Answers 404 for an unknown path and 405 with `Allow` for a known path with another
/// method; a GET route also answers HEAD.
package struct Router {
    private struct Route {
        let method: String
        let template: String
        let segments: [Segment]
        let handler: RouteHandler
    }

    private enum Segment: Equatable {
        case literal(String)
        case parameter(String)
    }

    package enum Match {
        case found(template: String, parameters: [String: String], handler: RouteHandler)
        case methodNotAllowed(allow: [String])
        case notFound
    }

    private var routes: [Route] = []

    package init() {}

    package var templates: [(method: String, template: String)] { routes.map { ($0.method, $0.template) } }

    package mutating func add(_ method: String, _ template: String, _ handler: @escaping RouteHandler) {
        let segments = template.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            segment -> Segment in
            segment.hasPrefix("{") && segment.hasSuffix("}")
                ? .parameter(String(segment.dropFirst().dropLast())) : .literal(String(segment))
        }
        routes.append(Route(method: method, template: template, segments: segments, handler: handler))
    }

    package func match(method: String, path: Substring) -> Match {
        // Split and compared as bytes: Character-wise work costs more than the rest of the match.
        let parts = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        var allowed: [String] = []
        // Routes of one template sit side by side (one per method): bind the path once for them.
        var lastTemplate: String?
        var lastParameters: [String: String]?
        for route in routes {
            if route.template != lastTemplate {
                lastTemplate = route.template
                lastParameters = Self.bind(route.segments, to: parts)
            }
            guard let parameters = lastParameters else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(template: route.template, parameters: parameters, handler: route.handler)
            }
            allowed.append(route.method)
            if route.method == "GET" { allowed.append("HEAD") }
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allow: allowed)
    }

    private static func bind(_ segments: [Segment], to parts: ArraySlice<Substring.UTF8View>) -> [String: String]? {
        guard path(startsWithSlash: parts), segments.count == parts.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let text):
                guard part.elementsEqual(text.utf8) else { return nil }
            case .parameter(let name):
                guard !part.isEmpty, let decoded = percentDecoded(Substring(part)) else { return nil }
                parameters[name] = decoded
            }
        }
        return parameters
    }

    private static func path(startsWithSlash parts: ArraySlice<Substring.UTF8View>) -> Bool { !parts.isEmpty }
}

/// Decodes `%XX` escapes; nil for a malformed escape or bytes that are not UTF-8.
package func percentDecoded(_ text: Substring) -> String? {
    guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
    var bytes: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let byte = iterator.next() {
        guard byte == UInt8(ascii: "%") else {
            bytes.append(byte)
            continue
        }
        guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
            return nil
        }
        bytes.append(high << 4 | low)
    }
    return String(validating: bytes, as: UTF8.self)
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}
