import BourseCore
import BourseEngine
import BourseProjections
import Foundation

/// The venue's configuration file, `bourse.json` in the data directory unless named otherwise: where to
/// listen, rate limits, the session schedule, symbols with their rules and fees, and accounts with their
/// opening cash, positions and keys. A new data directory gets the demo configuration written out, so that
/// there is a file to edit. At each start what the file lists and the venue lacks is created (symbols
/// listed, accounts opened and funded, keys issued); a listed symbol's fees and borrow status follow the
/// file; an existing account is left as it is (its cash is state, not configuration).
public struct VenueConfiguration: Codable, Sendable, Equatable {
    public struct Listen: Codable, Sendable, Equatable {
        public var host: String?
        public var port: Int?
    }

    public struct RateLimit: Codable, Sendable, Equatable {
        public var per_second: Int?
        public var burst: Int?
    }

    public struct Sessions: Codable, Sendable, Equatable {
        /// Open and close every symbol by the exchange calendar; when false (the demo's default) symbols
        /// are opened once and stay open, and only an operator closes them.
        public var automatic: Bool
        /// Days the calendar's rules do not know: closed all day, or closing early at a New York time.
        public var overrides: [Override]?

        public struct Override: Codable, Sendable, Equatable {
            public var date: String
            public var closed: Bool?
            public var close: String?
        }
    }

    public struct SymbolEntry: Codable, Sendable, Equatable {
        public var symbol: String
        public var previous_close: String?
        /// `standard` ($0.01 at or above $1, $0.0001 below) or `half_penny`.
        public var tick: String?
        public var lot_size: Int64?
        public var min_qty: Int64?
        public var max_qty: Int64?
        /// Market orders never trade further than this from the reference price, in basis points.
        public var market_protection_bp: Int64?
        /// Per share, in dollars; negative is a rebate.
        public var maker_fee: String?
        public var taker_fee: String?
        public var easy_to_borrow: Bool?
        /// The primary listing market, as Alpaca names it (`Listing.exchanges`); none by default.
        public var exchange: String?
    }

    /// Each configured symbol's primary listing market; "" for one without (Alpaca's value for none).
    public var listingExchanges: [Symbol: String] {
        var out: [Symbol: String] = [:]
        for entry in symbols {
            if let symbol = try? Symbol(validating: entry.symbol) { out[symbol] = entry.exchange ?? "" }
        }
        return out
    }

    /// Alpaca's names of the primary listing markets an asset's `exchange` may give.
    public static let listingExchanges: Set<String> = ["AMEX", "ARCA", "BATS", "NYSE", "NASDAQ", "NYSEARCA", "OTC"]

    public struct AccountEntry: Codable, Sendable, Equatable {
        public struct Position: Codable, Sendable, Equatable {
            public var symbol: String
            public var qty: Int64
            public var cost: String
        }
        public var id: UInt32
        /// How people and files name the account; by default its id in decimal.
        public var account_number: String?
        public var kind: String
        public var deposit: String?
        public var positions: [Position]?
        /// Roles to issue keys for: trader, risk, admin.
        public var keys: [String]?

        public init(id: UInt32, account_number: String? = nil, kind: String, deposit: String?, positions: [Position]?, keys: [String]?) {
            self.id = id
            self.account_number = account_number
            self.kind = kind
            self.deposit = deposit
            self.positions = positions
            self.keys = keys
        }
    }

    public var listen: Listen?
    public var rate_limit: RateLimit?
    public var sessions: Sessions?
    public var symbols: [SymbolEntry]
    public var accounts: [AccountEntry]
    /// Other venues' ITCH feeds, over SoupBinTCP or MoldUDP64, followed into the NBBO with the venue's own book.
    public var feeds: [FeedEntry]?
    /// Where the projections are kept: `sqlite` (the default, `projections.sqlite` in the data directory) or
    /// `postgres://user@host:port/database`.
    public var store: String?
    /// Brokerages that run their customers' accounts here through the Broker API, each with its own key.
    public var firms: [FirmEntry]?
    /// The FIX gateway and its sessions; without it the venue does not listen for FIX.
    public var fix: FIXEntry?
    /// Business dates and settlement; automatic business dates and T+1 when absent.
    public var post_trade: PostTradeEntry?
    /// Marks and clients of the risk platform; marks by last trade every 250 ms, and no clients, when absent.
    public var risk: RiskEntry?

