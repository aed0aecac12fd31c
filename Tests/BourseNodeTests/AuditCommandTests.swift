import BourseCore
import BoursePostTrade
import BourseProjections
import BourseTestSupport
import BourseVenue
import Foundation
import Testing

/// `bourse audit verify` as an operator runs it: the real executable on a data directory whose audit
/// log a venue wrote, before and after someone changes or removes a record.
@Suite("audit verify")
struct AuditCommandTests {
    @Test("the audit chain of a day of captures and its settlement holds; a record changed or removed is named")
    func tampering() async throws {
        let directory = makeTemporaryDirectory("bourse-audit")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = VenueConfiguration.demo
        configuration.fix = nil
        let node = try await DataDirectory(path: directory).openNode(configuration: configuration, clock: { 1_790_000_000_000_000_000 })
        let (fri, tue) = (CivilDate(year: 2026, month: 10, day: 9), CivilDate(year: 2026, month: 10, day: 13))
        _ = try await node.venue.execute(.rollBusinessDate(BusinessDateRoll(from: nil, to: fri, settlesOn: tue)))
        for n in 1...4 {
            let trade = CapturedTrade(tradeID: "A-\(n)", account: AccountNumber("1")!, symbol: try Symbol(validating: "AAPL"), side: n % 2 == 0 ? .sell : .buy,
                                      quantity: Quantity(Int64(10 * n)), price: Price(dollars: "190")!, tradeDate: fri, source: .api(key: "test"))
            guard case .captured = await node.capture.submit(trade) else { Issue.record("trade \(n) not captured"); return }
        }
        _ = try await node.venue.execute(.rollBusinessDate(BusinessDateRoll(from: fri, to: tue, settlesOn: CivilDate(year: 2026, month: 10, day: 14))))
        #expect(await node.projections.wait("audit", for: try await node.venue.lastSequence()) == nil)
        node.stop()

        // Two rollovers, four captures, and Tuesday's outcomes: account 1's net and the street's.
        let holds = try await JournalCommandTests.run(["audit", "verify", "--data-dir", directory])
        #expect(holds.status == 0 && holds.output.contains("the audit chain holds: 8 records"), "\(holds.output)")

        let store = try DataDirectory(path: directory).openStore(nil)
        try store.write { try $0.execute("UPDATE pt_audit SET body = ? WHERE number = 3", [.blob([0x01, 0x02])]) }
        let changed = try await JournalCommandTests.run(["audit", "verify", "--data-dir", directory])
        #expect(changed.status == 1 && changed.output.contains("audit record 3: its hash does not match its contents"), "\(changed.output)")

        let original = try store.querySynchronously("SELECT * FROM pt_audit WHERE number = 4", [])
        try store.write { try $0.execute("DELETE FROM pt_audit WHERE number = 3", []) }
        let removed = try await JournalCommandTests.run(["audit", "verify", "--data-dir", directory])
        #expect(removed.status == 1 && removed.output.contains("audit record 4: record 3 is missing before it"), "\(removed.output)")
        #expect(original.count == 1)
        store.close()
    }
}
