// swift-tools-version:6.0
import PackageDescription

// A Swift client generated from the root openapi.yaml by swift-openapi-generator's build
// plugin, and an XCTest that drives a real gateway and redis-server with it. A package of
// its own so that building the gateway never builds the generator (see README, "Generated
// clients"). Run by scripts/clients.sh.
let package = Package(
    name: "storegate-swift-client",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/apple/swift-openapi-urlsession", from: "1.4.0"),
    ],
    targets: [
        .target(
            name: "StoregateClient",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession"),
            ],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]),
        .testTarget(name: "StoregateClientTests", dependencies: ["StoregateClient"]),
    ]
)