    public struct FirmEntry: Codable, Sendable, Equatable {
        public var id: UInt32
        public var name: String
        /// Accounts of this file that belong to the firm; accounts its broker key opens belong to it too.
        public var accounts: [UInt32]?
        /// The simulated bank: seconds for each step of a transfer (queued to sent, sent to complete). Absent
        /// or 0: transfers wait for an operator.
        public var bank_step_seconds: UInt32?
        /// The most cash one journal may move, in dollars; absent: what the sender may withdraw is the only bound.
        public var journal_cash_max: String?

        public init(id: UInt32, name: String, accounts: [UInt32]? = nil, bank_step_seconds: UInt32? = nil, journal_cash_max: String? = nil) {
            self.id = id
            self.name = name
            self.accounts = accounts
            self.bank_step_seconds = bank_step_seconds
            self.journal_cash_max = journal_cash_max
        }

        /// `journal_cash_max` as money.
        public var journalCashMax: Money? { journal_cash_max.flatMap { Money(dollars: $0) } }
    }

    public struct FeedEntry: Codable, Sendable, Equatable {
        /// How the NBBO names the venue (1 to 10 characters).
        public var name: String
        public var host: String
        /// SoupBinTCP: the venue's port; MoldUDP64: the local port its datagrams come to.
        public var port: Int
        public var username: String?
        public var password: String?
        /// "soupbintcp" (the default) or "moldudp64".
        public var transport: String?
        /// MoldUDP64: the session whose packets are taken (by default the name's first ten characters).
        public var session: String?

        public init(name: String, host: String, port: Int, username: String? = nil, password: String? = nil,
                    transport: String? = nil, session: String? = nil) {
            self.name = name
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.transport = transport
            self.session = session
        }
    }

    public static let fileName = "bourse.json"

    /// The demo venue: five symbols, two funded trader accounts (cash and margin) holding some of each,
    /// a market maker's account with an admin key too, and a brokerage whose customers the two traders are,
    /// with a bank that takes two seconds a step. Sessions are not automatic, so it trades at any hour.
    public static let demo = VenueConfiguration(
        listen: Listen(host: "127.0.0.1", port: 8080), rate_limit: RateLimit(per_second: 2_000, burst: 4_000),
        sessions: Sessions(automatic: false, overrides: []),
        symbols: [("AAPL", "190.00", "NASDAQ"), ("MSFT", "420.00", "NASDAQ"), ("SPY", "560.00", "ARCA"), ("TSLA", "250.00", "NASDAQ"),
                  ("BRK.B", "470.00", "NYSE")].map {
            SymbolEntry(symbol: $0.0, previous_close: $0.1, tick: "standard", lot_size: 1, min_qty: 1, max_qty: 1_000_000,
                        market_protection_bp: 500, maker_fee: "-0.0020", taker_fee: "0.0030", easy_to_borrow: true, exchange: $0.2)
        },
        accounts: [(1, "cash", "1000000.00", 1_000, ["trader"]), (2, "margin", "1000000.00", 1_000, ["trader"]),
                   (3, "margin", "50000000.00", 100_000, ["trader", "admin"])].map { id, kind, deposit, qty, keys in
            AccountEntry(id: id, kind: kind, deposit: deposit,
                         positions: [("AAPL", "190.00"), ("MSFT", "420.00"), ("SPY", "560.00"), ("TSLA", "250.00"), ("BRK.B", "470.00")]
                            .map { AccountEntry.Position(symbol: $0.0, qty: qty, cost: $0.1) },
                         keys: keys)
        },
        firms: [FirmEntry(id: 1, name: "Bourse Demo Brokerage", accounts: [1, 2], bank_step_seconds: 2, journal_cash_max: "50000.00")],
        fix: demoFIX)

