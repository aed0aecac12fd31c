import BourseCore

extension MatchingEngine {
    /// The price `method` fixes for the symbol now; 0 when it has none.
    func markPrice(_ book: Book, _ method: MarkMethod) -> Int64 {
        if method == .mid, let bid = book.bids.best, let ask = book.asks.best {
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
}
