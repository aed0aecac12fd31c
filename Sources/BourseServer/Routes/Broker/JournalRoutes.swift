import BourseCore
import BourseNode
import BourseProjections
import BourseVenue
import Hummingbird

/// Journals between accounts of a firm (Alpaca's `/v1/journals`): cash (JNLC) or shares (JNLS), each one
/// command through the sequencer, so each is whole or not at all and conserves every asset. A batch is one
/// sender to many receivers, a reverse batch many senders to one receiver; each of its journals stands on
/// its own and says whether it was executed or why it was refused.
extension Routes {
    /// Journals one batch may hold.
    static let journalBatchMax = 500

    func addJournals(to table: RouteTable) {
        table.add(.post, "/v1/journals", "Move cash or shares between two accounts of the firm, at once",
                  body: Schema.journalRequest, answer: .ok("Journal")) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in
                let given: JournalRequest = try Self.decode(body)
                let journal = try await given.journal(entryType: given.entry_type, self, key)
                let (row, refused) = try await post(journal, description: given.description, key)
                if let refused { throw Failure.unprocessable(refused) }
                return Self.json(text: API.journal(row))
            }
        }
        for reverse in [false, true] {
            table.add(.post, reverse ? "/v1/journals/reverse_batch" : "/v1/journals/batch",
                      reverse ? "Journals from many accounts of the firm to one, each on its own" : "Journals from one account of the firm to many, each on its own",
                      body: .anyObject, answer: .list("Journal")) { request, _ in
                var request = request
                let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
                return try await handle(request) { key in
                    let batch: BatchRequest = try Self.decode(body)
                    guard (1...Self.journalBatchMax).contains(batch.entries.count) else {
                        throw Failure.unprocessable("a batch holds 1 to \(Self.journalBatchMax) entries, not \(batch.entries.count)")
                    }
                    let one = reverse ? batch.to_account : batch.from_account
                    guard let one else { throw Failure.unprocessable(reverse ? "to_account is required" : "from_account is required") }
                    // Every account is checked before anything moves: a batch naming another firm's account moves nothing.
                    var journals: [(Journal, String?)] = []
                    for entry in batch.entries {
                        let other = reverse ? entry.from_account : entry.to_account
                        guard let other else { throw Failure.unprocessable(reverse ? "each entry needs from_account" : "each entry needs to_account") }
                        let single = JournalRequest(from_account: reverse ? other : one, to_account: reverse ? one : other, entry_type: batch.entry_type,
                                                    amount: entry.amount, symbol: entry.symbol ?? batch.symbol, qty: entry.qty, description: entry.description)
                        journals.append((try await single.journal(entryType: batch.entry_type, self, key), entry.description))
                    }
                    var answers: [String] = []
                    for (journal, description) in journals {
                        answers.append(API.journal(try await post(journal, description: description, key).row))
                    }
                    return Self.json(text: "[" + answers.joined(separator: ",") + "]")
                }
            }
        }
        table.add(.get, "/v1/journals", "The firm's journals, newest first", query: [
            Parameter("after", .date, "Only journals from this day on"), Parameter("before", .date, "Only journals before this day"),
            Parameter("status", .choice(["executed", "rejected"]), "Only this status"), Parameter("entry_type", .choice(["JNLC", "JNLS"]), "Only cash or shares"),
            Parameter("from_account", .text, "Only from this account"), Parameter("to_account", .text, "Only to this account"),
            .limit(default: 500, max: 1_000),
        ], answer: .list("Journal")) { request, _ in
            try await handle(request) { key in try await listJournals(key, Query(request)) }
        }
        table.add(.get, "/v1/journals/:journal_id", "One journal", answer: .ok("Journal")) { request, context in
            try await handle(request) { key in Self.json(text: API.journal(try await journalRow(key, context.parameters.get("journal_id") ?? ""))) }
        }
        table.add(.delete, "/v1/journals/:journal_id", "Cancel a journal: refused, as a journal executes at once", answer: .noContent) { request, context in
            try await handle(request) { key in
                let row = try await journalRow(key, context.parameters.get("journal_id") ?? "")
                throw Failure.unprocessable("journal \(context.parameters.get("journal_id") ?? "") is \(row.text("status")!): a journal executes or is refused at once, so none is pending to cancel")
            }
        }
    }

    struct JournalRequest: Decodable {
        var from_account: String
        var to_account: String
        var entry_type: String
        var amount: String?
        var symbol: String?
        var qty: String?
        var description: String?
        var currency: String? = nil

        init(from_account: String, to_account: String, entry_type: String, amount: String?, symbol: String?, qty: String?, description: String?) {
            self.from_account = from_account
            self.to_account = to_account
            self.entry_type = entry_type
            self.amount = amount
            self.symbol = symbol
            self.qty = qty
            self.description = description
        }

        /// The journal it asks for, with both accounts the key's to act on.
        func journal(entryType: String, _ routes: Routes, _ key: StoredKey) async throws -> Journal {
            if let currency, currency != "USD" { throw Failure.unprocessable("currency \(currency) is not supported: Bourse journals USD") }
            if let description, description.utf8.count > BrokerNote.descriptionBytesMax {
                throw Failure.unprocessable("description is at most \(BrokerNote.descriptionBytesMax) bytes")
            }
            let from = try await routes.accountOnBehalf(key, from_account)
            let to = try await routes.accountOnBehalf(key, to_account)
            switch entryType {
            case "JNLC":
                if symbol != nil || qty != nil { throw Failure.unprocessable("a cash journal (JNLC) takes amount, not symbol or qty") }
                guard let text = amount, let money = Money(dollars: text), money.units > 0 else {
                    throw Failure.unprocessable("amount \"\(amount ?? "")\" must be a positive decimal with at most four decimals")
                }
                if let max = try routes.firmEntry(of: from)?.journalCashMax, money > max {
                    throw Failure.unprocessable("journal_limit: \(money.grouped) is above the firm's limit of \(max.grouped) a journal")
                }
                return Journal(from: from, to: to, asset: .cash(money))
            case "JNLS":
                if amount != nil { throw Failure.unprocessable("a securities journal (JNLS) takes symbol and qty, not amount") }
                guard let name = symbol, let symbol = try? Symbol(validating: name) else { throw Failure.unprocessable("symbol \"\(symbol ?? "")\" is not valid") }
                // Whole shares, written as a decimal or not (the SDK sends qty as a float).
                guard let text = qty, let whole = Money(dollars: text), whole.units > 0, whole.units % 10_000 == 0 else {
                    throw Failure.unprocessable("qty \"\(qty ?? "")\" must be a positive whole number of shares")
                }
                return Journal(from: from, to: to, asset: .shares(symbol, Quantity(whole.units / 10_000)))
            default:
                throw Failure.unprocessable("entry_type must be JNLC or JNLS, not \"\(entryType)\"")
            }
        }
    }

    struct BatchRequest: Decodable {
        struct Entry: Decodable {
            var to_account: String?
            var from_account: String?
            var amount: String?
            var symbol: String?
            var qty: String?
            var description: String?
        }
        var entry_type: String
        var from_account: String?
        var to_account: String?
        var symbol: String?
        var entries: [Entry]
    }

    /// Posts a journal and returns its row as the broker projection holds it, with the engine's reason when refused.
    private func post(_ journal: Journal, description: String?, _ key: StoredKey) async throws -> (row: SQLRow, refused: String?) {
        let ack = try await venue.execute(.journal(journal), note: BrokerNote(actor: key.keyID, description: description ?? "").note)
        var refused: String?
        if case .commandRejected(let reason)? = ack.events.first { refused = "\(reason.code): \(reason.message)" }
        try audit(key, action: "journal", target: PublicID.journal(ack.command.sequence),
                  detail: (refused.map { "refused: " + $0 } ?? "executed") + ", sequence \(ack.command.sequence)")
        if let problem = await projections.wait("broker", for: ack.command.sequence) { throw Failure.unavailable(problem) }
        guard let row = try await projections.store.query("SELECT * FROM broker_journals WHERE id = ?", [.int(Int64(ack.command.sequence))]).first else {
            throw Failure.unavailable("journal \(ack.command.sequence) is not in the broker projection")
        }
        return (row, refused)
    }

    private func listJournals(_ key: StoredKey, _ query: Query) async throws -> Response {
        try await requireBroker()
        var sql = "SELECT * FROM broker_journals WHERE 1 = 1"
        var values: [SQLValue] = []
        for (name, column) in [("status", "status"), ("entry_type", "entry_type")] {
            if let v = query[name] {
                sql += " AND \(column) = ?"
                values.append(.text(v))
            }
        }
        for (name, column) in [("from_account", "from_account"), ("to_account", "to_account")] {
            if let text = query[name] {
                sql += " AND \(column) = ?"
                values.append(.int(Int64(try await accountOnBehalf(key, text).rawValue)))
            }
        }
        if let after = query.date("after") {
            sql += " AND created_at >= ?"
            values.append(.int(Int64(after.daysSinceEpoch) * 86_400_000_000_000))
        }
        if let before = query.date("before") {
            sql += " AND created_at < ?"
            values.append(.int(Int64(before.daysSinceEpoch) * 86_400_000_000_000))
        }
        let firmAccounts = try await visibleAccounts(key)
        let limit = query.integer("limit") ?? 500
        var answers: [String] = []
        // Newest first, a page at a time, keeping the firm's own.
        var before = Int64.max
        while answers.count < limit {
            let rows = try await projections.store.query(sql + " AND id < ? ORDER BY id DESC LIMIT 1000", values + [.int(before)])
            for row in rows where answers.count < limit {
                let (from, to) = (UInt32(row.int("from_account")!), UInt32(row.int("to_account")!))
                if firmAccounts.map({ $0.contains(from) || $0.contains(to) }) ?? true { answers.append(API.journal(row)) }
            }
            guard rows.count == 1_000, let last = rows.last?.int("id") else { break }
            before = last
        }
        return Self.json(text: "[" + answers.joined(separator: ",") + "]")
    }

    private func journalRow(_ key: StoredKey, _ text: String) async throws -> SQLRow {
        try await requireBroker()
        guard let id = PublicID.value(.journal, text),
              let row = try await projections.store.query("SELECT * FROM broker_journals WHERE id = ?", [.int(Int64(bitPattern: id))]).first else {
            throw Failure.notFound("no journal \(text) in your firm")
        }
        let (from, to) = (UInt32(row.int("from_account")!), UInt32(row.int("to_account")!))
        if let mine = try await visibleAccounts(key), !mine.contains(from), !mine.contains(to) {
            throw Failure.notFound("no journal \(text) in your firm")
        }
        return row
    }

    /// The accounts a key sees in the Broker API: its firm's for a broker key, every one (nil) for an admin key.
    func visibleAccounts(_ key: StoredKey) async throws -> Set<UInt32>? {
        if key.role == .admin { return nil }
        return Set(try refusing { try node.broker.accounts(of: try brokerFirm(key)) }.map(\.account))
    }
}
