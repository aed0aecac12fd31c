import BourseCore
import BourseProjections

/// The trial balance of a business date, read from the `ledger` projection: every book's balance at the
/// close of the date (or now, for the open date) with the date's debits and credits, and per asset the
/// totals, which balance exactly when the books do.
public struct TrialBalance: Sendable {
    /// One book: `ledgerAccount` names the account (`customer` with its id, or one of the venue's);
    /// `symbol` is empty for cash. Amounts are units of 1/10,000 dollar for cash, shares otherwise.
    public struct Line: Sendable, Equatable {
        public var ledgerAccount: String
        public var account: AccountID?
        public var book: String
        public var symbol: String
        public var balance: Int64
        public var dayDebits: Int64
        public var dayCredits: Int64
    }

    public struct Total: Sendable, Equatable {
        public var symbol: String
        /// Balances at the close: the debit balances and the credit balances (as a positive figure).
        public var debits: Int128 = 0
        public var credits: Int128 = 0
        public var dayDebits: Int128 = 0
        public var dayCredits: Int128 = 0
        public var balanced: Bool { debits == credits && dayDebits == dayCredits }
    }

    public var date: CivilDate
    /// Per asset, cash first, then symbols in order.
    public var totals: [Total]
    /// The page of books asked for, in the order of their keys.
    public var lines: [Line]
    /// Where the next page starts, when there is one.
    public var next: String?

    public var balanced: Bool { totals.allSatisfy(\.balanced) }

    /// Books read from the store in pages of this many.
    static let pageRowsMax = 10_000

    /// Reads the trial balance of `date`: the totals over every book, and a page of `limit` lines after
    /// `after` (a `next` given before), of one customer's books only when `account` is given.
    public static func read(from store: any ProjectionStore, date: CivilDate, account: AccountID? = nil, after: String? = nil,
                            limit: Int = 500) async throws -> TrialBalance {
        let day = Int64(date.daysSinceEpoch)
        let start = try after.map(Self.key)
        var totals: [String: Total] = [:]
        var lines: [Line] = []
        var more = false
        // A page starts after the line its token names, found in the order the store returns (its collation,
        // not Swift's, orders the keys). Lines of a date never go away: one shown has a row of that date or before.
        var passed = start == nil
        var cursor: [SQLValue] = [.text(""), .int(-1), .text(""), .text("")]
        while true {
            let rows = try await store.query("""
                SELECT d.ledger_account, d.account, d.book, d.symbol, d.business_date, d.debits, d.credits, d.balance
                FROM (SELECT ledger_account, account, book, symbol, MAX(business_date) AS day FROM lg_days
                      WHERE business_date <= ? AND (ledger_account, account, book, symbol) > (?, ?, ?, ?)
                      GROUP BY ledger_account, account, book, symbol ORDER BY ledger_account, account, book, symbol LIMIT ?) last
                JOIN lg_days d ON d.ledger_account = last.ledger_account AND d.account = last.account AND d.book = last.book
                    AND d.symbol = last.symbol AND d.business_date = last.day
                ORDER BY d.ledger_account, d.account, d.book, d.symbol
                """, [.int(day)] + cursor + [.int(Int64(pageRowsMax))])
            for row in rows {
                let today = row.int("business_date") == day
                let line = Line(ledgerAccount: row.text("ledger_account")!, account: row.int("account").flatMap { $0 == 0 ? nil : AccountID(UInt32($0)) },
                                book: row.text("book")!, symbol: row.text("symbol")!, balance: row.int("balance")!,
                                dayDebits: today ? row.int("debits")! : 0, dayCredits: today ? row.int("credits")! : 0)
                var total = totals[line.symbol] ?? Total(symbol: line.symbol)
                if line.balance > 0 { total.debits += Int128(line.balance) } else { total.credits -= Int128(line.balance) }
                total.dayDebits += Int128(line.dayDebits)
                total.dayCredits += Int128(line.dayCredits)
                totals[line.symbol] = total
                guard line.balance != 0 || today, account == nil || line.account == account else { continue }
                guard passed else {
                    passed = Self.key(line) == start
                    continue
                }
                if lines.count < limit { lines.append(line) } else { more = true }
            }
            guard rows.count == pageRowsMax, let last = rows.last else { break }
            cursor = [last["ledger_account"], last["account"], last["book"], last["symbol"]]
        }
        guard passed else { throw BadToken(description: "page_token \"\(after ?? "")\" names no book of \(date)") }
        let next = more ? lines.last.map { Self.token(Self.key($0)) } : nil
        return TrialBalance(date: date, totals: totals.values.sorted { $0.symbol < $1.symbol }, lines: lines, next: next)
    }

    /// A book, as a page token names it.
    struct Key: Equatable {
        var ledgerAccount: String
        var account: Int64
        var book: String
        var symbol: String
    }

    static func key(_ line: Line) -> Key {
        Key(ledgerAccount: line.ledgerAccount, account: Int64(line.account?.rawValue ?? 0), book: line.book, symbol: line.symbol)
    }

    static func token(_ key: Key) -> String { "\(key.ledgerAccount):\(key.account):\(key.book):\(key.symbol)" }

    public struct BadToken: Error, CustomStringConvertible {
        public var description: String
    }

    static func key(_ token: String) throws -> Key {
        let parts = token.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, let account = Int64(parts[1]) else { throw BadToken(description: "page_token \"\(token)\" is not one this API gave") }
        return Key(ledgerAccount: String(parts[0]), account: account, book: String(parts[2]), symbol: String(parts[3]))
    }
}
