// swift-tools-version: 6.1
import PackageDescription

// Imports point down only: Core <- Engine <- Journal <- Node <- bourse.
let package = Package(
    name: "Bourse",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BourseCore", targets: ["BourseCore"]),
        .library(name: "BourseEngine", targets: ["BourseEngine"]),
    ],
    targets: [
        .target(name: "BourseCore"),
        .target(name: "BourseEngine", dependencies: ["BourseCore"]),
        .testTarget(name: "BourseCoreTests", dependencies: ["BourseCore"]),
        .testTarget(name: "BourseEngineTests", dependencies: ["BourseCore", "BourseEngine"]),
    ],
    swiftLanguageModes: [.v6]
)
