import BourseCore
import BourseNode
import BoursePostTrade
import BourseProjections
import BourseVenue
import Hummingbird

/// The ledgers (`/v1/ledger`): the trial balance of a business date over every book, and the entries an
/// account's books took. Risk and admin keys read every account; a broker key its firm's, a trader key its own.
extension Routes {
    func addLedger(to table: RouteTable) {
        table.add(.get, "/v1/ledger/trial-balance", "Every book's balance at the close of a business date, with the day's debits and credits, and the totals per asset (risk, admin)", query: [
            Parameter("date", .date, "The business date (the open one when not given)"),
            Parameter("account", .text, "Only this customer's books in the page (the totals stay the venue's)"),
            Parameter("page_token", .text, "Where the page before ended"), .limit(default: 500, max: 5_000),
        ], answer: .ok("TrialBalance")) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read the trial balance")
                let query = Query(request)
                let date = try await businessDate(query.date("date"))
                var account: AccountID?
                if let text = query["account"] { account = try await readableAccount(text, key) }
                try await waitForLedger()
                let balance: TrialBalance
                do {
                    balance = try await TrialBalance.read(from: projections.store, date: date, account: account, after: query["page_token"],
                                                          limit: query.integer("limit") ?? 500)
                } catch let bad as TrialBalance.BadToken {
                    throw Failure.unprocessable(bad.description)
                }
                return Self.json(text: Self.trialBalance(balance))
            }
        }
        table.add(.get, "/v1/ledger/entries", "The entries an account's books took, oldest first, with their transactions", query: [
            Parameter("account", .text, "The customer account (its number or id); a trader key reads its own when not given"),
            Parameter("business_date", .date, "Only entries of this business date"),
            Parameter("page_token", .text, "Where the page before ended"), .limit(default: 100, max: 1_000),
        ], answer: .ok("LedgerEntryPage")) { request, _ in
            try await handle(request) { key in
                let query = Query(request)
                let account: AccountID
                if let text = query["account"] {
                    account = try await readableAccount(text, key)
                } else {
                    guard key.role == .trader else { throw Failure.unprocessable("account is required: a \(key.role.rawValue) key reads the books of the account it names") }
                    account = AccountID(key.account)
                }
                try await waitForLedger()
                var sql = """
                    SELECT e.*, t.kind, t.reference, t.time FROM lg_entries e JOIN lg_transactions t ON t.id = e.transaction_id
                    WHERE e.ledger_account = 'customer' AND e.account = ?
                    """
                var values: [SQLValue] = [.int(Int64(account.rawValue))]
                if let date = query.date("business_date") {
                    sql += " AND e.business_date = ?"
                    values.append(.int(Int64(date.daysSinceEpoch)))
                }
                if let token = query["page_token"] {
                    let parts = token.split(separator: ":")
                    guard parts.count == 2, let id = Int64(parts[0]), let n = Int64(parts[1]) else {
                        throw Failure.unprocessable("page_token \"\(token)\" is not one this API gave")
                    }
                    sql += " AND (e.transaction_id > ? OR (e.transaction_id = ? AND e.n > ?))"
                    values += [.int(id), .int(id), .int(n)]
                }
                let limit = query.integer("limit") ?? 100
                let rows = try await projections.store.query(sql + " ORDER BY e.transaction_id, e.n LIMIT ?", values + [.int(Int64(limit + 1))])
                let page = rows.prefix(limit)
                var text = #"{"entries":["# + page.map(Self.ledgerEntry).joined(separator: ",") + #"],"next_page_token":"#
                if rows.count > limit, let last = page.last {
                    API.appendQuoted("\(last.int("transaction_id")!):\(last.int("n")!)", to: &text)
                } else {
                    text += "null"
                }
                return Self.json(text: text + "}")
            }
        }
    }

    /// The date asked for, or the open business date.
    private func businessDate(_ given: CivilDate?) async throws -> CivilDate {
        if let given { return given }
        guard let open = try await venue.read({ $0.businessDate }) else {
            throw Failure.unprocessable("the venue has no business date yet: name the date")
        }
        return open
    }

    /// A customer account the key may read, by its number or id.
    func readableAccount(_ text: String, _ key: StoredKey) async throws -> AccountID {
        var id = AccountID(uuid: text)
        if id == nil, let number = AccountNumber(text) { id = try await venue.account(number: number) }
        let readable = switch key.role {
        case .admin, .risk: true
        case .broker: try id.map { try key.firm != nil && node.broker.firm(of: $0.rawValue) == key.firm } ?? false
        default: id?.rawValue == key.account
        }
        guard let id, readable else { throw Failure.notFound("no account \(text) you may read") }
        return id
    }

    private func waitForLedger() async throws {
        if let problem = await projections.wait("ledger", for: try await venue.lastSequence()) { throw Failure.unavailable(problem) }
    }

    /// An amount of an asset as the API shows it: dollars for cash, whole shares otherwise.
    static func ledgerAmount(_ units: Int128, symbol: String) -> String {
        API.quoted(symbol.isEmpty ? formatFixedPoint(units, decimals: 4) : String(units))
    }

    static func trialBalance(_ b: TrialBalance) -> String {
        func asset(_ symbol: String) -> String { API.quoted(symbol.isEmpty ? "USD" : symbol) }
        var text = #"{"business_date":"# + API.quoted("\(b.date)") + #","balanced":"# + (b.balanced ? "true" : "false") + #","totals":["#
        text += b.totals.map { t in
            #"{"asset":"# + asset(t.symbol) + #","debits":"# + ledgerAmount(t.debits, symbol: t.symbol)
                + #","credits":"# + ledgerAmount(t.credits, symbol: t.symbol) + #","day_debits":"# + ledgerAmount(t.dayDebits, symbol: t.symbol)
                + #","day_credits":"# + ledgerAmount(t.dayCredits, symbol: t.symbol) + #","balanced":"# + (t.balanced ? "true" : "false") + "}"
        }.joined(separator: ",")
        text += #"],"books":["#
        text += b.lines.map { l in
            #"{"ledger_account":"# + API.quoted(l.ledgerAccount) + #","account_id":"# + (l.account.map { API.quoted($0.uuid) } ?? "null")
                + #","book":"# + API.quoted(l.book) + #","asset":"# + asset(l.symbol)
                + #","debit":"# + ledgerAmount(Int128(max(l.balance, 0)), symbol: l.symbol)
                + #","credit":"# + ledgerAmount(Int128(max(-l.balance, 0)), symbol: l.symbol)
                + #","day_debits":"# + ledgerAmount(Int128(l.dayDebits), symbol: l.symbol)
                + #","day_credits":"# + ledgerAmount(Int128(l.dayCredits), symbol: l.symbol) + "}"
        }.joined(separator: ",")
        text += #"],"next_page_token":"# + (b.next.map(API.quoted) ?? "null")
        return text + "}"
    }

    static func ledgerEntry(_ row: SQLRow) -> String {
        let symbol = row.text("symbol")!
        return #"{"transaction":"# + String(row.int("transaction_id")!) + #","kind":"# + API.quoted(row.text("kind")!)
            + #","reference":"# + API.quoted(row.text("reference")!)
            + #","business_date":"# + API.quoted("\(CivilDate(daysSinceEpoch: Int(row.int("business_date")!)))")
            + #","account_id":"# + API.quoted(AccountID(UInt32(row.int("account")!)).uuid)
            + #","book":"# + API.quoted(row.text("book")!) + #","asset":"# + API.quoted(symbol.isEmpty ? "USD" : symbol)
            + #","amount":"# + ledgerAmount(Int128(row.int("amount")!), symbol: symbol)
            + #","at":"# + API.quoted(API.time(Timestamp(nanos: row.int("time")!))) + "}"
    }
}
