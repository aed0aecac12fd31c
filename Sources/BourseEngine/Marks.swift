import BourseCore

extension MatchingEngine {
    /// The price `method` fixes for the symbol now; 0 when it has none.
    func markPrice(_ book: Book, _ method: MarkMethod) -> Int64 {
        if method == .nbboMid, book.referenceBid > 0 { return referenceQuote(book).mid }
        if method != .lastTrade, let bid = book.bids.best, let ask = book.asks.best {
            return (levels[bid].price + levels[ask].price) / 2
        }
        return referencePrice(book)
    }

    /// Fixes the mark: in listing order, each symbol's price where it has one and it changed since the last
    /// mark (every one at a close), then `marked`. Risk values every account at these prices alike.
    func fixMark(_ request: MarkRequest) {
        var count: UInt32 = 0
        for book in books {
            let price = markPrice(book, request.method)
            guard price > 0, request.close || price != book.markedPrice else { continue }
            book.markedPrice = price
            out.append(.markPrice(book.symbol, Price(units: price)))
            count += 1
        }
        out.append(.marked(request, prices: count))
    }

    /// Whether a mark by `method` now would fix a price other than the last mark's: the mark clock asks
    /// before it marks, so a quiet market adds nothing to the journal.
    public func markWouldChange(_ method: MarkMethod) -> Bool {
        books.contains { book in
            let price = markPrice(book, method)
            return price > 0 && price != book.markedPrice
        }
    }

    /// Keeps the followed venues' NBBO for the symbol (zeros: none now) for the next NBBO mark.
    func setReferenceQuote(_ quote: ReferenceQuote) {
        guard let book = listedBook(quote.symbol) else { return }
        guard quote.isValid else {
            out.append(.commandRejected(.referenceQuoteInvalid(quote.symbol, bid: quote.bid, ask: quote.ask)))
            return
        }
        book.referenceBid = quote.bid.units
        book.referenceAsk = quote.ask.units
        out.append(.referenceQuoted(quote))
    }

    /// The symbol's reference quote now; nil for an unlisted symbol.
    public func referenceQuote(_ symbol: Symbol) -> ReferenceQuote? { book(symbol).map(referenceQuote) }

    func referenceQuote(_ book: Book) -> ReferenceQuote {
        ReferenceQuote(symbol: book.symbol, bid: Price(units: book.referenceBid), ask: Price(units: book.referenceAsk))
    }
}
