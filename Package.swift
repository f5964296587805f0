// swift-tools-version:6.0
import PackageDescription

// One module per step of the data path; see docs/architecture.md (flags:
// docs/configuration.md). CLibUV, CLLHTTP and COpenSSL are pkg-config system libraries: run
// scripts/setup.sh once and build with `--pkg-config-path .deps/lib/pkgconfig`
// (the scripts do both).
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    // Release builds skip the run-time exclusivity checks (about a tenth of a request's
    // instructions); debug builds, and so the test suite and the sanitizer runs, keep
    // them. docs/performance.md has the measurement.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "storegate",
    products: [
        .executable(name: "storegate", targets: ["storegate"]),
        .executable(name: "StoreBench", targets: ["StoreBench"]),
        .executable(name: "SyncTwin", targets: ["SyncTwin"]),
    ],
    targets: [
        .systemLibrary(
            name: "CLibUV", pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(
            name: "CLLHTTP", pkgConfig: "libllhttp",
            providers: [.apt(["libllhttp-dev"])]),
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "libssl",
            providers: [.apt(["libssl-dev"])]),
        .target(name: "EventLoop", dependencies: ["CLibUV"], swiftSettings: strictSettings),
        .target(name: "JSON", swiftSettings: strictSettings),
        .target(name: "HTTP", dependencies: ["EventLoop", "CLLHTTP", "JSON"], swiftSettings: strictSettings),
        .target(name: "RESP", swiftSettings: strictSettings),
        .target(name: "TLS", dependencies: ["COpenSSL"], swiftSettings: strictSettings),
        .target(name: "Store", dependencies: ["EventLoop", "RESP", "TLS"], swiftSettings: strictSettings),
        .target(
            name: "Gateway", dependencies: ["HTTP", "EventLoop", "Store", "RESP", "JSON", "TLS"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Orders", dependencies: ["Gateway", "Store", "EventLoop", "HTTP", "RESP", "JSON"],
            // GET /demo's page, compiled into the binary (no resource bundle beside it).
            resources: [.embedInCode("Resources/demo.html")], swiftSettings: strictSettings),
        .executableTarget(
            name: "storegate", dependencies: ["EventLoop", "HTTP", "Store", "Gateway", "Orders", "JSON", "TLS"],
            swiftSettings: strictSettings),
        // The store client alone, for scripts/bench/records_and_store.sh; not in the production binary.
        .executableTarget(
            name: "StoreBench", dependencies: ["EventLoop", "Store"], path: "Benchmarks/StoreBench",
            swiftSettings: strictSettings),
        // The gateway's record GET and PUT with a thread per connection, for
        // scripts/bench/sync-vs-async.sh (docs/sync-vs-async.md); not in the production binary.
        .executableTarget(
            name: "SyncTwin", dependencies: ["Gateway", "HTTP", "RESP"], path: "Benchmarks/SyncTwin",
            swiftSettings: strictSettings),

        .target(
            name: "TestSupport", dependencies: ["EventLoop"], path: "Tests/TestSupport",
            swiftSettings: strictSettings),
        .testTarget(
            name: "EventLoopTests", dependencies: ["EventLoop", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "HTTPTests", dependencies: ["HTTP", "EventLoop", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "RESPTests", dependencies: ["RESP", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "StoreTests", dependencies: ["Store", "RESP", "EventLoop", "TestSupport", "TLS"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "ClusterTests",
            dependencies: ["Store", "RESP", "EventLoop", "TestSupport", "storegate", "TLS"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "GatewayTests",
            dependencies: ["Gateway", "HTTP", "EventLoop", "Store", "RESP", "TestSupport", "storegate", "Orders"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "OrdersTests", dependencies: ["Orders", "Gateway", "TestSupport"], swiftSettings: strictSettings),
    ]
)

// Fuzzing (docs/fuzzing.md). FuzzChecks holds each target's property check; the XCTest
// suite runs it over Fuzz/corpus. Each Fuzz* executable is a libFuzzer target when built
// by scripts/fuzz.sh (`--sanitize=fuzzer -Xswiftc -DFUZZING`) and a corpus replayer
// (`FuzzJSON FILE|DIR…`) in an ordinary build.
let fuzzTargets = ["FuzzHTTPRequest", "FuzzJSON", "FuzzRESP", "FuzzRecordKey"]
package.targets +=
    [
        .target(
            name: "FuzzChecks", dependencies: ["HTTP", "RESP", "JSON", "Gateway", "Store", "EventLoop"],
            path: "Fuzz/Checks",
            swiftSettings: strictSettings),
        .testTarget(
            name: "FuzzTests", dependencies: ["FuzzChecks", "JSON", "Gateway", "Store", "EventLoop"],
            swiftSettings: strictSettings),
    ]
    + fuzzTargets.map {
        .executableTarget(
            name: $0, dependencies: ["FuzzChecks"], path: "Fuzz/Targets/\($0)", swiftSettings: strictSettings)
    }
