import Foundation
import Testing

/// The module graph as docs/ARCHITECTURE.md draws it: which of our modules, and which storage libraries, each
/// module may import. SwiftPM lets a module import whatever its dependencies bring along (the server could
/// import the engine through the venue), so the graph is held here: a gateway that reached for the engine,
/// the journal or a database fails this test, naming the file.
@Suite("the module graph")
struct ModuleGraphTests {
    /// The modules whose use is restricted: ours, and the stores.
    static let restricted: Set<String> = [
        "CBourseSupport", "BourseCore", "BourseEngine", "BourseJournal", "BourseNode", "BourseProjections", "BourseMarketData",
        "BourseFeeds", "BourseVenue", "BourseServer", "BoursePostTrade", "BourseRisk", "BourseKafka", "GRDB", "GRDBSQLite", "PostgresNIO",
        "CRdKafka",
    ]

    static let allowed: [String: Set<String>] = [
        "BourseCore": ["CBourseSupport"],
        "BourseEngine": ["BourseCore", "CBourseSupport"],
        "BourseJournal": ["BourseCore", "BourseEngine"],
        "BourseNode": ["BourseCore", "BourseEngine", "BourseJournal"],
        "BourseProjections": ["BourseCore", "BourseJournal", "BourseNode", "GRDB", "GRDBSQLite", "PostgresNIO"],
        "BourseMarketData": ["BourseCore"],
        "BoursePostTrade": ["BourseCore", "BourseEngine", "BourseNode", "BourseProjections"],
        "BourseFeeds": ["BourseCore", "BourseMarketData"],
        // Risk reads the journal's events, streamed or over a bounded range; it books nothing and reaches no engine.
        "BourseRisk": ["BourseCore", "BourseJournal", "BourseNode", "BourseProjections"],
        "BourseVenue": ["BourseCore", "BourseEngine", "BourseJournal", "BourseNode", "BourseProjections", "BourseMarketData",
                        "BourseFeeds", "BoursePostTrade", "BourseRisk", "GRDB"],
        // The journal on Kafka: read from the journal, sent through librdkafka; no engine, no venue, no database.
        // The engine for a standby's replication (`LogFollower`), which applies and verifies every entry.
        "BourseKafka": ["BourseCore", "BourseEngine", "BourseJournal", "BourseNode", "BourseProjections", "CRdKafka"],
        // HTTP, WebSocket, keys, the page and the wire format: no engine, journal or database.
        "BourseServer": ["BourseCore", "BourseNode", "BourseProjections", "BourseVenue", "BourseMarketData", "BourseFeeds", "BoursePostTrade",
                         "BourseRisk"],
    ]

    @Test("each module imports only what the graph allows it: the HTTP server neither the engine, the journal nor a database")
    func imports() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        for (module, allowed) in Self.allowed.sorted(by: { $0.key < $1.key }) {
            let directory = sources.appendingPathComponent(module)
            let files = try #require(FileManager.default.enumerator(atPath: directory.path)?.compactMap { $0 as? String }
                .filter { $0.hasSuffix(".swift") }, "\(module) has no sources at \(directory.path)")
            #expect(!files.isEmpty, "\(module) has no sources")
            for file in files {
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    guard let i = words.firstIndex(of: "import"), i + 1 < words.count,
                          words[..<i].allSatisfy({ $0.hasPrefix("@") }) else { continue }
                    let imported = String(words[i + 1])
                    #expect(!Self.restricted.contains(imported) || allowed.contains(imported), "\(module)/\(file) imports \(imported)")
                }
            }
        }
    }
}
