import BourseCore
import BourseEngine
import BourseJournal
import BourseKafka
import BourseProjections
import BourseTestSupport
import Foundation
import Testing

/// Post-trade's dated topics: a venue's journal over several business dates (fills before the first one,
/// fills, captures from away dated back and settling days ahead, cancellations, settlement cycles) published
/// by one publisher, then, after more days, by another that starts over from what the topics hold. Every
/// record is where a small model of the rules puts it, once, and in the same transaction as its entry.
@Suite("the journal on Kafka: dated topics")
struct KafkaDatedTopicsTests {
    @Test("each business date's trades are in its topic, what they make due in the topics of their settlement dates, once each and in their entry's transaction")
    func datedTopics() throws {
        let broker = try KafkaPublicationTests.broker()
        let directory = makeTemporaryDirectory("bourse-kafka-dated")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = directory + "/journal"
        let prefix = "dated-\(UInt32.random(in: 0...UInt32.max))"
        let location = try KafkaLocation.parse("\(broker)/\(prefix)?partitions=2").get()
        var limits = JournalPublisher.Limits()
        limits.entriesPerTransactionMax = 150

        var run = Run(journal: journal)
        try run.days(3, ordersBeforeFirst: 600)
        // The first days in one transaction: the second publisher finds the business date that transaction
        // began with (none) and must move it over three rollovers itself.
        let first = JournalPublisher(location: location, journal: journal, keepsAccounts: true)
        try first.open()
        #expect(first.currentStatus.transactions == 1)
        // More of the third day and more days, in a journal continued where it stopped; a second publisher
        // goes on from the topics.
        try run.days(3, ordersBeforeFirst: 600)
        let second = JournalPublisher(location: location, journal: journal, keepsAccounts: true, limits: limits)
        try second.open()
        #expect(second.currentStatus.published == run.sequence)
        #expect(second.currentStatus.entriesSent > 0 && second.currentStatus.entriesSent < Int(run.sequence))

        let model = try Model(journal: journal)
        #expect(model.kinds["trade"] ?? 0 > 100 && model.kinds["due"] ?? 0 > 100 && model.kinds["settled"] ?? 0 > 10, "\(model.kinds)")
        #expect(model.captures > 5 && model.cancels > 0 && model.undated > 0 && model.aheadOfTrade > 0, "\(model)")

        // Each event record's transaction, to hold the dated records to.
        let events = try KafkaReader(brokers: location.brokers, topic: prefix + ".events",
                                     headers: [EventTopic.sequenceHeader, EventTopic.transactionHeader])
        var transactionOf: [UInt64: UInt64] = [:]
        for partition in Int32(0)..<2 {
            try events.readToEnd(partition, from: 0) { r in
                let sequence = try #require(EventTopic.readBigEndian(r.headers[EventTopic.sequenceHeader]))
                transactionOf[sequence] = EventTopic.readBigEndian(r.headers[EventTopic.transactionHeader])
            }
        }

        let dated = DatedTopics(prefix: prefix, partitions: 2)
        var found: [String] = []
        var netByTrade: [String: (shares: Int64, money: Int64)] = [:]
        for date in model.topics.sorted() {
            let name = dated.name(date == DatedTopics.undated ? nil : CivilDate(date))
            let reader = try KafkaReader(brokers: location.brokers, topic: name, headers: [EventTopic.sequenceHeader, EventTopic.transactionHeader])
            #expect(try reader.partitionCount() == 2, "\(name)")
            for partition in Int32(0)..<2 {
                try reader.readToEnd(partition, from: 0) { r in
                    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.value)) as? [String: Any], "\(name): \(r.value)")
                    let sequence = try #require(EventTopic.readBigEndian(r.headers[EventTopic.sequenceHeader]))
                    #expect(json["sequence"] as? Int == Int(sequence))
                    #expect(EventTopic.readBigEndian(r.headers[EventTopic.transactionHeader]) == transactionOf[sequence],
                            "\(name): sequence \(sequence) was not written in its entry's transaction")
                    let symbol = try Symbol(validating: try #require(json["symbol"] as? String))
                    #expect(EventTopic.partition(of: symbol, count: 2) == partition && r.key == Array(symbol.description.utf8))
                    let kind = json["kind"] as? String ?? "?"
                    let id = json["id"] as? String ?? json["trade"] as? String ?? "-"
                    let account = (json["account"] as? Int).map(String.init) ?? "-"
                    found.append("\(date)|\(kind)|\(id)|\(account)|\(sequence)")
                    if kind == "due" {
                        #expect(json["due"] as? String == (date == DatedTopics.undated ? nil : date))
                        let text = json["money"] as? String ?? ""
                        let magnitude = try #require(Money(dollars: text.hasPrefix("-") ? String(text.dropFirst()) : text), "\(json)")
                        let money = text.hasPrefix("-") ? Money(units: -magnitude.units) : magnitude
                        let key = "\(id) \(sequence)"
                        netByTrade[key, default: (0, 0)].shares += Int64(json["shares"] as? Int ?? 0)
                        netByTrade[key, default: (0, 0)].money += money.units
                    }
                }
            }
        }
        let unbalanced = netByTrade.filter { $0.value.shares != 0 || $0.value.money != 0 }
        #expect(unbalanced.isEmpty, "what a trade makes due to one party it takes from the other: \(unbalanced.prefix(5))")
        let expected = model.records.sorted()
        found.sort()
        #expect(found.count == expected.count, "the topics hold \(found.count) records, the model expects \(expected.count)")
        #expect(found == expected, "first difference: \(zip(found, expected).first { $0 != $1 }.map { "\($0) against \($1)" } ?? "in length")")
        print("kafka dated topics: \(found.count) records in \(model.topics.count) topics; \(model)")
    }

    /// A venue run over business dates, journaled: the order flow of `AccountStream`, captures from away
    /// (some dated the day before, settling up to three days ahead), cancellations of some of them, and
    /// a rollover at the end of each day with fills settling one or two days later.
    struct Run {
        let journal: String
        var stream = AccountStream(seed: 77)
        let engine = MatchingEngine(keepsAccounts: true)
        var today: CivilDate?
        var sequence: UInt64 = 0
        var captured: [(UInt64, TradeTerms)] = []

        init(journal: String) { self.journal = journal }

        /// Orders on the date open (or before any), then `count` days, each opened by a rollover.
        mutating func days(_ count: Int, ordersBeforeFirst: Int) throws {
            let writer = try JournalWriter(directory: journal, durability: .os, lastSequence: sequence, keepsAccounts: true)
            var commands = sequence == 0 ? stream.opening() : []
            for _ in 0..<ordersBeforeFirst { commands.append(stream.next()) }
            for command in commands { try apply(command, writer) }
            for _ in 0..<count {
                let next = today.map { $0.adding(days: 1) } ?? CivilDate(year: 2026, month: 3, day: 2)
                let roll = BusinessDateRoll(from: today, to: next, settlesOn: next.adding(days: Int.random(in: 1...2, using: &stream.orders.rng)))
                try apply(stream.orders.stamp(.rollBusinessDate(roll)), writer)
                today = next
                for n in 0..<400 {
                    let command: Command
                    if n % 15 == 7 {
                        let account = AccountID(UInt32.random(in: 4...6, using: &stream.orders.rng))
                        let traded = next.adding(days: -Int.random(in: 0...1, using: &stream.orders.rng))
                        let report = TradeReport(reference: ShortText("R\(sequence)")!, terms: TradeTerms(
                            account: account, symbol: stream.orders.symbols[0], side: .buy, quantity: Quantity(Int64.random(in: 1...20, using: &stream.orders.rng)),
                            price: Price(units: 100_000), tradeDate: traded, settlementDate: traded.adding(days: Int.random(in: 1...3, using: &stream.orders.rng))))
                        // Every other capture comes in a batch, with a second trade and a repeat of the first.
                        command = n % 30 == 7 ? .captureTrade(report) : .captureTrades(CaptureBatch(
                            reports: [report, TradeReport(reference: ShortText("S\(sequence)")!, terms: report.terms), report], details: []))
                    } else if n % 45 == 30, let (id, terms) = captured.popLast() {
                        command = .cancelTrade(TradeCancellation(trade: .capture(id), terms: terms, counterparty: .street))
                    } else {
                        try apply(stream.next(), writer)
                        continue
                    }
                    try apply(stream.orders.stamp(command), writer)
                }
            }
        }

        private mutating func apply(_ command: SequencedCommand, _ writer: JournalWriter) throws {
            let events = engine.process(command)
            for case .tradeCaptured(let id, let terms) in events { captured.append((id, terms)) }
            writer.append(command, events)
            try writer.commit(through: command.sequence)
            sequence = command.sequence
        }
    }

    /// Where the rules put each record, from the journal alone: `date|kind|trade|account|sequence`.
    struct Model: CustomStringConvertible {
        var records: [String] = []
        var kinds: [String: Int] = [:]
        var topics: Set<String> = []
        var captures = 0, cancels = 0, undated = 0, aheadOfTrade = 0

        var description: String { "captures \(captures), cancels \(cancels), undated \(undated), due after the trade date \(aheadOfTrade), \(kinds)" }

        init(journal: String) throws {
            var open: CivilDate?, settlesOn: CivilDate?
            try JournalFeed.read(journal, after: 0, through: nil, chunk: 4_096) { entries in
                for entry in entries {
                    let s = entry.command.sequence
                    for event in entry.events {
                        switch event {
                        case .trade(let t):
                            let (day, due) = (open.map { "\($0)" } ?? DatedTopics.undated, open == nil ? DatedTopics.undated : "\(settlesOn!)")
                            if open == nil { undated += 1 }
                            let e = t.executionID.rawValue
                            add(day, "trade", "F-\(e)-B", t.buyerAccount, s)
                            add(day, "trade", "F-\(e)-S", t.sellerAccount, s)
                            add(due, "due", "F-\(e)", t.buyerAccount, s)
                            add(due, "due", "F-\(e)", t.sellerAccount, s)
                        case .tradeCaptured(let id, let terms):
                            captures += 1
                            if terms.settlementDate > terms.tradeDate { aheadOfTrade += 1 }
                            add("\(terms.tradeDate)", "trade", "C-\(id)", terms.account, s)
                            add("\(terms.settlementDate)", "due", "C-\(id)", terms.account, s)
                            add("\(terms.settlementDate)", "due", "C-\(id)", .street, s)
                        case .tradeCancelled(let c, let dueOn):
                            cancels += 1
                            add("\(open!)", "cancel", "\(c.trade)", nil, s)
                            add("\(dueOn)", "due", "\(c.trade)", c.terms.account, s)
                            add("\(dueOn)", "due", "\(c.trade)", c.counterparty, s)
                        case .businessDateRolled(let roll):
                            (open, settlesOn) = (roll.to, roll.settlesOn)
                        case .obligationSettled(let o):
                            add("\(o.date)", "settled", "-", o.account, s)
                        case .failMarked(let date, let account, _, _, _):
                            add("\(date)", "mark", "-", account, s)
                        default:
                            break
                        }
                    }
                }
            }
        }

        private mutating func add(_ date: String, _ kind: String, _ id: String, _ account: AccountID?, _ sequence: UInt64) {
            records.append("\(date)|\(kind)|\(id)|\(account.map { String($0.rawValue) } ?? "-")|\(sequence)")
            kinds[kind, default: 0] += 1
            topics.insert(date)
        }
    }
}
