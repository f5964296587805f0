package import Gateway
internal import HTTP

/// The pizzeria order workflow: the kitchen, its routes and its event streams,
/// attached to a gateway by the executable (Gateway can't import this module).
///
/// ```
///  HTTP ─▶ Gateway.Router ─▶ OrderRoutes ─▶ Kitchen (state machine on the loop) ─▶ OrderStore ─▶ Store
///                              └─ OrderEventStreams (SSE) ◀── Kitchen.onTransition
/// ```
/// Bounds: `maxStoreCommands` outstanding store commands (the rest queue in the kitchen),
/// `maxEventStreams` SSE clients; live orders cost about a few hundred bytes each.
/// Everything runs on the loop thread. See docs/orders.md.
package final class Pizzeria {
    package let kitchen: Kitchen
    private let streams: OrderEventStreams

    package init(gateway: Gateway, settings: KitchenSettings) {
        kitchen = Kitchen(loop: gateway.loop, store: gateway.store, settings: settings)
        streams = OrderEventStreams(kitchen: kitchen) { [weak server = gateway.server] in server?.isDraining ?? true }
        gateway.addRoutes { router in
            OrderRoutes(kitchen: kitchen, streams: streams).register(on: &router)
            DemoPage.register(on: &router)
        }
    }

    /// Seeds what is absent and resumes every unfinished order.
    package func start(completion: @escaping () -> Void = {}) { kitchen.start(completion: completion) }

    /// `GET /demo` needs no key (the page asks for one and sends it with each API call);
    /// called on the configuration the gateway is built with.
    package static func openDemoPage(in security: inout SecurityConfiguration) {
        security.policy.set("GET", DemoPage.path, .operational("demo"))
        security.publicEndpoints.insert("demo")
    }

    /// The routes and the scope each needs, for the auth layer.
    package static var routeScopes: [(method: String, template: String, scope: String)] {
        OrderRoutes.table.map { ($0.0, $0.1, $0.2) }
    }
}
