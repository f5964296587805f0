internal import Gateway
internal import HTTP

/// `GET /demo`: the pizzeria you can watch, one self-contained HTML page (its CSS and
/// script inline) compiled into the binary from `Resources/demo.html`, so a container
/// image needs no file beside the executable. The page is public: it holds no data,
/// and a browser can't send a key with the navigation that loads it. Every call it
/// makes is an ordinary API call under the usual auth and CORS rules (docs/orders.md).
enum DemoPage {
    static let path = "/demo"

    /// Nothing but this origin: no other host is ever contacted, no frame may embed it.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
        + "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let headers = HTTPHeaders([
        ("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache"),
        ("Content-Security-Policy", contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ])

    static func register(on router: inout Router) {
        router.add("GET", path) { context in
            respond(context) { () throws(GatewayError) in
                try OrderRoutes.noQuery(context)
                context.responder.respond(HTTPResponse(status: 200, headers: headers, body: PackageResources.demo_html))
                return nil
            }
        }
    }
}
