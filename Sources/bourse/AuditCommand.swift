import ArgumentParser
import BoursePostTrade
import BourseProjections
import BourseVenue
import Foundation

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Post-trade's audit log.",
        subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove the audit log's hash chain unbroken, or name the first record that breaks it (exit status 1).",
            discussion: "Reads the audit projection's records in order from the projections' store; the node may be running.")

        @Option(help: "The data directory (env BOURSE_DATA_DIR; default ./bourse-data).")
        var dataDir: String?
        @Option(help: "The projections' store: sqlite or postgres://… (default: the configuration's).")
        var store: String?

        func run() async throws {
            let directory = DataDirectory(path: dataDir ?? ProcessInfo.processInfo.environment["BOURSE_DATA_DIR"] ?? "./bourse-data")
            let opened = try directory.openStore(store)
            defer { opened.close() }
            var checked: UInt64 = 0
            if let broken = try AuditProjection.verify(opened, checked: &checked) {
                print("the audit chain is broken at \(broken)")
                throw ExitCode(1)
            }
            print("the audit chain holds: \(checked) records")
        }
    }
}
