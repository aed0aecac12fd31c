import BourseCore
import BoursePostTrade
import Testing

@Suite("reconciliation, house against street")
struct ReconciliationTests {
    let date = CivilDate(year: 2026, month: 10, day: 9)
    let settles = CivilDate(year: 2026, month: 10, day: 13)

    func record(_ id: String, _ side: Side = .buy, qty: Int64 = 100, price: String = "10.00", settles given: CivilDate? = nil) -> Reconciliation.Record {
        Reconciliation.Record(tradeID: id, account: "1", symbol: try! Symbol(validating: "AAPL"), side: side, quantity: Quantity(qty),
                              price: Price(dollars: price)!, tradeDate: date, settlementDate: given ?? settles)
    }

    @Test("a street file with one break of every kind planted gives exactly those breaks, and the rest match")
    func plantedBreaks() {
        let house = ["T1", "T2", "T3", "T4", "T5", "T6"].map { record($0) }
        let street = [record("T1"), record("T2", qty: 90), record("T3", price: "10.01"), record("T4", .sell),
                      record("T5", settles: CivilDate(year: 2026, month: 10, day: 14)), record("S7")]
        let result = Reconciliation.reconcile(house: house, street: street)
        #expect(result.matched == ["T1"])
        #expect(result.breaks.map { "\($0.tradeID) \($0.kind.rawValue) \($0.house) | \($0.street)" } == [
            "S7 missing_in_house  | buy 100 AAPL at 10.00 for account 1, traded 2026-10-09, settling 2026-10-13",
            "T2 quantity 100 | 90", "T3 price 10.00 | 10.01", "T4 side buy | sell", "T5 settlement_date 2026-10-13 | 2026-10-14",
            "T6 missing_in_street buy 100 AAPL at 10.00 for account 1, traded 2026-10-09, settling 2026-10-13 | ",
        ])
    }

    @Test("a trade that differs in several fields is one break a field; a street row without a settlement date is not compared on it")
    func severalFields() {
        var bare = record("T1", .sell, qty: 5, price: "9.00")
        bare.settlementDate = nil
        let result = Reconciliation.reconcile(house: [record("T1")], street: [bare])
        #expect(result.breaks.map(\.kind) == [.quantity, .price, .side] && result.matched.isEmpty)
        let none = Reconciliation.reconcile(house: [], street: [])
        #expect(none.matched.isEmpty && none.breaks.isEmpty)
    }
}