    // MARK: Reading

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// A configuration names symbols, accounts and feeds: far below this.
    static let fileBytesMax = 4 << 20

    /// Reads a configuration file; a setting it does not know, a wrong type or a bad value is an error
    /// naming where it is, so that a typo is not silently ignored.
    public static func read(_ path: String) throws -> VenueConfiguration {
        let data: Data
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > fileBytesMax {
            throw Invalid(description: "\(path) has \(size) bytes; a configuration has at most \(fileBytesMax)")
        }
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Invalid(description: "cannot read \(path): \(error.localizedDescription)")
        }
        if let problem = StrictJSON.problem(Array(data)) { throw Invalid(description: "\(path): \(problem)") }
        guard let object = try? JSONSerialization.jsonObject(with: data) else { throw Invalid(description: "\(path) is not valid JSON") }
        if let unknown = unknownKey(object, schema: schema, path: "") {
            throw Invalid(description: "\(path): \(unknown) is not a known setting")
        }
        let configuration: VenueConfiguration
        do { configuration = try JSONDecoder().decode(VenueConfiguration.self, from: data) } catch let error as DecodingError {
            throw Invalid(description: "\(path): \(StrictJSON.describe(error))")
        }
        if let problem = configuration.problem { throw Invalid(description: "\(path): \(problem)") }
        return configuration
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // A feed's password may be in it: the owner's only, like the keys.
        try OwnerOnly.write(Array(try encoder.encode(self)), to: path)
    }

    /// The settings each level may hold; nested levels by name.
    indirect enum Schema: Sendable {
        case leaf
        case object([String: Schema])
        case array(Schema)
    }

    private static let schema: Schema = .object([
        "listen": .object(["host": .leaf, "port": .leaf]),
        "rate_limit": .object(["per_second": .leaf, "burst": .leaf]),
        "sessions": .object(["automatic": .leaf, "overrides": .array(.object(["date": .leaf, "closed": .leaf, "close": .leaf]))]),
        "symbols": .array(.object(Dictionary(uniqueKeysWithValues: ["symbol", "previous_close", "tick", "lot_size", "min_qty", "max_qty",
                                                                     "market_protection_bp", "maker_fee", "taker_fee", "easy_to_borrow", "exchange"].map { ($0, Schema.leaf) }))),
        "feeds": .array(.object(["name": .leaf, "host": .leaf, "port": .leaf, "username": .leaf, "password": .leaf,
                                 "transport": .leaf, "session": .leaf])),
        "store": .leaf,
        "accounts": .array(.object(["id": .leaf, "account_number": .leaf, "kind": .leaf, "deposit": .leaf, "keys": .leaf,
                                    "positions": .array(.object(["symbol": .leaf, "qty": .leaf, "cost": .leaf]))])),
        "firms": .array(.object(["id": .leaf, "name": .leaf, "accounts": .leaf, "bank_step_seconds": .leaf, "journal_cash_max": .leaf])),
        "fix": .object(fixSchema),
        "post_trade": .object(postTradeSchema),
        "risk": .object(riskSchema),
    ])

    private static func unknownKey(_ value: Any, schema: Schema, path: String) -> String? {
        switch schema {
        case .leaf:
            return nil
        case .object(let fields):
            guard let object = value as? [String: Any] else { return nil }
            for key in object.keys.sorted() {
                let here = path.isEmpty ? key : path + "." + key
                guard let field = fields[key] else { return here }
                if let unknown = unknownKey(object[key]!, schema: field, path: here) { return unknown }
            }
            return nil
        case .array(let element):
            guard let array = value as? [Any] else { return nil }
            for (i, item) in array.enumerated() {
                if let unknown = unknownKey(item, schema: element, path: "\(path)[\(i)]") { return unknown }
            }
            return nil
        }
    }

    // MARK: Meaning

    /// The first thing wrong with the values, as a sentence.
    var problem: String? {
        if case .failure(let invalid) = StoreLocation.parse(store, sqlitePath: "") { return invalid.description }
        do throws(Invalid) {
            _ = try calendar()
            var seen = Set<String>()
            for entry in symbols {
                _ = try entry.listing()
                guard seen.insert(entry.symbol).inserted else { return "symbol \(entry.symbol) is listed twice" }
            }
            var ids = Set<UInt32>()
            for account in accounts {
                _ = try account.commands(listed: seen)
                guard ids.insert(account.id).inserted else { return "account \(account.id) is listed twice" }
            }
            if let port = listen?.port, !(0...65_535).contains(port) { return "listen.port \(port) is not a port" }
            var names = Set<String>()
            for feed in feeds ?? [] {
                guard (1...10).contains(feed.name.count), feed.name != "BOURSE" else {
                    return "feeds: name \"\(feed.name)\" must be 1 to 10 characters, and not BOURSE (the venue itself)"
                }
                guard names.insert(feed.name).inserted else { return "feeds: \(feed.name) is listed twice" }
                guard (1...65_535).contains(feed.port) else { return "feeds: \(feed.name)'s port \(feed.port) is not a port" }
                guard ["soupbintcp", "moldudp64"].contains(feed.transport ?? "soupbintcp") else {
                    return "feeds: \(feed.name)'s transport must be soupbintcp or moldudp64, not \"\(feed.transport ?? "")\""
                }
            }
            if (feeds ?? []).count > 15 { return "feeds: at most 15 venues besides this one" }
            var firmIDs = Set<UInt32>(), owned = Set<UInt32>()
            for firm in firms ?? [] {
                guard firm.id >= 1, firmIDs.insert(firm.id).inserted else { return "firms: id \(firm.id) must be at least 1 and listed once" }
                guard (1...100).contains(firm.name.count) else { return "firms: firm \(firm.id)'s name must be 1 to 100 characters" }
                for account in firm.accounts ?? [] {
                    guard ids.contains(account) else { return "firms: firm \(firm.id) names account \(account), which the file does not list" }
                    guard owned.insert(account).inserted else { return "firms: account \(account) belongs to more than one firm" }
                }
                if let step = firm.bank_step_seconds, step > 86_400 { return "firms: firm \(firm.id)'s bank_step_seconds is at most 86400" }
                if let text = firm.journal_cash_max, (firm.journalCashMax?.units ?? 0) <= 0 {
                    return "firms: firm \(firm.id)'s journal_cash_max \"\(text)\" is not a positive amount in dollars"
                }
            }
            if let problem = fixProblem(accounts: ids) { return problem }
            _ = try postTradeRules()
            _ = try riskRules()
            if let rate = rate_limit?.per_second, rate < 1 { return "rate_limit.per_second must be at least 1" }
            if let burst = rate_limit?.burst, burst < 1 { return "rate_limit.burst must be at least 1" }
        } catch {
            return error.description
        }
        return nil
    }

    /// The exchange calendar with the file's overrides.
    func calendar() throws(Invalid) -> ExchangeCalendar {
        var overrides: [CivilDate: ExchangeCalendar.Override] = [:]
        for o in sessions?.overrides ?? [] {
            guard let date = CivilDate(o.date) else { throw Invalid(description: "sessions.overrides: \(o.date) is not \(CivilDate.supportedDescription)") }
            switch (o.closed, o.close) {
            case (true?, nil): overrides[date] = .closed
            case (nil, let close?), (false?, let close?):
                let parts = close.split(separator: ":")
                guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m),
                      h * 60 + m > 9 * 60 + 30, h * 60 + m <= 16 * 60 else {
                    throw Invalid(description: "sessions.overrides: close \(close) on \(o.date) must be a New York time as HH:MM after 09:30 and by 16:00")
                }
                overrides[date] = .closesAt(minute: h * 60 + m)
            default:
                throw Invalid(description: "sessions.overrides: \(o.date) needs \"closed\": true or a \"close\" time")
            }
        }
        return ExchangeCalendar(overrides: overrides)
    }
}

