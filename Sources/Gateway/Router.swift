package import HTTP

/// What a route handler gets: the request, the path parameters, and the responder.
package struct RouteContext {
    package let request: HTTPRequest
    package let parameters: RouteParameters
    package let responder: HTTPResponder
    /// The API key's id (`keys.txt:3`) when auth is on; nil otherwise. A hook for
    /// per-key limits such as SSE connections per key.
    package var principal: String? = nil
}

package typealias RouteHandler = (RouteContext) -> Void

/// A matched route's path parameters by name. A template has a few, so a short scan
/// finds one; the names are the route's own array, so binding allocates only the values.
package struct RouteParameters: ExpressibleByDictionaryLiteral, Sendable {
    private var names: [String]
    private var values: [String]

    package init() {
        names = []
        values = []
    }

    init(names: [String], values: [String]) {
        self.names = names
        self.values = values
    }

    package init(dictionaryLiteral elements: (String, String)...) {
        names = elements.map(\.0)
        values = elements.map(\.1)
    }

    package subscript(name: String) -> String? {
        for index in names.indices where names[index] == name { return values[index] }
        return nil
    }

    package var count: Int { names.count }
}

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
        /// Its segments in `Router.segments`.
        let segments: Range<Int>
        let parameterNames: [String]
        let handler: RouteHandler
    }

    /// A literal (its bytes in `Router.literals`) or a parameter (its name's index).
    private struct Segment {
        let literalStart: Int
        let literalCount: Int
        let parameter: Int?
    }

    package enum Match {
        case found(template: String, parameters: RouteParameters, handler: RouteHandler)
        case methodNotAllowed(allow: [String])
        case notFound
    }

    private var routes: [Route] = []
    private var templateIDs: [String: Int] = [:]
    /// Every route's segments, and the literal segments' bytes, in two flat tables of
    /// plain values (matching reads them without touching a reference count).
    private var segments: [Segment] = []
    private var literals: [UInt8] = []

    package init() {}

    package var templates: [(method: String, template: String)] { routes.map { ($0.method, $0.template) } }

    package mutating func add(_ method: String, _ template: String, _ handler: @escaping RouteHandler) {
        let firstSegment = segments.count
        var parameterNames: [String] = []
        for segment in template.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            if segment.hasPrefix("{") && segment.hasSuffix("}") {
                segments.append(Segment(literalStart: 0, literalCount: 0, parameter: parameterNames.count))
                parameterNames.append(String(segment.dropFirst().dropLast()))
            } else {
                segments.append(Segment(literalStart: literals.count, literalCount: segment.utf8.count, parameter: nil))
                literals += segment.utf8
            }
        }
        let templateID = templateIDs[template] ?? templateIDs.count
        templateIDs[template] = templateID
        routes.append(
            Route(
                method: method, template: template, templateID: templateID, segments: firstSegment..<segments.count,
                parameterNames: parameterNames, handler: handler))
    }

    package func match(method: String, path: Substring) -> Match {
        var path = path
        return path.withUTF8 { match(method: method, path: $0) }
    }

    /// `match(method:path:)` for a whole request-target: the path is what precedes any `?`.
    package func match(method: String, target: String) -> Match {
        var target = target  // withUTF8 is mutating (it may make a bridged string contiguous)
        return target.withUTF8 { bytes in
            match(
                method: method,
                path: UnsafeBufferPointer(rebasing: bytes[..<(bytes.firstIndex(of: 0x3F) ?? bytes.count)]))
        }
    }

    private func match(method: String, path: UnsafeBufferPointer<UInt8>) -> Match {
        // What precedes the first `/` is not part of any template.
        guard let slash = path.firstIndex(of: UInt8(ascii: "/")) else { return .notFound }
        let rest = UnsafeBufferPointer(rebasing: path[(slash + 1)...])
        // A template binds only a path with as many segments: most are passed over on that.
        var segmentCount = 1
        for byte in rest where byte == UInt8(ascii: "/") { segmentCount += 1 }
        var allowed: [String] = []
        // Routes of one template sit side by side (one per method): bind the path once for them.
        var lastTemplateID = -1
        var lastParameters: RouteParameters?
        return routes.withUnsafeBufferPointer { routes in
            for index in routes.indices {
                if routes[index].templateID != lastTemplateID {
                    lastTemplateID = routes[index].templateID
                    lastParameters =
                        routes[index].segments.count == segmentCount
                        ? bind(routes[index].segments, to: rest) { routes[index].parameterNames } : nil
                }
                guard let parameters = lastParameters else { continue }
                let routeMethod = routes[index].method
                if routeMethod == method || (method == "HEAD" && routeMethod == "GET") {
                    return .found(
                        template: routes[index].template, parameters: parameters, handler: routes[index].handler)
                }
                allowed.append(routeMethod)
                if routeMethod == "GET" { allowed.append("HEAD") }
            }
            return allowed.isEmpty ? .notFound : .methodNotAllowed(allow: allowed)
        }
    }

    /// The route's parameters if `path` (after its first `/`) has the route's segments:
    /// one pass, each segment's end found once, a parameter decoded as soon as it is
    /// reached (a later literal that differs drops what was decoded: rare, as the caller
    /// passes only routes with as many segments).
    private func bind(_ range: Range<Int>, to path: UnsafeBufferPointer<UInt8>, names: () -> [String])
        -> RouteParameters?
    {
        guard !range.isEmpty else { return nil }
        return segments.withUnsafeBufferPointer { segments in
            literals.withUnsafeBufferPointer { literals in
                var start = 0
                var values: [String] = []
                for index in range {
                    let segment = segments[index]
                    let end = Self.segmentEnd(path, from: start)
                    guard index == range.upperBound - 1 ? end == path.count : end < path.count else { return nil }
                    if segment.parameter == nil {
                        guard end - start == segment.literalCount else { return nil }
                        for offset in 0..<segment.literalCount
                        where literals[segment.literalStart + offset] != path[start + offset] {
                            return nil
                        }
                    } else {
                        guard end > start,
                            let decoded = percentDecoded(UnsafeBufferPointer(rebasing: path[start..<end]))
                        else { return nil }
                        if values.isEmpty { values.reserveCapacity(range.count) }
                        values.append(decoded)
                    }
                    start = end + 1
                }
                return values.isEmpty ? RouteParameters() : RouteParameters(names: names(), values: values)
            }
        }
    }

    @inline(__always)
    private static func segmentEnd(_ path: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var end = start
        while end < path.count, path[end] != UInt8(ascii: "/") { end += 1 }
        return end
    }
}

/// Decodes `%XX` escapes; nil for a malformed escape or bytes that are not UTF-8.
package func percentDecoded(_ text: Substring) -> String? {
    guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
    return percentDecodedBytes(text.utf8)
}

/// `percentDecoded` for the bytes of a path segment.
func percentDecoded(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
    // Without escapes the bytes are a piece of a String cut at `/`: valid UTF-8 already.
    guard bytes.contains(UInt8(ascii: "%")) else { return String(decoding: bytes, as: UTF8.self) }
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
