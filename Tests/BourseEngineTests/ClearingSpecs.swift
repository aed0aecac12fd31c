import BourseCore
import BourseEngine
import Testing

/// Business dates, captured trades and the settlement cycle: what a rollover closes and opens, what a
/// capture books, and how obligations settle, fail, carry forward and are marked.
@Suite("business dates, captures and settlement")
struct ClearingSpecs {
    let a = AccountID(1), b = AccountID(2), c = AccountID(3)
    let fri = CivilDate(year: 2026, month: 10, day: 9)
    /// Columbus Day: the exchange trades, the banks are closed.
    let columbus = CivilDate(year: 2026, month: 10, day: 12)
    let tue = CivilDate(year: 2026, month: 10, day: 13)
    let wed = CivilDate(year: 2026, month: 10, day: 14)
    let thu = CivilDate(year: 2026, month: 10, day: 15)

    /// A venue whose business day is Friday 9 October 2026: account 1 with $10,000, account 2 with 500 XYZ,
    /// account 3 a margin account with $10,000 and nothing else.
    func friday() -> Given {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "10000")
        v.open(2, shares: 500)
        v.open(3, .margin, cash: "10000")
        v.when(.rollBusinessDate(BusinessDateRoll(from: nil, to: fri, settlesOn: tue)))
        return v
    }

    func report(_ reference: String, _ account: AccountID, _ side: Side, _ shares: Int64, at dollars: String,
                traded: CivilDate? = nil, settles: CivilDate? = nil) -> TradeReport {
        TradeReport(reference: ShortText(reference)!, terms: TradeTerms(
            account: account, symbol: Given(accounts: true).symbol, side: side, quantity: Quantity(shares),
            price: Price(dollars: dollars)!, tradeDate: traded ?? fri, settlementDate: settles ?? tue))
    }

    /// Dollars as units, negative ones too.
    func units(_ dollars: String) -> Int64 {
        dollars.hasPrefix("-") ? -Money(dollars: String(dollars.dropFirst()))!.units : Money(dollars: dollars)!.units
    }

    func signed(_ dollars: String) -> Money { Money(units: units(dollars)) }

    func outcome(_ date: CivilDate, _ account: AccountID, _ shares: Int64, _ money: String, settled: Int64, _ settledMoney: String) -> Event {
        .obligationSettled(SettlementOutcome(date: date, account: account, symbol: Given(accounts: true).symbol, obligationShares: shares,
                                             obligationMoney: units(money), settledShares: settled,
                                             settledMoney: units(settledMoney)))
    }

    @Test("given Friday's business day, a rollover that closes another day, or opens one not after it, is refused and changes nothing")
    func rolloverOutOfTurn() {
        let v = friday()
        let before = v.engine.stateHash()
        // Sent at the time of the command before: the state (its hash holds the last command's time) must not move.
        #expect(v.when(.rollBusinessDate(BusinessDateRoll(from: nil, to: columbus, settlesOn: tue)), at: v.time)
                == [.commandRejected(.businessDateMismatch(current: fri, closing: nil))])
        #expect(v.when(.rollBusinessDate(BusinessDateRoll(from: fri, to: fri, settlesOn: tue)), at: v.time)
                == [.commandRejected(.businessDateNotAfter(fri, current: fri))])
        #expect(v.when(.rollBusinessDate(BusinessDateRoll(from: fri, to: tue, settlesOn: columbus)), at: v.time)
                == [.commandRejected(.settlementBeforeTrade(settles: columbus, traded: tue))])
        #expect(v.engine.stateHash() == before)
        #expect(v.engine.businessDate == fri)
    }

    @Test("""
    given a fill on Friday of 100 XYZ at $10 between accounts 1 and 2, when Columbus Day opens nothing settles; \
    when Tuesday opens both sides settle in full and their unsettled cash is gone
    """)
    func fillSettlesOnTuesday() {
        let v = friday()
        v.when(.newOrder(v.sell(1, "10.00", qty: 100, account: 2)))
        v.when(.newOrder(v.buy(2, "10.00", qty: 100, account: 1)))
        #expect(v.account(1).unsettledCash == signed("-1000") && v.account(2).unsettledCash == money("1000"))
        #expect(v.when(.rollBusinessDate(BusinessDateRoll(from: fri, to: columbus, settlesOn: wed)))
                == [.businessDateRolled(BusinessDateRoll(from: fri, to: columbus, settlesOn: wed))])
        #expect(v.engine.obligations(due: tue).map(\.shares) == [100, -100])
        #expect(v.engine.settledShares(a, v.symbol) == Quantity(0))
        let tuesday = v.when(.rollBusinessDate(BusinessDateRoll(from: columbus, to: tue, settlesOn: wed)))
        #expect(tuesday == [.businessDateRolled(BusinessDateRoll(from: columbus, to: tue, settlesOn: wed)),
                            outcome(tue, a, 100, "-1000", settled: 100, "-1000"),
                            outcome(tue, b, -100, "1000", settled: -100, "1000")])
        #expect(v.account(1).unsettledCash == .zero && v.account(2).unsettledCash == .zero)
        #expect(v.account(1).cash == money("9000") && v.engine.settledShares(a, v.symbol) == Quantity(100))
        #expect(v.engine.fails.isEmpty && v.engine.invariantViolations().isEmpty && v.ledgerViolations().isEmpty)
    }

    @Test("""
    given a margin account that sold 100 XYZ short away from the venue with no shares, when the trade's date \
    opens the sale fails in full and is carried forward; marked at $11 the account pays $100 now; when it buys \
    100 at $10.50 the next day, the fail nets against the buy and settles
    """)
    func failCarriedAndSettled() {
        let v = friday()
        #expect(v.when(.captureTrade(report("S-1", c, .sell, 100, at: "10.00"))) == [.tradeCaptured(1, report("S-1", c, .sell, 100, at: "10.00").terms)])
        v.when(.rollBusinessDate(BusinessDateRoll(from: fri, to: columbus, settlesOn: wed)))
        // A trade on the book at $11 sets the mark.
        v.when(.newOrder(v.sell(1, "11.00", qty: 1, account: 2)))
        v.when(.newOrder(v.buy(2, "11.00", qty: 1, account: 1)))
        let tuesday = v.when(.rollBusinessDate(BusinessDateRoll(from: columbus, to: tue, settlesOn: wed)))
        #expect(tuesday == [.businessDateRolled(BusinessDateRoll(from: columbus, to: tue, settlesOn: wed)),
                            outcome(tue, c, -100, "1000", settled: 0, "0"),
                            outcome(tue, .street, 100, "-1000", settled: 0, "0"),
                            .failMarked(tue, c, v.symbol, price: Price(dollars: "11")!, payment: signed("-100")),
                            .failMarked(tue, .street, v.symbol, price: Price(dollars: "11")!, payment: money("100"))])
        #expect(v.engine.fails.map(\.money) == [units("1100"), units("-1100")])
        #expect(v.account(3).unsettledCash == money("1100"))

        let buy = report("B-1", c, .buy, 100, at: "10.50", traded: tue, settles: wed)
        #expect(v.when(.captureTrade(buy)) == [.tradeCaptured(2, buy.terms)])
        let wednesday = v.when(.rollBusinessDate(BusinessDateRoll(from: tue, to: wed, settlesOn: thu)))
        // Columbus Day's fill of one share settles today as well.
        #expect(wednesday == [.businessDateRolled(BusinessDateRoll(from: tue, to: wed, settlesOn: thu)),
                              outcome(wed, a, 1, "-11", settled: 1, "-11"),
                              outcome(wed, b, -1, "11", settled: -1, "11"),
                              outcome(wed, c, 0, "50", settled: 0, "50"),
                              outcome(wed, .street, 0, "-50", settled: 0, "-50")])
        #expect(v.engine.fails.isEmpty && v.account(3).unsettledCash == .zero)
        #expect(v.account(3).cash == money("9950") && v.position(3)?.quantity == Quantity(0))
        #expect(v.engine.invariantViolations().isEmpty && v.ledgerViolations().isEmpty)
    }

    @Test("given a capture, the same reference with the same terms answers with the trade it made, with other terms is refused; neither changes anything")
    func captureIdempotent() {
        let v = friday()
        let first = report("T-1", a, .buy, 10, at: "10.00")
        #expect(v.when(.captureTrade(first)) == [.tradeCaptured(1, first.terms)])
        let after = v.engine.stateHash()
        #expect(v.when(.captureTrade(first), at: v.time) == [.commandRejected(.tradeAlreadyCaptured(1))])
        #expect(v.when(.captureTrade(report("T-1", a, .buy, 11, at: "10.00")), at: v.time) == [.commandRejected(.tradeReferenceReused)])
        #expect(v.engine.stateHash() == after)
        #expect(v.account(1).cash == money("9900") && v.position(1)?.quantity == Quantity(10))
    }

    @Test("""
        given Friday's business day, a batch of captures books each trade as it would be booked alone, answering \
        each with one event in order: the refused ones say why and book nothing
        """)
    func captureBatch() {
        let xyz = Given(accounts: true).symbol
        let reports = [
            report("T-1", a, .buy, 10, at: "10.00"),
            report("T-1", a, .buy, 10, at: "10.00"),
            report("T-1", a, .buy, 11, at: "10.00"),
            report("R", a, .buy, 10, at: "10.001"),
            report("T-2", b, .sell, 100, at: "10.00"),
            report("T-3", b, .sell, 1_000, at: "10.00"),
        ]
        let batched = friday(), alone = friday()
        let events = batched.when(.captureTrades(CaptureBatch(reports: reports, details: [1, 2, 3])))
        #expect(events == [
            .tradeCaptured(1, reports[0].terms), .commandRejected(.tradeAlreadyCaptured(1)), .commandRejected(.tradeReferenceReused),
            .commandRejected(.tradeTermsInvalid(xyz, Price(dollars: "10.001")!, Quantity(10))), .tradeCaptured(2, reports[4].terms),
            .commandRejected(.insufficientPosition(xyz, needs: Quantity(1_000), available: Quantity(400))),
        ])
        // The same trades one command each, at the batch's time: the same events and the same state.
        #expect(reports.flatMap { alone.when(.captureTrade($0), at: batched.time) } == events)
        #expect(alone.engine.stateHash() == batched.engine.stateHash())
        #expect(batched.account(1).cash == money("9900") && batched.position(2)?.quantity == Quantity(400))
    }

    @Test("a batch of captures round-trips through the codec; one of no trades, too many, or details too long is refused by name")
    func captureBatchCodec() throws {
        let batch = CaptureBatch(reports: (0..<CaptureBatch.reportsMax).map { report("B-\($0)", a, .buy, Int64($0 + 1), at: "10.00") },
                                 details: Array(repeating: 7, count: 1_000))
        var w = ByteWriter()
        w.write(Command.captureTrades(batch))
        #expect(try w.bytes.withUnsafeBytes { b in
            var r = ByteReader(b)
            return try r.readCommand()
        } == .captureTrades(batch))
        func refused(count: Int, details: Int) -> DecodeError? {
            var w = ByteWriter()
            w.write(UInt8(33))
            w.writeVarint(UInt64(count))
            for n in 0..<min(count, CaptureBatch.reportsMax + 1) { w.write(report("B-\(n)", a, .buy, 1, at: "10.00")) }
            w.writeVarint(UInt64(details))
            w.append(contentsOf: [UInt8](repeating: 0, count: min(details, CaptureBatch.detailsBytesMax + 1)))
            return w.bytes.withUnsafeBytes { b -> DecodeError? in
                var r = ByteReader(b)
                do throws(DecodeError) { _ = try r.readCommand(); return nil } catch { return error }
            }
        }
        #expect(refused(count: 0, details: 0) == DecodeError(.invalidValue("capture batch size"), at: 1))
        #expect(refused(count: CaptureBatch.reportsMax + 1, details: 0) == DecodeError(.invalidValue("capture batch size"), at: 1))
        #expect(refused(count: 1, details: CaptureBatch.detailsBytesMax + 1)?.description.contains("capture details size") == true)
        #expect(refused(count: 1, details: 10) == nil)
    }

    @Test("a capture names what is wrong with it and books nothing", arguments: [
        ("no business day", CommandRejectReason.noBusinessDate),
        ("trade date ahead", .tradeDateAhead(CivilDate(year: 2026, month: 10, day: 13), current: CivilDate(year: 2026, month: 10, day: 9))),
        ("settles before it trades", .settlementBeforeTrade(settles: CivilDate(year: 2026, month: 10, day: 8), traded: CivilDate(year: 2026, month: 10, day: 9))),
        ("off tick", .tradeTermsInvalid(try! Symbol(validating: "XYZ"), Price(dollars: "10.001")!, Quantity(10))),
        ("sells shares a cash account lacks", .insufficientPosition(try! Symbol(validating: "XYZ"), needs: Quantity(10), available: Quantity(0))),
        ("buys beyond a cash account's cash", .insufficientCash(needs: money("100000"), available: money("10000"))),
        ("empty reference", .tradeReferenceEmpty),
        ("the street's id", .unknownAccount(.street)),
    ] as [(String, CommandRejectReason)])
    func captureRefused(_ name: String, _ reason: CommandRejectReason) {
        let v = name == "no business day" ? Given(rules: referenced, accounts: true) : friday()
        if name == "no business day" { v.open(1, cash: "10000") }
        var r = report("R", a, .buy, 10, at: "10.00")
        switch name {
        case "trade date ahead": r.terms.tradeDate = tue; r.terms.settlementDate = wed
        case "settles before it trades": r.terms.settlementDate = fri.adding(days: -1)
        case "off tick": r.terms.price = Price(dollars: "10.001")!
        case "sells shares a cash account lacks": r.terms.side = .sell
        case "buys beyond a cash account's cash": r.terms.quantity = Quantity(10_000)
        case "empty reference": r.reference = ShortText("")!
        case "the street's id": r.terms.account = .street
        default: break
        }
        let before = v.engine.stateHash()
        #expect(v.when(.captureTrade(r), at: v.time) == [.commandRejected(reason)])
        #expect(v.engine.stateHash() == before)
    }

    @Test("an account cannot be opened under the street's id")
    func streetReserved() {
        let v = Given(accounts: true)
        #expect(v.when(.openAccount(.street, AccountNumber("STREET")!, AccountTerms(kind: .cash)))
                == [.commandRejected(.accountIDReserved(.street))])
    }

    @Test("the snapshot keeps business dates, obligations, fails and references: the restored engine continues alike")
    func snapshotKeepsClearing() throws {
        let v = friday()
        v.when(.captureTrade(report("S-1", c, .sell, 100, at: "10.00")))
        v.when(.newOrder(v.sell(1, "10.00", qty: 50, account: 2)))
        v.when(.newOrder(v.buy(2, "10.00", qty: 50, account: 1)))
        v.when(.rollBusinessDate(BusinessDateRoll(from: fri, to: tue, settlesOn: wed)))
        v.when(.captureTrade(report("B-1", c, .buy, 40, at: "10.00", traded: tue, settles: wed)))
        let copy = try restored(v.engine)
        #expect(copy.stateHash() == v.engine.stateHash())
        let roll = SequencedCommand(sequence: 99, time: Timestamp(nanos: 99_000),
                                    command: .rollBusinessDate(BusinessDateRoll(from: tue, to: wed, settlesOn: thu)))
        #expect(copy.process(roll) == v.engine.process(roll))
        let again = SequencedCommand(sequence: 100, time: Timestamp(nanos: 100_000), command: .captureTrade(report("B-1", c, .buy, 40, at: "10.00", traded: tue, settles: wed)))
        #expect(copy.process(again) == [.commandRejected(.tradeAlreadyCaptured(2))])
    }

    @Test("""
        given a cycle of more obligations than a command settles, the rollover settles a part and says how many are left, \
        each settleNext the next, and the last finishes the rollover: the events and the state are those of one command; \
        meanwhile what would change what settles is refused, and a snapshot taken midway goes on alike
        """)
    func settlementInParts() throws {
        func venue(_ perCommand: Int) -> Given {
            let v = Given(rules: referenced, accounts: true, limits: .init(settlementOutcomesPerCommandMax: perCommand))
            v.open(1, cash: "10000")
            v.open(2, shares: 500)
            v.open(3, .margin, cash: "10000")
            v.open(4, cash: "10000")
            v.when(.rollBusinessDate(BusinessDateRoll(from: nil, to: fri, settlesOn: tue)))
            v.when(.captureTrade(report("T-1", a, .buy, 10, at: "10.00")))
            v.when(.captureTrade(report("T-2", b, .sell, 50, at: "10.00")))
            // Account 3 sells short what it does not hold: its delivery fails and is carried forward.
            v.when(.captureTrade(report("T-3", c, .sell, 30, at: "10.00")))
            v.when(.newOrder(v.sell(1, "10.00", qty: 20, account: 2)))
            v.when(.newOrder(v.buy(2, "10.00", qty: 20, account: 4)))
            return v
        }
        let roll = Command.rollBusinessDate(BusinessDateRoll(from: fri, to: tue, settlesOn: wed))
        let whole = venue(4_096), parts = venue(2)
        let once = whole.when(roll)
        let obligations = once.filter { if case .obligationSettled = $0 { true } else { false } }.count
        #expect(obligations == 5 && !once.contains(.settlementContinues(tue, left: 0)))

        var events = parts.when(roll)
        #expect(events.last == .settlementContinues(tue, left: 3))
        // Waiting meanwhile, changing nothing.
        let midway = parts.engine.stateHash()
        #expect(parts.when(.captureTrade(report("T-4", a, .buy, 1, at: "10.00", traded: tue, settles: wed)), at: parts.time)
                == [.commandRejected(.settlementInProgress(tue, left: 3))])
        #expect(parts.when(.rollBusinessDate(BusinessDateRoll(from: tue, to: wed, settlesOn: thu)), at: parts.time)
                == [.commandRejected(.settlementInProgress(tue, left: 3))])
        #expect(parts.when(.settleNext(wed), at: parts.time) == [.commandRejected(.noSettlementInProgress(wed))])
        #expect(parts.engine.stateHash() == midway)
        #expect(parts.engine.settlementInProgress?.left == 3)
        let copy = try restored(parts.engine)
        #expect(copy.stateHash() == midway)

        // The obligations left, then the fails marked (the mark is the trade price here: nothing to pay).
        var (commands, part) = (1, events)
        while case .settlementContinues(let date, _)? = part.last {
            part = parts.when(.settleNext(date), at: parts.time)
            events += part
            commands += 1
        }
        #expect(commands == 4)
        #expect(events.filter { if case .settlementContinues = $0 { false } else { true } } == once)
        #expect(parts.engine.stateHash() == whole.engine.stateHash())
        #expect(parts.engine.settlementInProgress == nil)
        #expect(parts.when(.settleNext(tue), at: parts.time) == [.commandRejected(.noSettlementInProgress(tue))])
        #expect(parts.engine.invariantViolations().isEmpty && parts.ledgerViolations().isEmpty)

        // The snapshot taken midway goes on to the same end.
        for sequence in 1...3 {
            _ = copy.process(SequencedCommand(sequence: UInt64(100 + sequence), time: Timestamp(nanos: parts.time), command: .settleNext(tue)))
        }
        #expect(copy.stateHash() == whole.engine.stateHash())
    }

    // MARK: - Cancellations

    @Test("a captured trade cancelled before its settlement date nets away there: nothing moves, the account is as before")
    func cancelBeforeSettlement() {
        let v = friday()
        let buy = report("T-1", a, .buy, 10, at: "10.00")
        v.when(.captureTrade(buy))
        let cancel = TradeCancellation(trade: .capture(1), terms: buy.terms, counterparty: .street)
        #expect(v.when(.cancelTrade(cancel)) == [.tradeCancelled(cancel, dueOn: tue)])
        #expect(v.account(1).cash == money("10000") && v.position(1)?.quantity == Quantity(0) && v.account(1).unsettledCash == .zero)
        #expect(v.when(.cancelTrade(cancel), at: v.time) == [.commandRejected(.tradeAlreadyCancelled(.capture(1)))])
        var wrong = cancel
        wrong.trade = .capture(2)
        #expect(v.when(.cancelTrade(wrong), at: v.time) == [.commandRejected(.unknownTrade(.capture(2)))])
        v.when(.rollBusinessDate(BusinessDateRoll(from: fri, to: columbus, settlesOn: tue)))
        #expect(v.when(.rollBusinessDate(BusinessDateRoll(from: columbus, to: tue, settlesOn: wed))) == [.businessDateRolled(BusinessDateRoll(from: columbus, to: tue, settlesOn: wed))])
        #expect(v.engine.invariantViolations().isEmpty && v.ledgerViolations().isEmpty)
    }

    @Test("a captured trade cancelled after it settled is reversed at the next cycle: the shares go back to the street, the money to the account")
    func cancelAfterSettlement() {
        let v = friday()
        let buy = report("T-1", a, .buy, 10, at: "10.00")
        v.when(.captureTrade(buy))
        v.when(.rollBusinessDate(BusinessDateRoll(from: fri, to: tue, settlesOn: wed)))
        #expect(v.engine.settledShares(a, v.symbol) == Quantity(10))
        let cancel = TradeCancellation(trade: .capture(1), terms: buy.terms, counterparty: .street)
        var other = cancel
        other.terms.quantity = Quantity(9)
        #expect(v.when(.cancelTrade(other), at: v.time) == [.commandRejected(.tradeTermsMismatch(.capture(1)))])
        #expect(v.when(.cancelTrade(cancel)) == [.tradeCancelled(cancel, dueOn: wed)])
        let wednesday = v.when(.rollBusinessDate(BusinessDateRoll(from: tue, to: wed, settlesOn: thu)))
        #expect(wednesday == [.businessDateRolled(BusinessDateRoll(from: tue, to: wed, settlesOn: thu)),
                              outcome(wed, a, -10, "100", settled: -10, "100"), outcome(wed, .street, 10, "-100", settled: 10, "-100")])
        #expect(v.account(1).cash == money("10000") && v.account(1).unsettledCash == .zero && v.engine.settledShares(a, v.symbol) == Quantity(0))
        #expect(v.engine.invariantViolations().isEmpty && v.ledgerViolations().isEmpty)
    }

    @Test("a fill cancelled reverses both sides; a cash account that no longer holds the shares to give back is refused")
    func cancelFill() {
        let v = friday()
        v.when(.newOrder(v.sell(1, "10.00", qty: 100, account: 2)))
        let fill = v.when(.newOrder(v.buy(2, "10.00", qty: 100, account: 1)))
        guard case .trade(let t)? = fill.first(where: { if case .trade = $0 { true } else { false } }) else { Issue.record("no fill"); return }
        let terms = TradeTerms(account: a, symbol: v.symbol, side: .buy, quantity: Quantity(100), price: Price(dollars: "10")!, tradeDate: fri, settlementDate: tue)
        let cancel = TradeCancellation(trade: .fill(t.executionID), terms: terms, counterparty: b)
        // Account 1 sold 60 of the shares since: it cannot give back 100.
        v.when(.newOrder(v.buy(3, "9.00", qty: 60, account: 2)))
        v.when(.newOrder(v.sell(4, "9.00", qty: 60, account: 1)))
        #expect(v.when(.cancelTrade(cancel), at: v.time) == [.commandRejected(.insufficientPosition(v.symbol, needs: Quantity(100), available: Quantity(40)))])
        v.when(.newOrder(v.sell(5, "9.00", qty: 60, account: 2)))
        v.when(.newOrder(v.buy(6, "9.00", qty: 60, account: 1)))
        #expect(v.when(.cancelTrade(cancel)) == [.tradeCancelled(cancel, dueOn: tue)])
        #expect(v.position(1)?.quantity == Quantity(0) && v.position(2)?.quantity == Quantity(500))
        #expect(v.engine.invariantViolations().isEmpty && v.ledgerViolations().isEmpty)
    }

    @Test("a capture matched in a reconciliation is cleared once; a fill or a cancelled capture is not")
    func clear() {
        let v = friday()
        v.when(.captureTrade(report("T-1", a, .buy, 10, at: "10.00")))
        v.when(.captureTrade(report("T-2", a, .buy, 5, at: "10.00")))
        #expect(v.when(.clearTrade(.capture(1), reconciliation: 7)) == [.tradeCleared(.capture(1), reconciliation: 7)])
        #expect(v.when(.clearTrade(.capture(1), reconciliation: 8)) == [.commandRejected(.tradeAlreadyCleared(.capture(1)))])
        v.when(.cancelTrade(TradeCancellation(trade: .capture(2), terms: report("T-2", a, .buy, 5, at: "10.00").terms, counterparty: .street)))
        #expect(v.when(.clearTrade(.capture(2), reconciliation: 7)) == [.commandRejected(.tradeAlreadyCancelled(.capture(2)))])
        #expect(v.when(.clearTrade(.fill(ExecutionID(1)), reconciliation: 7)) == [.commandRejected(.unknownTrade(.fill(ExecutionID(1))))])
    }

    // MARK: - Corporate actions

    @Test("""
    a dividend recorded on Columbus Day is owed on settled shares only: the seller of Friday's unsettled sale is \
    the holder of record; it is paid on its pay date, cash from the issuer
    """)
    func dividend() {
        let v = friday()
        v.when(.newOrder(v.sell(1, "10.00", qty: 100, account: 2)))
        v.when(.newOrder(v.buy(2, "10.00", qty: 100, account: 1)))
        let d = Dividend(symbol: v.symbol, perShare: money("0.25"), exDate: columbus, recordDate: columbus, payDate: wed)
        #expect(v.when(.declareDividend(d)) == [.dividendDeclared(1, d)])
        var past = d
        past.recordDate = fri
        #expect(v.when(.declareDividend(past), at: v.time) == [.commandRejected(.dividendInvalid(v.symbol))])
        let monday = v.when(.rollBusinessDate(BusinessDateRoll(from: fri, to: columbus, settlesOn: tue)))
        #expect(monday.last == .dividendRecorded(1, b, shares: Quantity(500)))
        v.when(.rollBusinessDate(BusinessDateRoll(from: columbus, to: tue, settlesOn: wed)))
        let cash = v.account(2).cash
        let wednesday = v.when(.rollBusinessDate(BusinessDateRoll(from: tue, to: wed, settlesOn: thu)))
        #expect(wednesday.last == .dividendPaid(1, b, money("125")))
        #expect(v.account(2).cash == Money(units: cash.units + money("125").units) && v.engine.outsideCashBalance.units < 0)
        #expect(v.ledgerViolations().isEmpty, "\(v.ledgerViolations())")
    }

    @Test("""
    a 2-for-1 split effective Tuesday doubles positions and what is due, leaves cost and money alone, halves the \
    mark and cancels the symbol's open orders; Friday's 100 shares settle as 200
    """)
    func split() {
        let v = friday()
        v.when(.newOrder(v.sell(1, "10.00", qty: 100, account: 2)))
        v.when(.newOrder(v.buy(2, "10.00", qty: 100, account: 1)))
        v.when(.newOrder(v.sell(3, "12.00", qty: 50, account: 2)))
        let s = Split(symbol: v.symbol, ratio: 2, effectiveDate: tue)
        #expect(v.when(.declareSplit(s)) == [.splitDeclared(1, s)])
        #expect(v.when(.declareSplit(Split(symbol: v.symbol, ratio: 1, effectiveDate: tue)), at: v.time) == [.commandRejected(.splitInvalid(v.symbol))])
        let cost = v.position(2)!.costBasis
        v.when(.rollBusinessDate(BusinessDateRoll(from: fri, to: columbus, settlesOn: tue)))
        let tuesday = v.when(.rollBusinessDate(BusinessDateRoll(from: columbus, to: tue, settlesOn: wed)))
        #expect(tuesday.contains(.orderCancelled(OrderID(3), b, leaves: Quantity(50), .corporateAction)))
        #expect(tuesday.contains(.positionSplit(1, a, v.symbol, from: Quantity(100), to: Quantity(200))))
        #expect(tuesday.contains(.positionSplit(1, b, v.symbol, from: Quantity(400), to: Quantity(800))))
        #expect(tuesday.contains(outcome(tue, a, 200, "-1000", settled: 200, "-1000")))
        #expect(v.position(2)?.quantity == Quantity(800) && v.position(2)?.costBasis == cost)
        #expect(v.engine.summary(of: v.symbol)?.lastTrade == Price(dollars: "5"))
        #expect(v.engine.settledShares(a, v.symbol) == Quantity(200) && v.engine.invariantViolations().isEmpty && v.ledgerViolations().isEmpty)
    }
}
