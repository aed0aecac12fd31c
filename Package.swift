// swift-tools-version: 6.1
import PackageDescription

// Imports point down only: Core <- Engine <- Journal <- Node <- Projections <- Venue <- Server, FIX <- bourse.
// The gateways (Server, FIX) see the node through Venue and Core's values: neither the engine nor the journal.
let package = Package(
    name: "Bourse",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bourse", targets: ["bourse"]),
        .library(name: "BourseCore", targets: ["BourseCore"]),
        .library(name: "BourseEngine", targets: ["BourseEngine"]),
        .library(name: "BourseJournal", targets: ["BourseJournal"]),
        .library(name: "BourseNode", targets: ["BourseNode"]),
        .library(name: "BourseProjections", targets: ["BourseProjections"]),
        .library(name: "BourseVenue", targets: ["BourseVenue"]),
        .library(name: "BourseServer", targets: ["BourseServer"]),
        .library(name: "BourseMarketData", targets: ["BourseMarketData"]),
        .library(name: "BourseFIX", targets: ["BourseFIX"]),
        .library(name: "BoursePostTrade", targets: ["BoursePostTrade"]),
        .library(name: "BourseRisk", targets: ["BourseRisk"]),
        .library(name: "BourseKafka", targets: ["BourseKafka"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C for what Swift cannot say: a cache prefetch hint, and CRC-32C on the CPU's instruction.
        .target(name: "CBourseSupport"),
        .target(name: "BourseCore", dependencies: ["CBourseSupport"]),
        .target(name: "BourseEngine", dependencies: ["BourseCore", "CBourseSupport"]),
        .target(name: "BourseJournal", dependencies: ["BourseCore", "BourseEngine"]),
        // The sequencer, and the metrics registry every part of a node records into (swift-metrics, Prometheus).
        .target(name: "BourseNode", dependencies: [
            "BourseCore", "BourseEngine", "BourseJournal",
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // Everything downstream of the sequencer: projections of the journal, their runner and their stores.
        .target(name: "BourseProjections", dependencies: [
            "BourseCore", "BourseJournal", "BourseNode",
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // librdkafka, from Debian's librdkafka-dev.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        // The journal on Kafka: the publisher and the reader of the event topic.
        .target(name: "BourseKafka", dependencies: [
            "BourseCore", "BourseEngine", "BourseJournal", "BourseNode", "BourseProjections", "CRdKafka",
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        // Market data from other venues' feeds (ITCH), pure: bytes in, values out.
        .target(name: "BourseMarketData", dependencies: ["BourseCore"]),
        // Post-trade: its rules, pure (capture forms, business dates, the audit chain), and its projections.
        .target(name: "BoursePostTrade", dependencies: [
            "BourseCore", "BourseEngine", "BourseNode", "BourseProjections", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The risk platform: marks, P&L, margin and exposure per account, client and firm, pure, and its projection.
        .target(name: "BourseRisk", dependencies: ["BourseCore", "BourseJournal", "BourseNode", "BourseProjections"]),
        // Feeds over the network: the venue simulator and the feed handler (SoupBinTCP on SwiftNIO).
        .target(name: "BourseFeeds", dependencies: [
            "BourseCore", "BourseMarketData",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // The node assembled from its data directory: the sequencer, the projections, market data, alerts, the
        // scheduler and the simulation. What every gateway talks to.
        .target(name: "BourseVenue", dependencies: [
            "BourseCore", "BourseEngine", "BourseJournal", "BourseNode", "BourseProjections", "BourseMarketData", "BourseFeeds",
            "BoursePostTrade", "BourseRisk", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        // HTTP gateway: Alpaca-shaped REST and WebSocket streams over the venue, API keys, the web page.
        .target(
            name: "BourseServer",
            dependencies: [
                "BourseCore", "BourseNode", "BourseProjections", "BourseVenue", "BourseMarketData", "BourseFeeds", "BoursePostTrade", "BourseRisk",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            // The web UI is compiled into the binary, so a venue serves it wherever the binary goes.
            resources: [.embedInCode("Web/index.html"), .embedInCode("Web/app.js"), .embedInCode("Web/accounts.js"), .embedInCode("Web/sessions.js"), .embedInCode("Web/posttrade.js"), .embedInCode("Web/risk.js"), .embedInCode("Web/app.css")]
        ),
        // FIX 4.4 gateway: sessions as QuickFIX keeps them, order entry, drop copy and trade capture, on SwiftNIO.
        .target(
            name: "BourseFIX",
            dependencies: [
                "BourseCore", "BourseNode", "BourseProjections", "BourseVenue", "BoursePostTrade",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "bourse",
            dependencies: [
                "BourseCore", "BourseEngine", "BourseJournal", "BourseNode", "BourseProjections", "BourseVenue", "BourseServer", "BourseMarketData",
                "BourseFIX", "BoursePostTrade", "BourseRisk", "BourseKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Seeded command streams, the reference venue and the quantity ledger, shared by the tests.
        .target(name: "BourseTestSupport", dependencies: ["BourseCore", "BourseEngine", "BourseProjections"], path: "Tests/BourseTestSupport"),
        .testTarget(name: "BourseCoreTests", dependencies: ["BourseCore"]),
        .testTarget(name: "BoursePostTradeTests", dependencies: ["BourseCore", "BourseNode", "BoursePostTrade"]),
        .testTarget(name: "BourseRiskTests", dependencies: ["BourseCore", "BourseEngine", "BourseRisk", "BourseTestSupport"]),
        .testTarget(name: "BourseFIXTests", dependencies: [
            "BourseCore", "BourseEngine", "BourseNode", "BourseProjections", "BourseVenue", "BourseFIX", "BourseServer", "BourseTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], resources: [.copy("Scripts")]),
        .testTarget(name: "BourseProjectionsTests", dependencies: [
            "BourseCore", "BourseJournal", "BourseNode", "BourseProjections", "BourseEngine", "BourseTestSupport",
        ]),
        .testTarget(name: "BourseMarketDataTests", dependencies: ["BourseCore", "BourseMarketData", "BourseFeeds", "BourseTestSupport"]),
        .testTarget(name: "BourseEngineTests", dependencies: ["BourseCore", "BourseEngine", "BourseTestSupport"]),
        .testTarget(name: "BourseJournalTests", dependencies: ["BourseCore", "BourseEngine", "BourseJournal", "BourseTestSupport"]),
        .testTarget(name: "BourseServerTests", dependencies: [
            "BourseCore", "BourseEngine", "BourseNode", "BourseProjections", "BourseVenue", "BourseServer", "BourseTestSupport", "BourseFeeds", "BourseMarketData",
            "BourseRisk", .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // Depends on the executable so that `swift test` builds it: the crash test runs it as a child process.
        .testTarget(name: "BourseNodeTests", dependencies: ["BourseCore", "BourseEngine", "BourseJournal", "BourseNode", "bourse", "BourseTestSupport", "BourseFIX", "BourseMarketData", "BourseProjections", "BourseVenue", "BourseServer", "BoursePostTrade", "BourseRisk", "BourseKafka"]),
    ],
    swiftLanguageModes: [.v6]
)
