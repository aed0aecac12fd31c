import BourseCore
import BourseEngine
import BourseNode
import BourseRisk
import BourseTestSupport
import Testing

/// The book against the engine over random streams of every account command, with marks of both methods
/// between them: cash and holdings agree after every command, and at every mark each account is valued at
/// the mark's prices and the accounts sum to their clients and to the firm.
@Suite("risk: consistency over random streams")
struct ConsistencyTests {
    static let clients: [String: [AccountID]] = ["household": [1, 2, 4].map(AccountID.init), "fund": [3, 5].map(AccountID.init)]
    /// House rates above some accounts' own on AAA, and a default below them: each position takes the larger.
    static let house = HouseMargin(rates: .init(longBasisPoints: 1_000, shortBasisPoints: 1_000),
                                   symbols: [try! Symbol(validating: "AAA"): .init(longBasisPoints: 4_000, shortBasisPoints: 5_500)])

    @Test("cash and holdings equal the engine's and figures a fresh valuation after every command; at every mark the mark's prices are used and the sums hold",
          arguments: 1...6)
    func stream(seed: UInt64) {
        let engine = MatchingEngine(keepsAccounts: true)
        var book = RiskBook(clients: Self.clients, house: Self.house)
        var marks = 0
        for command in Self.commands(seed: seed) {
            let expected = command.command.markRequest.map { Self.prices(engine, $0.method) }
            for event in engine.process(command) {
                do { try book.apply(event, sequence: command.sequence, time: command.time) } catch { Issue.record("\(error)"); return }
            }
            let problems = differences(book, engine)
            guard problems.isEmpty else { Issue.record("seed \(seed) after \(command.sequence) \(command.command): \(problems)"); return }
            // Between marks figures move by difference; they must stay what valuing the account afresh gives.
            for (account, figures) in zip(book.accounts, book.figures) where figures != book.valued(account) {
                Issue.record("seed \(seed) after \(command.sequence) \(command.command): account \(account.id)'s figures \(figures), valued afresh \(book.valued(account))")
                return
            }
            checkSums(book)
            if let expected {
                marks += 1
                #expect(book.mark?.sequence == command.sequence)
                #expect(book.prices == expected, "the book's prices after the mark at \(command.sequence)")
                for (account, figures) in zip(book.accounts, book.figures) {
                    #expect(figures == Self.valued(account, at: expected), "account \(account.id) at the mark \(command.sequence)")
                }
            }
        }
        #expect(marks == 150)
    }

