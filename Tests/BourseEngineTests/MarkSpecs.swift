import BourseCore
import BourseEngine
import Testing

/// Marks: one price per symbol fixed in the journal, so that risk values every account at the same prices.
@Suite("marks")
struct MarkSpecs {
    let last = MarkRequest(method: .lastTrade, close: false)

    /// A venue with XYZ (previous close $10) and ABC (no previous close), both open.
    func venue() -> Given {
        let v = Given(rules: InstrumentRules(previousClose: Price(dollars: "10")!))
        v.when(.listSymbol(try! Symbol(validating: "ABC"), .standard))
        v.when(.setTradingState(try! Symbol(validating: "ABC"), .open))
        return v
    }

    func price(_ symbol: String, _ dollars: String) -> Event {
        .markPrice(try! Symbol(validating: symbol), Price(dollars: dollars)!)
    }

    @Test("given no trades, when marked by last trade, then a symbol is fixed at its previous close and one with none is left out")
    func previousClose() {
        let v = venue()
        #expect(v.when(.mark(last)) == [price("XYZ", "10"), .marked(last, prices: 1)])
    }

    @Test("given a trade, when marked, then its price is fixed; marked again with nothing changed, no price is repeated")
    func changesOnly() {
        let v = venue()
        v.when(.mark(last))
        v.resting(v.sell(1, "10.50", qty: 100))
        v.when(.newOrder(v.buy(2, "10.50", qty: 40)))
        #expect(v.engine.markWouldChange(.lastTrade))
        #expect(v.when(.mark(last)) == [price("XYZ", "10.50"), .marked(last, prices: 1)])
        #expect(!v.engine.markWouldChange(.lastTrade))
        #expect(v.when(.mark(last)) == [.marked(last, prices: 0)])
    }

    @Test("given a close mark, then every price is fixed again, changed or not")
    func close() {
        let v = venue()
        v.when(.mark(last))
        let close = MarkRequest(method: .lastTrade, close: true)
        #expect(v.when(.mark(close)) == [price("XYZ", "10"), .marked(close, prices: 1)])
    }

    @Test("given a bid and an offer, when marked by mid, then the price is halfway, rounded down; one-sided, the last trade")
    func mid() {
        let v = venue()
        let mid = MarkRequest(method: .mid, close: false)
        v.resting(v.buy(1, "10.01", qty: 100), v.sell(2, "10.04", qty: 100))
        #expect(v.when(.mark(mid)) == [.markPrice(v.symbol, Price(units: 100_250)), .marked(mid, prices: 1)])
        v.when(v.cancel(2))
        #expect(v.when(.mark(mid)) == [price("XYZ", "10"), .marked(mid, prices: 1)])
    }

    @Test("the last mark's prices survive a snapshot, and marks round-trip through the codec")
    func snapshotAndCodec() throws {
        let v = venue()
        v.when(.mark(last))
        let copy = try restored(v.engine)
        #expect(!copy.markWouldChange(.lastTrade))
        #expect(copy.stateHash() == v.engine.stateHash())
        for command in [Command.mark(last), .mark(MarkRequest(method: .mid, close: true))] {
            var w = ByteWriter()
            w.write(command)
            let back = try w.bytes.withUnsafeBytes { b in var r = ByteReader(b); return try r.readCommand() }
            #expect(back == command)
        }
        for event in [price("XYZ", "10.25"), .marked(MarkRequest(method: .mid, close: true), prices: 7)] {
            var w = ByteWriter()
            w.write(event)
            let back = try w.bytes.withUnsafeBytes { b in var r = ByteReader(b); return try r.readEvent() }
            #expect(back == event)
        }
    }
}
