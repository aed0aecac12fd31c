import BourseCore
import BourseJournal
import BourseKafka
import BourseProjections
import BourseRisk
import BourseTestSupport
import BourseVenue
import Foundation
import Glibc
import Testing

/// Projections applied from Kafka in processes of their own: two `bourse project` processes on one
/// PostgreSQL database share the projections while the journal is published, one is killed without warning
/// in the middle, the other takes over what it held; at the end every table equals a rebuild from the
/// journal, row for row.
@Suite("the journal on Kafka: projections in other processes")
struct KafkaProjectionTests {
    /// A `bourse project` process, its output in a file.
    final class Projecting {
        let process = Process()
        let output: String

        init(_ arguments: [String], output: String) throws {
            self.output = output
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            process.executableURL = URL(fileURLWithPath: CrashTests.executable)
            process.arguments = arguments
            let file = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            process.standardOutput = file
            process.standardError = file
            try process.run()
        }

        var printed: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

        /// The projections it said it took on.
        var taken: [String] {
            printed.split(separator: "\n").compactMap { line in
                guard line.hasPrefix("projection "), line.contains(": applied by this process") else { return nil }
                return String(line.dropFirst("projection ".count).prefix { $0 != ":" })
            }
        }
    }

    static func positions(_ store: any ProjectionStore) throws -> [String: UInt64] {
        // Nothing before the first process made the table.
        let rows = (try? store.querySynchronously("SELECT name, sequence FROM projection_positions", [])) ?? []
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.text("name")!, UInt64($0.int("sequence")!)) })
    }

    @Test("two processes in one group, one killed mid-run: the other takes over, and every table equals a rebuild from the journal")
    func twoProcessesOneKilled() async throws {
        let broker = try KafkaPublicationTests.broker()
        let directory = makeTemporaryDirectory("bourse-kafka-project")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = directory + "/journal"
        let prefix = "project-\(UInt32.random(in: 0...UInt32.max))"
        let log = "\(broker)/\(prefix)?partitions=3"
        let location = try KafkaLocation.parse(log).get()
        let storeURL = try StoreKind.postgres.makeLocation(in: directory)
        let store = try StoreKind.postgres.open(storeURL)
        defer { store.close() }
        @Sendable func publish(entriesPerTransaction: Int = 500) throws {
            var limits = JournalPublisher.Limits()
            limits.entriesPerTransactionMax = entriesPerTransaction
            try JournalPublisher(location: location, journal: journal, keepsAccounts: true, limits: limits).open()
        }

        var run = KafkaDatedTopicsTests.Run(journal: journal)
        try run.days(2, ordersBeforeFirst: 600)
        try publish()
        let names = DataDirectory.offlineProjections.map { $0().name }.filter { !DataDirectory.nodeOnlyProjections.contains($0) }
        let arguments = ["project", "--log", log, "--store", storeURL, "--status-every", "0", "--transaction-entries", "100"]
        let first = try Projecting(arguments, output: directory + "/first.log")
        let second = try Projecting(arguments, output: directory + "/second.log")
        defer {
            for p in [first, second] where p.process.isRunning { Glibc.kill(p.process.processIdentifier, SIGKILL) }
        }

        // Both take projections on (a few rounds of a second), and apply what is published meanwhile. Bounded
        // generously: with the whole suite running, PostgreSQL applies the orders projection slowly.
        let deadline = ContinuousClock.now + .seconds(120)
        while first.taken.count + second.taken.count < names.count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(!first.taken.isEmpty && !second.taken.isEmpty, "each process takes some of the work:\n\(first.printed)\n\(second.printed)")
        #expect(Set(first.taken).isDisjoint(with: second.taken), "no projection is applied by both")
        let before = run.sequence
        try run.days(2, ordersBeforeFirst: 900)
        let published = run.sequence
        // Killed while it applies the entries being published, two hundred a Kafka transaction and a hundred
        // a projection transaction. The watch runs beside the publication: the projections keep up with the
        // publisher, so a first look after it ended could find them all done.
        let publication = Task.detached { try publish(entriesPerTransaction: 200) }
        // A deadline of its own: the first one may be spent by a slow start under the whole suite.
        let watching = ContinuousClock.now + .seconds(120)
        while try !Self.positions(store).values.contains(where: { $0 > before }), ContinuousClock.now < watching {
            try await Task.sleep(for: .milliseconds(2))
        }
        Glibc.kill(first.process.processIdentifier, SIGKILL)
        let heldByFirst = first.taken
        let atKill = try Self.positions(store)
        try await publication.value
        try run.days(2, ordersBeforeFirst: 300)
        try publish()
        let end = run.sequence
        let finish = ContinuousClock.now + .seconds(240)
        while try Self.positions(store).filter({ names.contains($0.key) }).values.contains(where: { $0 < end }), ContinuousClock.now < finish {
            try await Task.sleep(for: .milliseconds(100))
        }
        let final = try Self.positions(store)
        #expect(names.allSatisfy { final[$0] == end }, "every projection applied through \(end): \(final)\nsecond:\n\(second.printed)")
        #expect(Set(second.taken).isSuperset(of: heldByFirst), "the survivor took over \(heldByFirst):\n\(second.printed)")
        #expect(atKill.values.contains { $0 > before && $0 < published }, "killed mid-run: \(atKill), published \(before + 1) to \(published)")
        second.process.interrupt()
        second.process.waitUntilExit()
        #expect(second.process.terminationStatus == 0, "\(second.printed)")

        // A rebuild of each from the journal, in a SQLite file of its own.
        let rebuilt = try SQLiteStore(path: directory + "/rebuilt.sqlite")
        defer { rebuilt.close() }
        for make in DataDirectory.offlineProjections where names.contains(make().name) {
            let projection = make()
            try ProjectionRunner(projection, store: rebuilt, journal: journal).open()
            let fromKafka = try Positions.checksums(projection, in: store)
            let fromJournal = try Positions.checksums(projection, in: rebuilt)
            #expect(fromKafka == fromJournal, "\(projection.name): the tables applied from Kafka differ from a rebuild from the journal")
        }
        print("kafka projections: \(names.count) projections through \(end) entries; the first process held \(heldByFirst) when killed at \(atKill.values.min() ?? 0)…\(atKill.values.max() ?? 0)")
    }
}

