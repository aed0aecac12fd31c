import BourseCore
import BourseMarketData
import Foundation

extension Bench {
    /// ITCH decoding alone, then decoding and book building, each timed over the whole buffer `runs` times;
    /// medians reported.
    func measureITCH() throws {
        let file: [UInt8]
        let source: String
        if let path = itchFile {
            file = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            source = "file"
        } else {
            file = ITCHDay.generate(messages: itch ?? 10_000_000, seed: seed)
            source = "generated"
        }
        var decodeRates: [Double] = [], bookRates: [Double] = []
        var messages = 0, checksum: UInt64 = 0, orders = 0, anomalies = 0
        for _ in 0..<runs {
            var count = 0
            var sum: UInt64 = 0
            let start = DispatchTime.now().uptimeNanoseconds
            try file.withUnsafeBytes { b in
                try ITCH.forEachMessage(in: b) { message in
                    count += 1
                    // Touch each message so that decoding cannot be skipped.
                    if case .addOrder(let h, let a) = message { sum &+= a.reference &+ h.timestamp }
                }
            }
            decodeRates.append(Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            messages = count
            checksum = sum
            var books = ITCHBooks()
            let booksStart = DispatchTime.now().uptimeNanoseconds
            try file.withUnsafeBytes { b in try ITCH.forEachMessage(in: b) { books.apply($0) } }
            bookRates.append(Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - booksStart) / 1e9))
            orders = books.orderCount
            anomalies = books.anomalies
        }
        print(#"{"mode":"itch","source":"\#(source)","messages":\#(messages),"bytes":\#(file.count),"runs":\#(runs),"decode_messages_per_sec":\#(Int(median(decodeRates))),"books_messages_per_sec":\#(Int(median(bookRates))),"open_orders_at_end":\#(orders),"anomalies":\#(anomalies),"checksum":\#(checksum)}"#)
    }
}

