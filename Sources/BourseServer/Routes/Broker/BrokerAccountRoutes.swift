import BourseCore
import BourseNode
import BourseProjections
import BourseVenue
import Foundation
import HTTPTypes
import Hummingbird

/// Alpaca's Broker API accounts, under `/v1/accounts`: a broker opens accounts for its customers, reads,
/// lists and updates them, closes them, and manages their API keys. A broker key sees its own firm's
/// accounts only; an admin key sees every account. Each change is one command through the sequencer where
/// the engine keeps it (opening, limits, closing), with a note naming the key that asked, and an entry in
/// the audit trail.
extension Routes {
    func addBrokerAccounts(to table: RouteTable) {
        table.add(.post, "/v1/accounts", "Open an account for a customer of the key's firm (broker)",
                  body: Schema.brokerAccountRequest, answer: .ok("BrokerAccount")) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in try await openAccount(key, body) }
        }
        table.add(.get, "/v1/accounts", "The firm's accounts (broker; admin: all)", query: [
            Parameter("query", .text, "Only accounts whose number, names or email contain these words"),
            Parameter("created_after", .time, "Only accounts opened after this time"),
            Parameter("created_before", .time, "Only accounts opened before this time"),
            Parameter("status", .list, "Only accounts in these statuses (ACTIVE, LIMITED, DISABLED, ACCOUNT_CLOSED)"),
            Parameter("sort", .choice(["asc", "desc"]), "By opening time: asc (the default) or desc"),
            Parameter("entities", .list, "The details to include: contact, identity, disclosures, agreements, trusted_contact"),
            .limit(default: 1_000, max: 10_000),
        ], answer: .list("BrokerAccount")) { request, _ in
            try await handle(request) { key in try await listAccounts(key, Query(request)) }
        }
        table.add(.get, "/v1/accounts/:account_id", "One account of the firm",
                  query: [Parameter("params", .choice([""]), "alpaca-py sends it empty; any value is refused")],
                  answer: .ok("BrokerAccount")) { request, context in
            try await handle(request) { key in
                let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                return Self.json(text: try await brokerAccount(id, entities: nil))
            }
        }
        table.add(.patch, "/v1/accounts/:account_id", "Change an account's details (each part given replaces those members) or limits",
                  body: Schema.brokerAccountUpdate, answer: .ok("BrokerAccount")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in try await updateAccount(key, context.parameters.get("account_id") ?? "", body) }
        }
        for (method, path) in [(HTTPRequest.Method.post, "/v1/accounts/:account_id/actions/close"), (.delete, "/v1/accounts/:account_id")] {
            table.add(method, path, "Close an account: only when it holds no cash, no position, no open order and no pending transfer",
                      answer: .noContent) { request, context in
                try await handle(request) { key in
                    let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                    try await runBroker(.closeAccount(id), key, action: "close_account", target: id.uuid)
                    return Response(status: .noContent)
                }
            }
        }
        table.add(.post, "/v1/accounts/:account_id/actions/unblock",
                  "Make a blocked (kill switch, operator) or reduce-only account active again (broker, admin); audited",
                  answer: .ok("BrokerAccount")) { request, context in
            try await handle(request) { key in
                let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                try await runBroker(.setAccountState(id, .active), key, action: "unblock", target: id.uuid)
                return Self.json(text: try await brokerAccount(id, entities: nil))
            }
        }
        table.add(.get, "/v1/accounts/positions", "Every open position of every account of the firm, by account id",
                  answer: .ok(.object([("as_of", .time), ("positions", .map(.array(.ref("Position"))))]))) { request, _ in
            try await handle(request) { key in
                var parts: [String] = []
                for profile in try refusing({ try node.broker.accounts(of: try brokerFirm(key)) }) {
                    let id = AccountID(profile.account)
                    let open = try await venue.positions(of: id).filter { $0.quantity.shares != 0 }
                        .map { API.Position($0, exchange: exchanges[$0.symbol] ?? "") }
                    let data = (try? JSONEncoder().encode(open)) ?? Data("[]".utf8)
                    parts.append(#""\#(id.uuid)":"# + String(decoding: data, as: UTF8.self))
                }
                return Self.json(text: #"{"as_of":"\#(API.time(Timestamp(nanos: wallClockNanos())))","positions":{"# + parts.joined(separator: ",") + "}}")
            }
        }
        table.add(.get, "/v1/accounts/activities", "One account of the firm's activities, as the Trading API lists them",
                  query: [Parameter("account_id", .text, "The account (required: activities are listed one account at a time)")]
                    + Self.activityFilters(typed: true), answer: .list("Activity")) { request, _ in
            try await handle(request) { key in
                let query = Query(request)
                guard let text = query["account_id"] else {
                    throw Failure.unprocessable("account_id is required: Bourse lists one account's activities at a time")
                }
                let id = try await accountOnBehalf(key, text)
                return try await activities(StoredKey(keyID: key.keyID, secretSHA256: "", account: id.rawValue, role: .trader, firm: key.firm),
                                            query, type: nil)
            }
        }
        table.add(.get, "/v1/audit", "Who did what: the firm's actions (broker; admin: all), newest first", query: [.limit(default: 100, max: 1_000)],
                  answer: .ok(.array(.object([("id", .integer), ("at", .time), ("actor", .string), ("action", .string), ("target", .string),
                                              ("detail", .string)])))) { request, _ in
            try await handle(request) { key in
                let firm: UInt32? = key.role == .admin ? nil : try brokerFirm(key)
                let entries = try refusing { try node.broker.auditTrail(firm: firm, limit: Query(request).integer("limit") ?? 100) }
                return Self.json(text: "[" + entries.map { e in
                    var text = #"{"id":\#(e.id),"at":"\#(API.time(Timestamp(nanos: e.time)))","actor":"#
                    API.appendQuoted(e.actor, to: &text)
                    text += #","action":"\#(e.action)","target":"#
                    API.appendQuoted(e.target, to: &text)
                    text += #","detail":"#
                    API.appendQuoted(e.detail, to: &text)
                    return text + "}"
                }.joined(separator: ",") + "]")
            }
        }
        addAccountKeys(to: table)
    }

    // MARK: - Opening

    /// Opening an account: Alpaca's fields (details stored as given) and Bourse's (`account_number`, `kind`, `limits`).
    struct OpenRequest: Decodable {
        var contact: JSONValue?
        var identity: JSONValue?
        var disclosures: JSONValue?
        var agreements: JSONValue?
        var trusted_contact: JSONValue?
        var documents: JSONValue?
        var account_type: String?
        var account_sub_type: String?
        var currency: String?
        var enabled_assets: [String]?
        var account_number: String?
        var kind: String?
        var limits: Limits?
    }

    /// Bourse's per-account limits, each optional: the standard value stands for what is not given.
    struct Limits: Decodable {
        var order_qty_max: Int64?
        var order_notional_max: String?
        var open_orders_max: Int64?
        var open_orders_per_symbol_max: Int64?
        var position_max: Int64?
        var collar_bp: Int64?

        func applied(to base: AccountLimits) throws -> AccountLimits {
            var limits = base
            if let v = order_qty_max { limits.orderQtyMax = Quantity(v) }
            if let text = order_notional_max {
                guard let m = Money(dollars: text) else { throw Failure.unprocessable("limits.order_notional_max \"\(text)\" is not an amount in dollars") }
                limits.orderNotionalMax = m
            }
            if let v = open_orders_max { limits.openOrdersMax = v }
            if let v = open_orders_per_symbol_max { limits.openOrdersPerSymbolMax = v }
            if let v = position_max { limits.positionMax = Quantity(v) }
            if let v = collar_bp { limits.collarBasisPoints = v }
            guard limits.isValid() else {
                throw Failure.unprocessable("limits out of range: quantities and counts from 1, notional up to \(Money.orderNotionalLimit.grouped), collar_bp 1 to 5000")
            }
            return limits
        }
    }

    private func openAccount(_ key: StoredKey, _ body: ByteBuffer?) async throws -> Response {
        let firm = try brokerFirm(key)
        let request: OpenRequest = try Self.decode(body)
        if let documents = request.documents, documents != .array([]) {
            throw Failure.unprocessable("documents are not supported: Bourse keeps no documents")
        }
        if let type = request.account_type, type != "trading" { throw Failure.unprocessable("account_type \(type) is not supported: Bourse opens trading accounts") }
        if let sub = request.account_sub_type { throw Failure.unprocessable("account_sub_type \(sub) is not supported") }
        if let currency = request.currency, currency != "USD" { throw Failure.unprocessable("currency \(currency) is not supported: Bourse trades in USD") }
        if let assets = request.enabled_assets, let other = assets.first(where: { $0 != "us_equity" }) {
            throw Failure.unprocessable("enabled_assets \(other) is not supported: Bourse trades us_equity")
        }
        var details: [(key: String, value: JSONValue)] = []
        for (name, value) in [("contact", request.contact), ("identity", request.identity), ("disclosures", request.disclosures),
                              ("agreements", request.agreements), ("trusted_contact", request.trusted_contact)] {
            guard let value else {
                if name == "contact" || name == "identity" { throw Failure.unprocessable("\(name) is required") }
                continue
            }
            if let problem = API.detailProblem(name, value, requireAll: true) { throw Failure.unprocessable(problem) }
            details.append((name, value))
        }
        guard let kind = AccountKind(name: request.kind ?? "cash") else {
            throw Failure.unprocessable("kind must be cash or margin, not \"\(request.kind ?? "")\"")
        }
        let limits = try request.limits?.applied(to: .standard) ?? .standard
        if let text = request.account_number, let problem = AccountNumber.problem(text) { throw Failure.unprocessable(problem) }
        let now = wallClockNanos()
        // A new id past every account's; two brokers opening at once may meet, and the later one takes the next.
        for _ in 0..<8 {
            let id = AccountID(try await venue.read { engine in (engine.accountIDs.map(\.rawValue).max() ?? 0) + 1 })
            let number = request.account_number.flatMap(AccountNumber.init) ?? AccountNumber(defaultFor: id)
            let profile = BrokerRecords.Profile(account: id.rawValue, firm: firm, accountType: "trading",
                                                details: JSONValue.object(details).text, createdAt: now, updatedAt: now)
            // The firm's record first: an account the engine opened is never without its firm.
            try refusing { try node.broker.create(profile) }
            let ack = try await venue.execute(.openAccount(id, number, AccountTerms(kind: kind, limits: limits)), note: BrokerNote(actor: key.keyID).note)
            if case .commandRejected(let reason)? = ack.events.first {
                try refusing { try node.broker.remove(account: id.rawValue) }
                if case .accountExists = reason { continue }
                throw Failure.unprocessable("\(reason.code): \(reason.message)")
            }
            try audit(key, action: "open_account", target: id.uuid, detail: "number \(number.text), \(request.kind ?? "cash"), sequence \(ack.command.sequence)")
            return Self.json(text: try await brokerAccount(id, entities: nil))
        }
        throw Failure.unavailable("accounts are being opened faster than ids can be chosen; try again")
    }

    // MARK: - Reading and changing

    private func listAccounts(_ key: StoredKey, _ query: Query) async throws -> Response {
        let profiles: [BrokerRecords.Profile]
        if key.role == .admin {
            let ids = try await venue.read { $0.accountIDs }
            profiles = try ids.map { id in
                try node.broker.profile(id.rawValue)
                    ?? BrokerRecords.Profile(account: id.rawValue, firm: 0, accountType: "trading", details: "{}", createdAt: 0, updatedAt: 0)
            }
        } else {
            profiles = try refusing { try node.broker.accounts(of: try brokerFirm(key)) }
        }
        let words = (query["query"] ?? "").lowercased().split(separator: " ").map(String.init)
        let statuses = query.list("status").map(Set.init)
        let entities = query.list("entities").map(Set.init)
        if let entities, let unknown = entities.first(where: { API.detailMembers[$0] == nil }) {
            throw Failure.unprocessable("entities: \(unknown) is not one of contact, identity, disclosures, agreements, trusted_contact")
        }
        var answers: [(Int64, String)] = []
        let limit = query.integer("limit") ?? 1_000
        for profile in query["sort"] == "desc" ? Array(profiles.reversed()) : profiles where answers.count < limit {
            if let after = query.time("created_after"), profile.createdAt <= after { continue }
            if let before = query.time("created_before"), profile.createdAt >= before { continue }
            guard let summary = try await venue.account(AccountID(profile.account)) else { continue }
            if let statuses, !statuses.contains(API.status(summary.state)) { continue }
            let haystack = (summary.number.text + " " + profile.details).lowercased()
            if !words.allSatisfy({ haystack.contains($0) }) { continue }
            answers.append((profile.createdAt, API.brokerAccount(profile, summary, blockedBy: try await blockedBy(summary), entities: entities)))
        }
        return Self.json(text: "[" + answers.map(\.1).joined(separator: ",") + "]")
    }

    struct UpdateRequest: Decodable {
        var contact: JSONValue?
        var identity: JSONValue?
        var disclosures: JSONValue?
        var trusted_contact: JSONValue?
        var limits: Limits?
    }

    private func updateAccount(_ key: StoredKey, _ text: String, _ body: ByteBuffer?) async throws -> Response {
        let id = try await accountOnBehalf(key, text)
        let change: UpdateRequest = try Self.decode(body)
        guard let profile = try refusing({ try node.broker.profile(id.rawValue) }) else {
            throw Failure.notFound("account \(text) has no details to change: it was opened by the venue's configuration")
        }
        guard case .object(var parts)? = try? JSONValue.parse(Array(profile.details.utf8)) else {
            throw Failure.unavailable("account \(text)'s stored details cannot be read")
        }
        var changed: [String] = []
        for (name, value) in [("contact", change.contact), ("identity", change.identity), ("disclosures", change.disclosures),
                              ("trusted_contact", change.trusted_contact)] {
            guard let value else { continue }
            if let problem = API.detailProblem(name, value, requireAll: false) { throw Failure.unprocessable(problem) }
            guard case .object(let given) = value else { continue }
            var merged: [(key: String, value: JSONValue)] = []
            if let i = parts.firstIndex(where: { $0.key == name }), case .object(let old) = parts[i].value { merged = old }
            for (member, v) in given {
                if let j = merged.firstIndex(where: { $0.key == member }) { merged[j].value = v } else { merged.append((member, v)) }
            }
            if let i = parts.firstIndex(where: { $0.key == name }) { parts[i].value = .object(merged) } else { parts.append((name, .object(merged))) }
            changed.append(name)
        }
        if let limits = change.limits {
            guard let summary = try await venue.account(id) else { throw Failure.notFound("no account \(text) in your firm") }
            try await runBroker(.setAccountLimits(id, try limits.applied(to: summary.limits)), key, action: "set_limits", target: id.uuid)
        }
        if !changed.isEmpty {
            try refusing { try node.broker.update(account: id.rawValue, details: JSONValue.object(parts).text, now: wallClockNanos()) }
            try audit(key, action: "update_account", target: id.uuid, detail: changed.joined(separator: ", "))
        }
        return Self.json(text: try await brokerAccount(id, entities: nil))
    }

    // MARK: - Helpers

    /// The firm a broker key acts for; other keys are refused.
    func brokerFirm(_ key: StoredKey) throws -> UInt32 {
        guard key.role == .broker, let firm = key.firm else {
            throw Failure(status: .forbidden, code: 40310000, message: "a \(key.role.rawValue) key may not use the Broker API: it needs a broker key")
        }
        return firm
    }

    /// The configured terms of the firm an account belongs to (its bank's step, its journal limit).
    func firmEntry(of account: AccountID) throws -> VenueConfiguration.FirmEntry? {
        let firm = try refusing { try node.broker.firm(of: account.rawValue) }
        return node.configuration.firms?.first { $0.id == firm }
    }

    /// An account in the Broker API's shape; an account the configuration opened has no details.
    func brokerAccount(_ id: AccountID, entities: Set<String>?) async throws -> String {
        guard let summary = try await venue.account(id) else { throw Failure.notFound("no account \(id.uuid) in your firm") }
        let profile = try refusing { try node.broker.profile(id.rawValue) }
            ?? BrokerRecords.Profile(account: id.rawValue, firm: 0, accountType: "trading", details: "{}", createdAt: 0, updatedAt: 0)
        return API.brokerAccount(profile, summary, blockedBy: try await blockedBy(summary), entities: entities)
    }

    /// Who blocked a blocked account (`kill_switch` or `operator`), as the broker projection recorded it.
    func blockedBy(_ summary: AccountSummary) async throws -> String? {
        guard summary.state == .blocked else { return nil }
        let rows = try await projections.store.query("SELECT status FROM broker_account_status WHERE account = ?",
                                                     [.int(Int64(summary.account.rawValue))])
        switch rows.first?.text("status") {
        case BrokerProjection.AccountStatus.blockedByKillSwitch.rawValue: return "kill_switch"
        case BrokerProjection.AccountStatus.blockedByOperator.rawValue: return "operator"
        default: return nil
        }
    }

    /// Runs a broker's command with a note naming its key and audits it; a rejection is a 422 naming the
    /// engine's reason. Returns the acknowledgement.
    @discardableResult
    func runBroker(_ command: Command, _ key: StoredKey, note: BrokerNote? = nil, action: String, target: String) async throws -> Sequencer.Acknowledgement {
        let ack = try await venue.execute(command, note: (note ?? BrokerNote(actor: key.keyID)).note)
        if case .commandRejected(let reason)? = ack.events.first {
            try audit(key, action: action, target: target, detail: "refused: \(reason.code), sequence \(ack.command.sequence)")
            throw Failure.unprocessable("\(reason.code): \(reason.message)")
        }
        try audit(key, action: action, target: target, detail: "sequence \(ack.command.sequence)")
        return ack
    }

    func audit(_ key: StoredKey, action: String, target: String, detail: String) throws {
        try refusing { try node.broker.audit(actor: key.keyID, firm: key.firm, action: action, target: target, detail: detail, now: wallClockNanos()) }
    }
}
