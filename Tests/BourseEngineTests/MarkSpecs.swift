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
        #expect(v.when(.mark(last)) == [price("XYZ", "10"), .marked(last.kind, prices: 1)])
    }

    @Test("given a trade, when marked, then its price is fixed; marked again with nothing changed, no price is repeated")
    func changesOnly() {
        let v = venue()
        v.when(.mark(last))
        v.resting(v.sell(1, "10.50", qty: 100))
        v.when(.newOrder(v.buy(2, "10.50", qty: 40)))
        #expect(v.engine.markWouldChange(last))
        #expect(v.when(.mark(last)) == [price("XYZ", "10.50"), .marked(last.kind, prices: 1)])
        #expect(!v.engine.markWouldChange(last))
        #expect(v.when(.mark(last)) == [.marked(last.kind, prices: 0)])
    }

    @Test("given a close mark, then every price is fixed again, changed or not")
    func close() {
        let v = venue()
        v.when(.mark(last))
        let close = MarkRequest(method: .lastTrade, close: true)
        #expect(v.when(.mark(close)) == [price("XYZ", "10"), .marked(close.kind, prices: 1)])
    }

    @Test("given a bid and an offer, when marked by mid, then the price is halfway, rounded down; one-sided, the last trade")
    func mid() {
        let v = venue()
        let mid = MarkRequest(method: .mid, close: false)
        v.resting(v.buy(1, "10.01", qty: 100), v.sell(2, "10.04", qty: 100))
        #expect(v.when(.mark(mid)) == [.markPrice(v.symbol, Price(units: 100_250)), .marked(mid.kind, prices: 1)])
        v.when(v.cancel(2))
        #expect(v.when(.mark(mid)) == [price("XYZ", "10"), .marked(mid.kind, prices: 1)])
    }

    @Test("given NBBO midpoints in the request, when marked by NBBO mid, then a symbol with one takes it and one without takes the venue's own mid; the event does not repeat them")
    func nbboMid() throws {
        let v = venue()
        let abc = try Symbol(validating: "ABC")
        v.resting(v.buy(1, "10.01", qty: 100), v.sell(2, "10.04", qty: 100))
        v.when(.mark(last))
        let nbbo = try #require(MarkRequest(nbbo: [.init(symbol: abc, mid: Price(dollars: "20.005")!)], close: false))
        #expect(v.engine.markWouldChange(nbbo))
        // In listing order (XYZ first), whatever the request's order.
        #expect(v.when(.mark(nbbo)) == [.markPrice(v.symbol, Price(units: 100_250)), .markPrice(abc, Price(dollars: "20.005")!),
                                        .marked(MarkKind(method: .nbboMid, close: false), prices: 2)])
        let again = try #require(MarkRequest(nbbo: [.init(symbol: abc, mid: Price(dollars: "20.10")!)], close: false))
        #expect(v.when(.mark(again)) == [.markPrice(abc, Price(dollars: "20.10")!), .marked(MarkKind(method: .nbboMid, close: false), prices: 1)])
        #expect(!v.engine.markWouldChange(again))
    }

    @Test("NBBO midpoints that repeat a symbol or are not positive make no request, and the codec refuses them")
    func nbboRefused() throws {
        let abc = try Symbol(validating: "ABC")
        #expect(MarkRequest(nbbo: [.init(symbol: abc, mid: Price(units: 1)), .init(symbol: abc, mid: Price(units: 2))], close: false) == nil)
        #expect(MarkRequest.problem([.init(symbol: abc, mid: Price(units: 0))]) == "the NBBO midpoint of ABC is 0, not positive")
        // A last-trade request carrying midpoints, as a damaged file would.
        var w = ByteWriter()
        w.write(UInt8(MarkMethod.lastTrade.rawValue)); w.writeBool(false); w.writeVarint(1); w.write(abc); w.write(Price(units: 5))
        #expect(throws: DecodeError.self) { try w.bytes.withUnsafeBytes { b in var r = ByteReader(b); return try r.readMarkRequest() } }
    }

    @Test("the last mark's prices survive a snapshot, and marks round-trip through the codec")
    func snapshotAndCodec() throws {
        let v = venue()
        v.when(.mark(last))
        let copy = try restored(v.engine)
        #expect(!copy.markWouldChange(last))
        #expect(copy.stateHash() == v.engine.stateHash())
        let nbbo = MarkRequest(nbbo: [.init(symbol: try Symbol(validating: "ZZ"), mid: Price(units: 7)), .init(symbol: v.symbol, mid: Price(units: 9))],
                               close: true)!
        for command in [Command.mark(last), .mark(MarkRequest(method: .mid, close: true)), .mark(nbbo)] {
            var w = ByteWriter()
            w.write(command)
            let back = try w.bytes.withUnsafeBytes { b in var r = ByteReader(b); return try r.readCommand() }
            #expect(back == command)
        }
        for event in [price("XYZ", "10.25"), .marked(MarkKind(method: .mid, close: true), prices: 7)] {
            var w = ByteWriter()
            w.write(event)
            let back = try w.bytes.withUnsafeBytes { b in var r = ByteReader(b); return try r.readEvent() }
            #expect(back == event)
        }
    }
}