    @Test("spread over partitions and applied in batches on several cores, the book has the figures of one partition fed entry by entry",
          arguments: [(1, 2), (2, 3), (3, 5)] as [(UInt64, Int)])
    func partitions(seed: UInt64, count: Int) throws {
        let engine = MatchingEngine(keepsAccounts: true)
        let entries = Self.commands(seed: seed).map { Published(command: $0, events: engine.process($0)) }
        var one = RiskBook(clients: Self.clients, house: Self.house, keepsCloses: true)
        var spread = RiskBook(clients: Self.clients, house: Self.house, partitions: count, keepsCloses: true)
        #expect(Set(AccountStream.accounts.map { spread.partitioning.partition(of: $0.0) }).count > 1, "the accounts are spread")
        var closes = 0
        for from in stride(from: 0, to: entries.count, by: 97) {
            let batch = entries[from..<min(from + 97, entries.count)]
            for entry in batch { try one.apply(entry) }
            try spread.apply(batch)
            #expect(spread.sequence == one.sequence && spread.mark == one.mark && spread.prices == one.prices)
            for (account, figures) in zip(one.accounts, one.figures) {
                let other = try #require(spread.account(account.id), "account \(account.id) after \(spread.sequence)")
                #expect(other.0 == account && other.1 == figures, "account \(account.id) after \(spread.sequence)")
            }
            #expect(spread.firmFigures == one.firmFigures && spread.calls == one.calls)
            for name in Self.clients.keys { #expect(spread.client(name) == one.client(name), "client \(name) after \(spread.sequence)") }
            #expect(Set(spread.takeTouched().map(\.id)) == Set(one.takeTouched().map(\.id)))
            let (a, b) = (one.takeCloses(), spread.takeCloses())
            #expect(a.map(\.mark) == b.map(\.mark))
            for (x, y) in zip(a, b) {
                closes += 1
                #expect(Dictionary(uniqueKeysWithValues: x.accounts) == Dictionary(uniqueKeysWithValues: y.accounts), "close \(x.mark)")
            }
        }
        #expect(closes > 10)
    }

    /// The accounts opened and funded, then 3,000 of every account command, a mark of a random method every
    /// 20th (one in five a close), and halfway between marks a reference quote for a symbol (one in four none).
    static func commands(seed: UInt64) -> [SequencedCommand] {
        var stream = AccountStream(seed: seed)
        var commands = stream.opening()
        for step in 0..<3_000 {
            if step % 20 == 19 {
                let request = MarkRequest(method: MarkMethod.allCases.randomElement(using: &stream.orders.rng)!,
                                          close: Int.random(in: 0..<5, using: &stream.orders.rng) == 0)
                commands.append(stream.orders.stamp(.mark(request)))
            } else if step % 20 == 9 {
                let symbol = try! Symbol(validating: Bool.random(using: &stream.orders.rng) ? "AAA" : "BB.B")
                let bid = Int64.random(in: 90_000...110_000, using: &stream.orders.rng)
                let quote = Int.random(in: 0..<4, using: &stream.orders.rng) == 0 ? ReferenceQuote.none(symbol)
                    : ReferenceQuote(symbol: symbol, bid: Price(units: bid), ask: Price(units: bid + Int64.random(in: 0...500, using: &stream.orders.rng)))
                commands.append(stream.orders.stamp(.referenceQuote(quote)))
            } else {
                commands.append(stream.next())
            }
        }
        return commands
    }

    /// What the engine's books say each symbol's price is, by `method`, as a mark would fix it.
    static func prices(_ engine: MatchingEngine, _ method: MarkMethod) -> [Symbol: Int64] {
        var result: [Symbol: Int64] = [:]
        for symbol in ["AAA", "BB.B"].map({ try! Symbol(validating: $0) }) {
            let s = engine.summary(of: symbol)!
            if method == .nbboMid, let quote = engine.referenceQuote(symbol), quote.bid.units > 0 {
                result[symbol] = quote.mid
            } else if method != .lastTrade, let bid = s.bestBid, let ask = s.bestAsk {
                result[symbol] = (bid.units + ask.units) / 2
            } else {
                result[symbol] = s.lastTrade?.units ?? 100_000
            }
        }
        return result
    }

    /// An account valued the plain way: every figure from its holdings at `prices`.
    static func valued(_ a: RiskBook.Account, at prices: [Symbol: Int64]) -> RiskFigures {
        var f = RiskFigures()
        f.accounts = 1
        f.cash = Int128(a.cash)
        f.fees = Int128(a.fees)
        f.dayStart = Int128(a.dayStart)
        f.realized = a.holdings.reduce(0) { $0 + Int128($1.realized) }
        for h in a.holdings where h.quantity != 0 {
            let value = Int128(h.quantity) * Int128(prices[h.symbol]!)
            f.unrealized += value - Int128(h.cost)
            if h.quantity > 0 { f.longValue += value } else { f.shortValue += -value }
            f.largestPosition = max(f.largestPosition, abs(value))
            if a.kind == .margin {
                let rates = house.rates(h.symbol)
                let longOrShort = h.quantity > 0 ? max(a.margin.maintenanceLongBasisPoints, rates.longBasisPoints)
                                                 : max(a.margin.maintenanceShortBasisPoints, rates.shortBasisPoints)
                f.houseRequirement += ceilingPart(abs(value), longOrShort)
                f.regTRequirement += ceilingPart(abs(value), a.margin.initialBasisPoints)
            }
        }
        f.excess = a.kind == .margin ? f.cash + f.longValue - f.shortValue - f.houseRequirement : f.cash
        return f
    }

    static func ceilingPart(_ value: Int128, _ basisPoints: Int64) -> Int128 {
        let (q, r) = (value * Int128(basisPoints)).quotientAndRemainder(dividingBy: 10_000)
        return r > 0 ? q + 1 : q
    }

    func checkSums(_ book: RiskBook) {
        var firm = RiskFigures()
        for f in book.figures { firm.add(f) }
        #expect(firm == book.firmFigures, "the firm is the sum of its accounts")
        for (name, members) in Self.clients {
            var sum = RiskFigures()
            for id in members { if let (_, f) = book.account(id) { sum.add(f) } }
            #expect(sum == book.client(name), "client \(name) is the sum of its accounts")
        }
    }
}

extension Command {
    var markRequest: MarkRequest? { if case .mark(let r) = self { r } else { nil } }
}