extension VenueConfiguration.SymbolEntry {
    /// The symbol, its rules and fees, as the engine takes them.
    func listing() throws(VenueConfiguration.Invalid) -> (Symbol, InstrumentRules, FeeSchedule) {
        func invalid(_ text: String) -> VenueConfiguration.Invalid { .init(description: "symbol \(symbol): \(text)") }
        guard let symbol = try? Symbol(validating: symbol) else { throw invalid("not a valid symbol (1 to 8 of A-Z, 0-9 and '.')") }
        if let exchange, !VenueConfiguration.listingExchanges.contains(exchange) {
            throw invalid("exchange must be one of \(VenueConfiguration.listingExchanges.sorted().joined(separator: ", ")), not \"\(exchange)\"")
        }
        var rules = InstrumentRules()
        switch tick ?? "standard" {
        case "standard": rules.tickTable = .standard
        case "half_penny": rules.tickTable = .halfPenny
        case let other: throw invalid("tick must be standard or half_penny, not \"\(other)\"")
        }
        if let lot = lot_size { rules.lotSize = Quantity(lot) }
        if let min = min_qty { rules.orderQtyMin = Quantity(min) }
        if let max = max_qty { rules.orderQtyMax = Quantity(max) }
        if let bp = market_protection_bp { rules.marketProtectionBasisPoints = bp }
        if let close = previous_close {
            guard let price = Price(dollars: close), price.units > 0 else { throw invalid("previous_close \"\(close)\" is not a price") }
            rules.previousClose = price
        }
        do { try rules.validate() } catch { throw invalid("\(error)") }
        var fees = FeeSchedule.zero
        for (name, text, target) in [("maker_fee", maker_fee, \FeeSchedule.makerPerShare), ("taker_fee", taker_fee, \FeeSchedule.takerPerShare)] {
            guard let text else { continue }
            // A rebate is a negative fee.
            let negative = text.hasPrefix("-")
            guard let money = Money(dollars: negative ? String(text.dropFirst()) : text) else {
                throw invalid("\(name) \"\(text)\" is not an amount in dollars")
            }
            fees[keyPath: target] = negative ? Money(units: -money.units) : money
        }
        guard fees.isValid else { throw invalid("fees must be at most $1 a share either way") }
        return (symbol, rules, fees)
    }
}

