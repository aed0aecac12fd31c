import BourseCore
import BourseEngine
import BourseNode
import BoursePostTrade
import BourseProjections
import Synchronization

/// Post-trade's capture gateway: the one way in for trades from the API, dropped files and FIX. It checks
/// a trade against the venue's calendars and accounts and fills in what is missing (the account behind
/// the number, the settlement date), then journals it as one capture command whose note keeps the
/// reference, counterparty, venue and source. The engine books it, or refuses it by name; a trade that
/// may become valid later (`CaptureQueue.retryable`) goes to the retry queue instead.
public final class CaptureDesk: TradeCapture {
    let venue: Venue
    let rules: VenueConfiguration.PostTradeRules
    public let queue: CaptureQueue
    let projections: Projections
    let clock: @Sendable () -> Int64

    public init(venue: Venue, rules: VenueConfiguration.PostTradeRules, queue: CaptureQueue, projections: Projections,
                clock: @escaping @Sendable () -> Int64) {
        self.venue = venue
        self.rules = rules
        self.queue = queue
        self.projections = projections
        self.clock = clock
    }

    /// A refusal: a stable code and a sentence, as the engine's reasons have.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var code: String
        public var message: String
        public var description: String { "\(code): \(message)" }
        init(_ code: String, _ message: String) { (self.code, self.message) = (code, message) }
    }

    public func capture(_ trade: CapturedTrade) async -> CaptureOutcome {
        switch await submit(trade) {
        case .captured(let id): .accepted(id: "C-\(id)")
        case .queued(let entry): .queued(reason: "\(entry.reason) (retry queue entry \(entry.id))")
        case .refused(let refusal): .refused(reason: refusal.description)
        }
    }

    /// What became of a trade handed in.
    public enum Submission: Sendable {
        case captured(UInt64)
        case queued(CaptureQueue.Entry)
        case refused(Refusal)
    }

    /// Books the trade, or queues it when what stops it may pass.
    public func submit(_ trade: CapturedTrade) async -> Submission {
        await submitAll([trade])[0]
    }

    /// Books many trades (a file, a batch), each as it would be alone, in the order given: at most
    /// `windowMax` captures are sent to the sequencer at a time, so that the venue journals them in batches.
    public func submitAll(_ trades: [CapturedTrade]) async -> [Submission] {
        var windows = Self.windows(trades)
        return await submitParts { windows.popFirst() }
    }

    /// Books trades that arrive a part at a time (a file while it is read), in order: each part is
    /// checked and sent while the part before is in the sequencer. `next` gives nil after the last part.
    public func submitParts(_ next: () async -> [CapturedTrade]?) async -> [Submission] {
        var submissions: [Submission] = []
        var trades: [CapturedTrade] = []
        let outcomes = await bookParts {
            let part = await next()
            trades += part ?? []
            return part
        }
        submissions.reserveCapacity(trades.count)
        for (trade, outcome) in zip(trades, outcomes) {
            switch outcome {
            case .success(let id): submissions.append(.captured(id))
            case .failure(let refusal) where CaptureQueue.retryable.contains(refusal.code):
                submissions.append(enqueue(trade, refusal))
            case .failure(let refusal): submissions.append(.refused(refusal))
            }
        }
        return submissions
    }

    private func enqueue(_ trade: CapturedTrade, _ refusal: Refusal) -> Submission {
        do {
            guard let entry = try queue.enqueue(trade, reason: refusal.description, now: clock()) else {
                return .refused(Refusal("queue_full", "the retry queue holds \(CaptureQueue.entriesMax) captures; \(refusal)"))
            }
            return .queued(entry)
        } catch {
            return .refused(Refusal("unavailable", "the retry queue could not record the trade: \(error)"))
        }
    }

    /// Captures in the sequencer at once from one `submitAll`.
    public static let windowMax = 4_096

    /// One round of retries: each entry due now is booked again and what came of it recorded.
    public func retryDue() async throws {
        for entry in try queue.due(now: clock()) {
            try queue.attempted(entry.id, await book(entry.trade), actor: "retry", now: clock())
        }
    }

    /// An operator's replay of a waiting or dead entry: attempted at once, its attempts counted afresh.
    public func replay(_ id: Int64, actor: String) async throws -> CaptureQueue.Entry {
        let entry = try queue.operate(id, replay: true, actor: actor, now: clock())
        try queue.attempted(id, await book(entry.trade), actor: actor, now: clock())
        return try queue.entry(id)!
    }

    /// Books the trade; the venue's id for it (the same as before for a reference captured before), or why not.
    public func book(_ trade: CapturedTrade) async -> Result<UInt64, Refusal> {
        await bookAll([trade])[0]
    }

    /// Books each trade: checked and enriched, then journaled, a window at a time.
    func bookAll(_ trades: [CapturedTrade]) async -> [Result<UInt64, Refusal>] {
        var windows = Self.windows(trades)
        return await bookParts { windows.popFirst() }
    }

    /// The trades in windows of at most `windowMax`, in order.
    private static func windows(_ trades: [CapturedTrade]) -> ArraySlice<[CapturedTrade]> {
        stride(from: 0, to: trades.count, by: windowMax).map { Array(trades[$0..<min($0 + windowMax, trades.count)]) }[...]
    }

    /// Books parts of at most `windowMax` trades in order. Two windows overlap: the next is checked,
    /// enriched and queued while the sequencer journals the one before, so that neither waits for the other.
    private func bookParts(_ next: () async -> [CapturedTrade]?) async -> [Result<UInt64, Refusal>] {
        var outcomes: [Result<UInt64, Refusal>?] = []
        // Account numbers never change owner, so each is asked of the engine once per submission.
        var accounts: [AccountNumber: AccountID?] = [:]
        var today: CivilDate?
        var days = Days(rules)
        var inFlight: (items: [Int], answers: Answers)?
        while let part = await next() {
            precondition(part.count <= Self.windowMax, "a part of \(part.count) trades")
            let first = outcomes.count
            outcomes += [Result<UInt64, Refusal>?](repeating: nil, count: part.count)
            let unknown = Set(part.map(\.account)).filter { accounts[$0] == nil }
            if !unknown.isEmpty || first == 0 {
                do throws(Venue.Failure) {
                    let found = try await venue.read { engine in
                        (unknown.map { n in (n, engine.account(number: n)) }, engine.businessDate)
                    }
                    for (n, id) in found.0 { accounts[n] = .some(id) }
                    today = found.1
                } catch {
                    for i in first..<outcomes.count { outcomes[i] = .failure(Refusal("unavailable", error.description)) }
                    continue
                }
            }
            var items: [Int] = []
            var reports: [TradeReport] = []
            var notes: [CaptureNote] = []
            for (offset, trade) in part.enumerated() {
                let i = first + offset
                switch enrich(trade, account: accounts[trade.account] ?? nil, days: &days) {
                case .failure(let refusal): outcomes[i] = .failure(refusal)
                case .success(let (report, note)):
                    // The engine forgets references after a while; the view remembers them.
                    if let today, report.terms.tradeDate < today.adding(days: 1 - MatchingEngine.captureReferenceDays),
                       let earlier = await capturedEarlier(report) {
                        outcomes[i] = earlier
                    } else {
                        items.append(i)
                        reports.append(report)
                        notes.append(note)
                    }
                }
            }
            let answers = send(reports, notes)
            if let before = inFlight { Self.record(await before.answers.all(), sizes: before.answers.sizes, for: before.items, in: &outcomes) }
            inFlight = (items, answers)
        }
        if let last = inFlight { Self.record(await last.answers.all(), sizes: last.answers.sizes, for: last.items, in: &outcomes) }
        return outcomes.map { $0! }
    }

    /// The outcomes of a part's batches, trade by trade: a batch's n-th event answers its n-th trade.
    private static func record(_ answers: [Result<Sequencer.Acknowledgement, Venue.Failure>], sizes: [Int], for items: [Int],
                               in outcomes: inout [Result<UInt64, Refusal>?]) {
        precondition(sizes.reduce(0, +) == items.count, "batches of \(sizes.reduce(0, +)) trades for \(items.count)")
        var start = 0
        for (answer, size) in zip(answers, sizes) {
            let batch = items[start..<start + size]
            start += size
            switch answer {
            case .failure(let failure):
                for i in batch { outcomes[i] = .failure(Refusal("unavailable", failure.description)) }
            case .success(let ack):
                precondition(ack.events.count == size, "a capture batch of \(size) trades answered with \(ack.events.count) events")
                for (i, event) in zip(batch, ack.events) { outcomes[i] = outcome(event) }
            }
        }
    }

    /// The answers to commands sent together, as they come; `all` waits for the last. `sizes` are the
    /// trades each command carries.
    final class Answers: Sendable {
        let sizes: [Int]
        private let state: Mutex<(results: [Result<Sequencer.Acknowledgement, Venue.Failure>?], left: Int, waiter: CheckedContinuation<Void, Never>?)>

        init(sizes: [Int]) {
            self.sizes = sizes
            state = Mutex((Array(repeating: nil, count: sizes.count), sizes.count, nil))
        }

        func answer(_ i: Int, _ result: Result<Sequencer.Acknowledgement, Venue.Failure>) {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.results[i] = result
                state.left -= 1
                guard state.left == 0 else { return nil }
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }

        func all() async -> [Result<Sequencer.Acknowledgement, Venue.Failure>] {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = state.withLock { state in
                    if state.left > 0 { state.waiter = continuation }
                    return state.left == 0
                }
                if done { continuation.resume() }
            }
            return state.withLock { $0.results.map { $0! } }
        }
    }

    /// Queues the trades in order, in batches of at most `CaptureBatch.reportsMax`, without waiting for the answers.
    private func send(_ reports: [TradeReport], _ notes: [CaptureNote]) -> Answers {
        let starts = Array(stride(from: 0, to: reports.count, by: CaptureBatch.reportsMax))
        let answers = Answers(sizes: starts.map { min(CaptureBatch.reportsMax, reports.count - $0) })
        for (i, start) in starts.enumerated() {
            let range = start..<start + answers.sizes[i]
            let batch = CaptureBatch(reports: Array(reports[range]), details: CaptureNote.details(Array(notes[range])))
            venue.submit(.captureTrades(batch), note: []) { answers.answer(i, $0) }
        }
        return answers
    }

    private static func outcome(_ event: Event) -> Result<UInt64, Refusal> {
        switch event {
        case .tradeCaptured(let id, _): .success(id)
        case .commandRejected(.tradeAlreadyCaptured(let id)): .success(id)
        case .commandRejected(let reason): .failure(Refusal(reason.code, reason.message))
        default: .failure(Refusal("unavailable", "the venue answered the capture with \(event)"))
        }
    }

    /// The venue's id of a trade with this reference captured too long ago for the engine to still know
    /// its reference (`MatchingEngine.captureReferenceDays`): the post-trade view knows every one.
    private func capturedEarlier(_ report: TradeReport) async -> Result<UInt64, Refusal>? {
        do {
            if let problem = await projections.wait("post_trade", for: try await venue.lastSequence()) { return .failure(Refusal("unavailable", problem)) }
            let rows = try await projections.store.query("SELECT id FROM pt_trades WHERE origin = 'capture' AND reference = ?", [.text(report.reference.description)])
            guard let id = rows.first?.text("id"), let n = UInt64(id.dropFirst(2)) else { return nil }
            return .success(n)
        } catch {
            return .failure(Refusal("unavailable", "\(error)"))
        }
    }

    /// What the calendars say of a day, asked once a day per batch: a file's trades share a few dates, and
    /// each answer computes the year's holidays.
    struct Days {
        let rules: VenueConfiguration.PostTradeRules
        private var known: [CivilDate: (business: Bool, settles: CivilDate)] = [:]
        private var settlement: [CivilDate: Bool] = [:]

        init(_ rules: VenueConfiguration.PostTradeRules) { self.rules = rules }

        mutating func trading(_ date: CivilDate) -> (business: Bool, settles: CivilDate) {
            if let answer = known[date] { return answer }
            let answer = (rules.businessDay.isBusinessDay(date), rules.settlement.settlementDate(tradeDate: date, cycle: rules.cycle))
            known[date] = answer
            return answer
        }

        mutating func isSettlementDay(_ date: CivilDate) -> Bool {
            if let answer = settlement[date] { return answer }
            let answer = rules.settlement.isSettlementDay(date)
            settlement[date] = answer
            return answer
        }
    }

    /// The trade as the engine takes it, with its note, or why it cannot be.
    func enrich(_ trade: CapturedTrade, account: AccountID?, days: inout Days) -> Result<(TradeReport, CaptureNote), Refusal> {
        guard let reference = ShortText(trade.tradeID), !reference.isEmpty else {
            return .failure(Refusal("trade_id_invalid", "trade id must be 1 to \(ShortText.bytesMax) printable ASCII characters without spaces"))
        }
        for (field, text) in [("counterparty", trade.counterparty ?? ""), ("venue", trade.venue ?? "")] where text.utf8.count > TradeFile.fieldBytesMax {
            return .failure(Refusal("\(field)_invalid", "\(field) is at most \(TradeFile.fieldBytesMax) bytes"))
        }
        let day = days.trading(trade.tradeDate)
        guard day.business else {
            return .failure(Refusal("trade_date_not_business_day", "trade date \(trade.tradeDate) is not a business day: the exchange does not trade"))
        }
        let settles = trade.settlementDate ?? day.settles
        guard CivilDate.supported.contains(settles) else {
            return .failure(Refusal("settlement_date_invalid", "settlement date \(settles) is past \(CivilDate.supported.upperBound)"))
        }
        if trade.settlementDate != nil, !days.isSettlementDay(settles) {
            return .failure(Refusal("settlement_date_not_settlement_day", "settlement date \(settles) is not a settlement day: the depository or the banks are closed"))
        }
        guard let account else { return .failure(Refusal("unknown_account", "no account has the number \(trade.account)")) }
        let terms = TradeTerms(account: account, symbol: trade.symbol, side: trade.side, quantity: trade.quantity, price: trade.price,
                               tradeDate: trade.tradeDate, settlementDate: settles)
        return .success((TradeReport(reference: reference, terms: terms),
                         CaptureNote(reference: trade.tradeID, counterparty: trade.counterparty ?? "", venue: trade.venue ?? "", source: trade.source)))
    }
}
