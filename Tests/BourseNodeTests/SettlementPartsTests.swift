import BourseCore
import BourseEngine
import BourseJournal
import BourseNode
import BoursePostTrade
import BourseProjections
import BourseTestSupport
import BourseVenue
import Foundation
import Testing

/// A settlement cycle of more obligations than a command settles, on a real node: the rollover settles a
/// part, the venue sends the next parts by itself, and a node that stopped midway goes on when it opens.
@Suite("a settlement cycle in parts")
struct SettlementPartsTests {
    // 100 accounts in 50 symbols, a trade a day for each of 4,200 of their 5,000 pairs: each cycle has more
    // than 4,096 obligations, so two parts or more, from as few trades and accounts as that takes.
    static let accounts: UInt32 = 100
    static let symbols = 50
    static let tradesPerDay = 4_200

    @Test("a cycle past a command's obligations goes on by itself to its end, also after the node stopped midway; the views equal a rebuild")
    func goesOnByItself() async throws {
        let directory = makeTemporaryDirectory("bourse-settlement-parts")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = VenueConfiguration.demo
        configuration.fix = nil
        configuration.firms = nil
        configuration.post_trade = .init(business_dates: "operator")
        configuration.accounts = (1...Self.accounts).map {
            VenueConfiguration.AccountEntry(id: $0, kind: "margin", deposit: "1000000000.00", positions: nil, keys: nil)
        }
        configuration.symbols = (0..<Self.symbols).map { n in
            var entry = VenueConfiguration.demo.symbols[0]
            entry.symbol = "S\(n)"
            return entry
        }
        let symbols = try configuration.symbols.map { try Symbol(validating: $0.symbol) }
        let days = [CivilDate(year: 2026, month: 3, day: 2), CivilDate(year: 2026, month: 3, day: 3), CivilDate(year: 2026, month: 3, day: 4)]
        let clock: @Sendable () -> Int64 = { 1_772_460_000_000_000_000 }
        var random = SplitMix64(seed: 31)
        // Net shares per account and symbol, per settlement date: what the cycles must settle, from the trades alone.
        var nets: [CivilDate: [String: Int64]] = [:]
        func trades(on day: CivilDate) -> [CapturedTrade] {
            (0..<Self.tradesPerDay).map { n in
                let account = UInt32(n) % Self.accounts + 1, symbol = symbols[n / Int(Self.accounts) % symbols.count]
                let side: Side = Bool.random(using: &random) ? .buy : .sell, shares = Int64.random(in: 1...100, using: &random)
                nets[day.adding(days: 1), default: [:]]["\(account) \(symbol)", default: 0] += side == .buy ? shares : -shares
                return CapturedTrade(tradeID: "P-\(day)-\(n)", account: AccountNumber(defaultFor: AccountID(account)), symbol: symbol, side: side,
                                     quantity: Quantity(shares), price: Price(dollars: "100")!, tradeDate: day, source: .api(key: "test"))
            }
        }
        /// Whether the venue has a cycle in progress, waited on until it has none (bounded).
        func settled(_ node: DataDirectory.Node) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(120)
            while ContinuousClock.now < deadline {
                if try await node.venue.read({ $0.settlementInProgress == nil }) { return true }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }

        // Monday's trades settle on Tuesday: the rollover sends the cycle's first part, the venue the rest.
        let first = try await DataDirectory(path: directory).openNode(configuration: configuration, clock: clock)
        _ = try await first.venue.execute(.rollBusinessDate(BusinessDateRoll(from: nil, to: days[0], settlesOn: days[1])))
        #expect(await first.capture.submitAll(trades(on: days[0])).allSatisfy { if case .captured = $0 { true } else { false } })
        let monday = try await first.venue.execute(.rollBusinessDate(BusinessDateRoll(from: days[0], to: days[1], settlesOn: days[2])))
        guard case .settlementContinues(days[1], _)? = monday.events.last else { Issue.record("the cycle was not split: \(monday.events.count) events"); return }
        #expect(try await settled(first))

        // Tuesday's rollover goes to the sequencer past the venue, which would send the next parts: the
        // node stops with the cycle in progress, and the next node to open goes on with it.
        #expect(await first.capture.submitAll(trades(on: days[1])).allSatisfy { if case .captured = $0 { true } else { false } })
        let rolled: Sequencer.Acknowledgement? = await withCheckedContinuation { continuation in
            do {
                try first.venue.sequencer.submit(.rollBusinessDate(BusinessDateRoll(from: days[1], to: days[2], settlesOn: days[2].adding(days: 1)))) {
                    continuation.resume(returning: try? $0.get())
                }
            } catch {
                continuation.resume(returning: nil)
            }
        }
        guard case .settlementContinues(days[2], let left)? = rolled?.events.last else { Issue.record("Tuesday's cycle was not split"); return }
        #expect(try await first.venue.read { $0.settlementInProgress?.left } == left)
        first.stop()
        let second = try await DataDirectory(path: directory).openNode(configuration: configuration, clock: clock)
        #expect(try await settled(second))
        let end = try await second.venue.lastSequence()
        for name in ["post_trade", "ledger", "audit"] { #expect(await second.projections.waitWhileMoving(name, for: end) == nil) }
        second.stop()

        // Each cycle settled each participant's net once, a part at most 4,096 obligations, and the views
        // equal a rebuild from the journal.
        let nets_ = nets
        let problems: [String] = try await blocking {
            var problems: [String] = []
            var settledPerDate: [CivilDate: [String: Int64]] = [:], parts: [CivilDate: Int] = [:], twice: [String] = []
            _ = try JournalFeed.read(directory + "/journal", after: 0, through: nil, chunk: 4_096) { entries in
                for entry in entries {
                    var inEntry = 0
                    for event in entry.events {
                        switch event {
                        case .obligationSettled(let o):
                            inEntry += 1
                            let key = "\(o.account) \(o.symbol)"
                            if settledPerDate[o.date, default: [:]].updateValue(o.obligationShares, forKey: key) != nil { twice.append("\(o.date) \(key)") }
                        case .settlementContinues(let date, _): parts[date, default: 1] += 1
                        default: break
                        }
                    }
                    if inEntry > 4_096 { problems.append("an entry settled \(inEntry) obligations") }
                }
            }
            if !twice.isEmpty { problems.append("settled twice: \(twice.prefix(5))") }
            for day in days[1...2] {
                // The first cycle settles exactly the nets; the second also what the first failed to deliver.
                let expected = nets_[day]!.filter { $0.value != 0 }
                let settled = (settledPerDate[day] ?? [:]).filter { !$0.key.hasPrefix("\(AccountID.street) ") }
                if day == days[1] ? settled != expected : !Set(expected.keys).isSubset(of: settled.keys) {
                    problems.append("\(day): \(settled.count) obligations settled, \(expected.count) nets")
                }
                if (parts[day] ?? 0) < 2 { problems.append("\(day) settled in \(parts[day] ?? 0) parts") }
            }
            let data = DataDirectory(path: directory)
            let store = try data.openStore(nil)
            defer { store.close() }
            let open = try store.querySynchronously("SELECT COUNT(*) AS n FROM pt_trades WHERE state IN ('captured', 'cleared') AND settlement_date <= ?",
                                                    [.int(Int64(days[2].daysSinceEpoch))])
            if open.first?.int("n") != 0 { problems.append("\(open) trades due are neither settled nor failed") }
            for projection in data.projectionsOffline() where ["post_trade", "ledger", "audit"].contains(projection.name) {
                if try Positions.checksums(projection, in: store) != ProjectionCrashTests.rebuiltChecksums(projection.name, data) {
                    problems.append("\(projection.name) differs from a rebuild")
                }
            }
            return problems
        }
        #expect(problems.isEmpty, "\(problems)")
    }
}
