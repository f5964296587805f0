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
/// method; a GET route also answers HEAD. Paths are matched as bytes, segment by
/// segment, without splitting them first; a route without parameters binds nothing.
package struct Router {
    private struct Route {
        let method: String
        let template: String
        /// Routes with the same template share it (bound once per match).
        let templateID: Int
        let segments: [Segment]
        let parameterCount: Int
        let handler: RouteHandler
    }

    private enum Segment {
        case literal([UInt8])
        case parameter(String)
    }

    package enum Match {
        case found(template: String, parameters: [String: String], handler: RouteHandler)
        case methodNotAllowed(allow: [String])
        case notFound
    }

    private var routes: [Route] = []
    private var templateIDs: [String: Int] = [:]

    package init() {}

    package var templates: [(method: String, template: String)] { routes.map { ($0.method, $0.template) } }

    package mutating func add(_ method: String, _ template: String, _ handler: @escaping RouteHandler) {
        let segments = template.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            segment -> Segment in
            segment.hasPrefix("{") && segment.hasSuffix("}")
                ? .parameter(String(segment.dropFirst().dropLast())) : .literal(Array(segment.utf8))
        }
        let templateID = templateIDs[template] ?? templateIDs.count
        templateIDs[template] = templateID
        let parameterCount = segments.reduce(0) { count, segment in
            if case .parameter = segment { count + 1 } else { count }
        }
        routes.append(
            Route(
                method: method, template: template, templateID: templateID, segments: segments,
                parameterCount: parameterCount, handler: handler))
    }

    package func match(method: String, path: Substring) -> Match {
        var path = path
        return path.withUTF8 { match(method: method, path: $0) }
    }

    private func match(method: String, path: UnsafeBufferPointer<UInt8>) -> Match {
        // What precedes the first `/` is not part of any template.
        guard let slash = path.firstIndex(of: UInt8(ascii: "/")) else { return .notFound }
        let rest = UnsafeBufferPointer(rebasing: path[(slash + 1)...])
        var allowed: [String] = []
        // Routes of one template sit side by side (one per method): bind the path once for them.
        var lastTemplateID = -1
        var lastParameters: [String: String]?
        for route in routes {
            if route.templateID != lastTemplateID {
                lastTemplateID = route.templateID
                lastParameters = Self.bind(route, to: rest)
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

    /// The route's parameters if `path` (after its first `/`) has the route's segments.
    private static func bind(_ route: Route, to path: UnsafeBufferPointer<UInt8>) -> [String: String]? {
        // First the shape: the same segment count, and every literal in place.
        var start = 0
        var index = 0
        for segment in route.segments {
            var end = start
            while end < path.count, path[end] != UInt8(ascii: "/") { end += 1 }
            let isLast = index == route.segments.count - 1
            guard isLast ? end == path.count : end < path.count else { return nil }
            switch segment {
            case .literal(let text):
                guard end - start == text.count else { return nil }
                for offset in 0..<text.count where text[offset] != path[start + offset] { return nil }
            case .parameter:
                guard end > start else { return nil }
            }
            start = end + 1
            index += 1
        }
        guard route.parameterCount > 0 else { return [:] }
        // Then the parameters, decoded.
        var parameters = [String: String](minimumCapacity: route.parameterCount)
        start = 0
        for segment in route.segments {
            var end = start
            while end < path.count, path[end] != UInt8(ascii: "/") { end += 1 }
            if case .parameter(let name) = segment {
                guard let decoded = percentDecoded(UnsafeBufferPointer(rebasing: path[start..<end])) else { return nil }
                parameters[name] = decoded
            }
            start = end + 1
        }
        return parameters
    }
}

/// Decodes `%XX` escapes; nil for a malformed escape or bytes that are not UTF-8.
package func percentDecoded(_ text: Substring) -> String? {
    guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
    return percentDecodedBytes(text.utf8)
}

/// `percentDecoded` for bytes (a path segment, which llhttp has checked is ASCII or UTF-8
/// as sent; bytes that are not UTF-8 give nil, as escapes that decode to such bytes do).
func percentDecoded(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
    guard bytes.contains(UInt8(ascii: "%")) else { return String(validating: bytes, as: UTF8.self) }
    return percentDecodedBytes(bytes)
}

private func percentDecodedBytes(_ text: some Sequence<UInt8>) -> String? {
    var bytes: [UInt8] = []
    var iterator = text.makeIterator()
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
