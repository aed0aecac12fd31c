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

    func quote(_ symbol: String, _ bid: String, _ ask: String) -> ReferenceQuote {
        ReferenceQuote(symbol: try! Symbol(validating: symbol), bid: Price(dollars: bid)!, ask: Price(dollars: ask)!)
    }

    @Test("""
        given the followed venues' NBBO journaled as a reference quote, when marked by NBBO mid, then the symbol is fixed at its         midpoint, rounded down; with none again, at the venue's own mid; one never quoted, at its last trade or previous close
        """)
    func nbboMid() {
        let v = venue()
        let nbbo = MarkRequest(method: .nbboMid, close: false)
        v.resting(v.buy(1, "10.01", qty: 100), v.sell(2, "10.04", qty: 100))
        let outside = quote("XYZ", "10.02", "10.05")
        #expect(v.when(.referenceQuote(outside)) == [.referenceQuoted(outside)])
        #expect(v.engine.referenceQuote(v.symbol) == outside)
        #expect(v.engine.markWouldChange(.nbboMid))
        #expect(v.when(.mark(nbbo)) == [.markPrice(v.symbol, Price(units: 100_350)), .marked(nbbo, prices: 1)])
        // The NBBO moved but the mark was not taken: the price fixed stays; the next mark takes the new one.
        v.when(.referenceQuote(quote("XYZ", "10.02", "10.04")))
        #expect(v.when(.mark(nbbo)) == [.markPrice(v.symbol, Price(units: 100_300)), .marked(nbbo, prices: 1)])
        // None now (a side gone, or crossed): the venue's own book, halfway between $10.01 and $10.04.
        v.when(.referenceQuote(.none(v.symbol)))
        #expect(v.when(.mark(nbbo)) == [.markPrice(v.symbol, Price(units: 100_250)), .marked(nbbo, prices: 1)])
        // ABC has no quote, no trade and no previous close: it is left out, as by every method.
        #expect(v.engine.referenceQuote(try! Symbol(validating: "ABC")) == .none(try! Symbol(validating: "ABC")))
        // A quote does not move a mark by the last trade.
        #expect(v.when(.mark(last)) == [price("XYZ", "10"), .marked(last, prices: 1)])
        v.when(.referenceQuote(quote("XYZ", "12", "12.02")))
        #expect(!v.engine.markWouldChange(.lastTrade))
        #expect(v.when(.mark(last)) == [.marked(last, prices: 0)])
    }

    @Test("a reference quote with one side, a bid above its ask, a price past the limit or an unlisted symbol is refused and changes nothing")
    func referenceQuoteRefused() {
        let v = venue()
        v.when(.referenceQuote(quote("XYZ", "10", "10.10")))
        for bad in [quote("XYZ", "10", "0"), quote("XYZ", "0", "10"), quote("XYZ", "10.10", "10"),
                    ReferenceQuote(symbol: v.symbol, bid: Price(units: 1), ask: Price(units: Price.max.units + 1)),
                    ReferenceQuote(symbol: v.symbol, bid: Price(units: -1), ask: Price(units: 5))] {
            #expect(v.when(.referenceQuote(bad)) == [.commandRejected(.referenceQuoteInvalid(v.symbol, bid: bad.bid, ask: bad.ask))])
        }
        let unlisted = quote("NOPE", "1", "2")
        #expect(v.when(.referenceQuote(unlisted)) == [.commandRejected(.unknownSymbol(unlisted.symbol))])
        #expect(v.engine.referenceQuote(v.symbol) == quote("XYZ", "10", "10.10"))
        // A locked market is a quote: halfway is the price itself.
        #expect(v.when(.referenceQuote(quote("XYZ", "10.10", "10.10"))) == [.referenceQuoted(quote("XYZ", "10.10", "10.10"))])
    }

    @Test("the last mark's prices and the reference quotes survive a snapshot, and marks and quotes round-trip through the codec")
    func snapshotAndCodec() throws {
        let v = venue()
        v.when(.mark(last))
        v.when(.referenceQuote(quote("XYZ", "10.02", "10.05")))
        let copy = try restored(v.engine)
        #expect(!copy.markWouldChange(.lastTrade))
        #expect(copy.referenceQuote(v.symbol) == quote("XYZ", "10.02", "10.05"))
        #expect(copy.stateHash() == v.engine.stateHash())
        for command in [Command.mark(last), .mark(MarkRequest(method: .mid, close: true)), .mark(MarkRequest(method: .nbboMid, close: false)),
                        .referenceQuote(quote("XYZ", "10.02", "10.05")), .referenceQuote(.none(v.symbol))] {
            var w = ByteWriter()
            w.write(command)
            let back = try w.bytes.withUnsafeBytes { b in var r = ByteReader(b); return try r.readCommand() }
            #expect(back == command)
        }
        for event in [price("XYZ", "10.25"), .marked(MarkRequest(method: .mid, close: true), prices: 7),
                      .referenceQuoted(quote("XYZ", "10.02", "10.05")),
                      .commandRejected(.referenceQuoteInvalid(v.symbol, bid: Price(units: 5), ask: Price(units: 4)))] {
            var w = ByteWriter()
            w.write(event)
            let back = try w.bytes.withUnsafeBytes { b in var r = ByteReader(b); return try r.readEvent() }
            #expect(back == event)
        }
    }
}