extension KafkaProjectionTests {
    static func rows(_ sql: String, in store: any ProjectionStore) throws -> [String] {
        try store.querySynchronously(sql, []).map { "\($0.values)" }
    }

    @Test("the risk projection spread over three shards by account, shared by two processes: every account in one shard, and together they hold the rows of one risk projection")
    func riskShards() async throws {
        let broker = try KafkaPublicationTests.broker()
        let directory = makeTemporaryDirectory("bourse-kafka-risk-shards")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = directory + "/journal"
        let log = "\(broker)/shards-\(UInt32.random(in: 0...UInt32.max))?partitions=3"
        var run = KafkaDatedTopicsTests.Run(journal: journal)
        try run.days(2, ordersBeforeFirst: 600)
        try JournalPublisher(location: try KafkaLocation.parse(log).get(), journal: journal, keepsAccounts: true).open()
        let storeURL = try StoreKind.postgres.makeLocation(in: directory)
        let store = try StoreKind.postgres.open(storeURL)
        defer { store.close() }

        // Two processes share the three shards, as they share any projections.
        let arguments = ["project", "--log", log, "--store", storeURL, "--status-every", "0", "--risk-shards", "3", "risk"]
        let first = try Projecting(arguments, output: directory + "/first.log")
        let second = try Projecting(arguments, output: directory + "/second.log")
        defer { for p in [first, second] where p.process.isRunning { Glibc.kill(p.process.processIdentifier, SIGKILL) } }
        let shards = (1...3).map { "risk.\($0)-of-3" }
        let deadline = ContinuousClock.now + .seconds(120)
        while try Self.positions(store).filter({ shards.contains($0.key) }).values.filter({ $0 == run.sequence }).count < 3,
              ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        for p in [first, second] {
            p.process.interrupt()
            p.process.waitUntilExit()
        }
        #expect(Set(first.taken + second.taken) == Set(shards) && !first.taken.isEmpty && !second.taken.isEmpty,
                "each process applies some shards:\n\(first.printed)\n\(second.printed)")

        // One risk projection over the whole journal, the reference.
        let whole = try SQLiteStore(path: directory + "/whole.sqlite")
        defer { whole.close() }
        try ProjectionRunner(RiskProjection(), store: whole, journal: journal).open()
        for table in ["accounts", "holdings", "prices"] {
            let order = table == "prices" ? "symbol" : table == "accounts" ? "account" : "account, symbol"
            let expected = try Self.rows("SELECT * FROM rk_\(table) ORDER BY \(order)", in: whole)
            var parts: [[String]] = []
            for shard in 1...3 { parts.append(try Self.rows("SELECT * FROM rk\(shard)of3_\(table) ORDER BY \(order)", in: store)) }
            if table == "prices" {
                // Prices are every shard's: each holds them all.
                #expect(parts.allSatisfy { $0 == expected }, "rk_prices")
            } else {
                #expect(parts.flatMap { $0 }.sorted() == expected.sorted(), "rk_\(table): the shards together hold the whole projection's rows")
                #expect(parts.allSatisfy { !$0.isEmpty }, "rk_\(table): each shard holds some accounts")
            }
        }
        let accounts = try (1...3).map { shard in Set(try store.querySynchronously("SELECT account FROM rk\(shard)of3_accounts", []).map { $0.int("account")! }) }
        #expect(accounts[0].isDisjoint(with: accounts[1]) && accounts[1].isDisjoint(with: accounts[2]) && accounts[0].isDisjoint(with: accounts[2]))
        print("kafka risk shards: \(accounts.map(\.count)) accounts in three shards through \(run.sequence) entries")
    }
}