extension Bench {
    /// NBBO recomputation: pre-generated top-of-book updates from 8 venues over 100 symbols, applied
    /// `runs` times; the median rate reported.
    func measureNBBO(updates count: Int) {
        var rng = SplitMix64(seed: seed)
        let venues = 8, symbols = 100
        var updates: [(venue: Int, symbol: Int, bid: Int64, bidSize: Int64, ask: Int64, askSize: Int64)] = []
        updates.reserveCapacity(count)
        for _ in 0..<count {
            let mid = 1_000_000 + Int64(rng.next() % 200) * 100
            let spread = Int64(1 + rng.next() % 5) * 100
            updates.append((Int(rng.next() % UInt64(venues)), Int(rng.next() % UInt64(symbols)), mid - spread,
                            Int64(100 * (1 + rng.next() % 5)), mid + spread, Int64(100 * (1 + rng.next() % 5))))
        }
        var rates: [Double] = []
        var changed = 0
        for _ in 0..<runs {
            var nbbo = NBBO(symbols: symbols)
            var sequences = [UInt64](repeating: 0, count: venues)
            changed = 0
            let start = DispatchTime.now().uptimeNanoseconds
            for u in updates {
                sequences[u.venue] += 1
                if case .changed = nbbo.update(venue: u.venue, symbol: u.symbol, bid: (u.bid, u.bidSize), ask: (u.ask, u.askSize),
                                               sequence: sequences[u.venue]) {
                    changed += 1
                }
            }
            rates.append(Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
        }
        print(#"{"mode":"nbbo","venues":\#(venues),"symbols":\#(symbols),"updates":\#(count),"runs":\#(runs),"updates_per_sec":\#(Int(median(rates))),"nbbo_changes":\#(changed)}"#)
    }
}

extension Bench {
    /// Candle building: pre-generated trades over 100 symbols, about 4,000 a second for a week of wall time,
    /// added to a `BarBook` (minute bars, streaming) `runs` times; the median rate reported. Folding the
    /// minute bars into every longer timeframe is timed apart, per symbol.
    func measureCandles(trades count: Int) {
        var rng = SplitMix64(seed: seed)
        let symbols = (0..<100).map { try! Symbol(validating: "S\($0)") }
        var trades: [(symbol: Int, price: Int64, quantity: Int64, time: Int64)] = []
        trades.reserveCapacity(count)
        var time = ExchangeCalendar.instant(CivilDate(year: 2026, month: 11, day: 16), minute: 9 * 60 + 30).nanos
        for _ in 0..<count {
            time += Int64(rng.next() % 500_000)
            trades.append((Int(rng.next() % 100), 1_000_000 + Int64(rng.next() % 2_000) * 100, Int64(1 + rng.next() % 500), time))
        }
        var rates: [Double] = []
        var foldRates: [Double] = []
        var checksum: Int64 = 0
        for _ in 0..<runs {
            var book = BarBook()
            var closed = 0
            let start = DispatchTime.now().uptimeNanoseconds
            for t in trades where book.add(symbols[t.symbol], price: t.price, quantity: t.quantity, at: t.time) != nil { closed += 1 }
            rates.append(Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            let folding = DispatchTime.now().uptimeNanoseconds
            var minutes = 0
            checksum = 0
            for symbol in symbols {
                minutes += book.bars(symbol, .minute, from: 0, to: .max, limit: .max).count
                for timeframe in Timeframe.allCases where timeframe != .minute {
                    checksum &+= book.bars(symbol, timeframe, from: 0, to: .max, limit: .max).reduce(0) { $0 &+ $1.volume }
                }
            }
            foldRates.append(Double(minutes * (Timeframe.allCases.count - 1)) / (Double(DispatchTime.now().uptimeNanoseconds - folding) / 1e9))
            checksum &+= Int64(closed)
        }
        print(#"{"mode":"candles","symbols":100,"trades":\#(count),"runs":\#(runs),"trades_per_sec":\#(Int(median(rates))),"minute_bars_folded_per_sec":\#(Int(median(foldRates))),"checksum":\#(checksum)}"#)
    }
}

/// A synthetic trading day in ITCH 5.0: a directory of 100 stocks, then adds, executions, cancels,
/// deletes, replaces and trades in roughly the proportions of a NASDAQ day, keeping about 100,000 orders open.
enum ITCHDay {
    static func generate(messages: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var file: [UInt8] = []
        file.reserveCapacity(messages * 36)
        let stocks = (0..<100).map { ITCH.Stock("S\($0)")! }
        var time: UInt64 = 34_200_000_000_000
        for (i, stock) in stocks.enumerated() {
            ITCH.append(.stockDirectory(ITCH.Header(locate: UInt16(i + 1), tracking: 0, timestamp: time), ITCH.StockDirectory(stock: stock)), to: &file)
        }
        // Open orders: reference, locate, side, price and shares, in an array to pick from at random.
        var open: [(reference: UInt64, locate: UInt16, side: Side, price: UInt32, shares: UInt32)] = []
        open.reserveCapacity(200_000)
        var next: UInt64 = 1
        var match: UInt64 = 1
        var written = stocks.count
        while written < messages {
            time += 1 + rng.next() % 200
            let roll = rng.next() % 100
            if open.count < 100_000 && roll < 50 || open.isEmpty {
                let locate = UInt16(1 + rng.next() % 100)
                let side: Side = rng.next() & 1 == 0 ? .buy : .sell
                let price = UInt32(500_000 + (rng.next() % 400) * 100 + (side == .sell ? 40_000 : 0))
                let shares = UInt32(100 * (1 + rng.next() % 10))
                ITCH.append(.addOrder(ITCH.Header(locate: locate, tracking: 0, timestamp: time),
                                      ITCH.AddOrder(reference: next, side: side, shares: shares, stock: stocks[Int(locate) - 1], price: price)), to: &file)
                open.append((next, locate, side, price, shares))
                next += 1
            } else {
                let i = Int(rng.next() % UInt64(open.count))
                let order = open[i]
                let h = ITCH.Header(locate: order.locate, tracking: 0, timestamp: time)
                let part = UInt32(1 + rng.next() % UInt64(order.shares))
                switch roll % 20 {
                case 0..<3:
                    ITCH.append(.orderExecuted(h, reference: order.reference, shares: part, match: match), to: &file)
                    match += 1
                    if part == order.shares { open.swapAt(i, open.count - 1); open.removeLast() } else { open[i].shares -= part }
                case 3..<5:
                    ITCH.append(.orderCancel(h, reference: order.reference, shares: part), to: &file)
                    if part == order.shares { open.swapAt(i, open.count - 1); open.removeLast() } else { open[i].shares -= part }
                case 5..<8:
                    ITCH.append(.orderReplace(h, original: order.reference, new: next, shares: order.shares, price: order.price + 100), to: &file)
                    open[i] = (next, order.locate, order.side, order.price + 100, order.shares)
                    next += 1
                case 8:
                    ITCH.append(.trade(h, ITCH.Trade(reference: 0, side: order.side, shares: part, stock: stocks[Int(order.locate) - 1],
                                                     price: order.price, match: match)), to: &file)
                    match += 1
                default:
                    ITCH.append(.orderDelete(h, reference: order.reference), to: &file)
                    open.swapAt(i, open.count - 1)
                    open.removeLast()
                }
            }
            written += 1
        }
        return file
    }
}
