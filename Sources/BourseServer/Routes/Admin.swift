import BourseCore
import BourseVenue
import Foundation
import Hummingbird

/// Bourse's own operator endpoints, under `/v1/admin`: trading states, the kill switch (risk and admin
/// keys), and opening and funding accounts (admin keys). Each is one command through the sequencer, so
/// each is journaled like any order.
struct Admin: Sendable {
    let venue: Venue

    typealias Handle = @Sendable (Request, (StoredKey) async throws -> Response) async throws -> Response

    func add(to table: RouteTable, handle: @escaping Handle) {
        table.add(.post, "/v1/admin/symbols/:symbol/state", "Halt, resume, open or close a symbol (risk, admin)",
                  body: .object([("state", .choice(["pre_open", "open", "halted", "closed"]))]), answer: .ok("Applied")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Routes.bodyBytesMax)
            return try await handle(request) { key in
                try Self.require(key, [.risk, .admin], to: "change a symbol's trading state")
                let change: StateChange = try Routes.decode(body)
                guard let symbol = try? Symbol(validating: context.parameters.get("symbol") ?? "") else {
                    throw Routes.Failure.notFound("symbol \(context.parameters.get("symbol") ?? "") is not valid")
                }
                guard let state = StateChange.states[change.state] else {
                    throw Routes.Failure.unprocessable("state must be pre_open, open, halted or closed, not \"\(change.state)\"")
                }
                return try await run(.setTradingState(symbol, state))
            }
        }
        table.add(.post, "/v1/admin/accounts/:id/kill", "Cancel every order of an account and block it (risk, admin)", answer: .ok("Applied")) { request, context in
            try await handle(request) { key in
                try Self.require(key, [.risk, .admin], to: "use the kill switch")
                return try await run(.killSwitch(try await account(context)))
            }
        }
        table.add(.post, "/v1/admin/accounts", "Open an account (admin)",
                  body: .object([("id", .integer), ("kind", .choice(["cash", "margin"])), ("account_number", .string)], optional: ["account_number"]),
                  answer: .ok("Applied")) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Routes.bodyBytesMax)
            return try await handle(request) { key in
                try Self.require(key, [.admin], to: "open accounts")
                let open: OpenAccount = try Routes.decode(body)
                guard let kind = AccountKind(name: open.kind) else {
                    throw Routes.Failure.unprocessable("kind must be cash or margin, not \"\(open.kind)\"")
                }
                let id = AccountID(open.id)
                var number = AccountNumber(defaultFor: id)
                if let text = open.account_number {
                    guard let given = AccountNumber(text) else { throw Routes.Failure.unprocessable(AccountNumber.problem(text) ?? "") }
                    number = given
                }
                return try await run(.openAccount(id, number, AccountTerms(kind: kind)))
            }
        }
        table.add(.post, "/v1/admin/accounts/:id/deposits", "Deposit cash (admin)", body: .object([("amount", .string)]), answer: .ok("Applied")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Routes.bodyBytesMax)
            return try await handle(request) { key in
                try Self.require(key, [.admin], to: "fund accounts")
                let deposit: Deposit = try Routes.decode(body)
                guard let amount = Money(dollars: deposit.amount) else {
                    throw Routes.Failure.unprocessable("amount \"\(deposit.amount)\" must be a decimal string with at most four decimals")
                }
                return try await run(.deposit(try await account(context), amount))
            }
        }
    }

    struct StateChange: Decodable {
        var state: String
        static let states: [String: TradingState] = ["pre_open": .preOpen, "open": .open, "halted": .halted, "closed": .closed]
    }

    struct OpenAccount: Decodable {
        var id: UInt32
        var kind: String
        /// By default the id in decimal.
        var account_number: String?
    }

    struct Deposit: Decodable {
        var amount: String
    }

    static func require(_ key: StoredKey, _ roles: [Role], to action: String) throws {
        guard roles.contains(key.role) else {
            throw Routes.Failure(status: .forbidden, code: 40310000, message: "a \(key.role.rawValue) key may not \(action)")
        }
    }

    /// The account a path names, by its UUID or its account number.
    private func account(_ context: BasicRequestContext) async throws -> AccountID {
        let text = context.parameters.get("id") ?? ""
        if let id = AccountID(uuid: text) { return id }
        guard let number = AccountNumber(text), let id = try await venue.account(number: number) else {
            throw Routes.Failure.notFound("no account has the id or number \(text)")
        }
        return id
    }

    /// Runs an admin command; a rejection is a 422 naming the reason, success lists what happened.
    private func run(_ command: Command) async throws -> Response {
        let ack = try await venue.execute(command)
        if case .commandRejected(let reason)? = ack.events.first {
            throw Routes.Failure.unprocessable("\(reason.code): \(reason.message)")
        }
        return Routes.json(["sequence": String(ack.command.sequence), "events": String(ack.events.count)])
    }
}