extension VenueConfiguration.AccountEntry {
    /// The commands that open, fund and stock the account, and the roles to issue keys for.
    public func commands(listed: Set<String>) throws(VenueConfiguration.Invalid) -> ([Command], [Role]) {
        func invalid(_ text: String) -> VenueConfiguration.Invalid { .init(description: "account \(id): \(text)") }
        guard let kind = AccountKind(name: kind) else { throw invalid("kind must be cash or margin, not \"\(kind)\"") }
        let account = AccountID(id)
        var number = AccountNumber(defaultFor: account)
        if let text = account_number {
            if let problem = AccountNumber.problem(text) { throw invalid(problem) }
            number = AccountNumber(text)!
        }
        var commands: [Command] = [.openAccount(account, number, AccountTerms(kind: kind))]
        if let deposit {
            guard let amount = Money(dollars: deposit), amount.units > 0 else { throw invalid("deposit \"\(deposit)\" is not a positive amount") }
            commands.append(.deposit(account, amount))
        }
        for p in positions ?? [] {
            guard listed.contains(p.symbol), let symbol = try? Symbol(validating: p.symbol) else {
                throw invalid("position in \(p.symbol), which the file does not list")
            }
            guard p.qty > 0 else { throw invalid("position in \(p.symbol) must be a positive quantity") }
            guard let cost = Price(dollars: p.cost), cost.units > 0 else { throw invalid("position in \(p.symbol): cost \"\(p.cost)\" is not a price") }
            commands.append(.transferIn(account, symbol, Quantity(p.qty), costPerShare: cost))
        }
        var roles: [Role] = []
        for name in keys ?? [] {
            guard let role = Role(rawValue: name) else { throw invalid("key role must be trader, risk or admin, not \"\(name)\"") }
            roles.append(role)
        }
        return (commands, roles)
    }
}

/// What a key may do. A trader sees and acts on its own account only; risk reads everything and may halt
/// and kill; admin may do all of that and manage accounts. A broker acts on the accounts of its firm only,
/// through the Broker API.
public enum Role: String, Codable, Sendable {
    case trader, risk, admin, broker
}
