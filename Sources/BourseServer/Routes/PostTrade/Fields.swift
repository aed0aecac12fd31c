import BourseCore
import BourseVenue

/// The fields of post-trade's requests, read as a capture reads them, each refused by name.
extension Routes {
    static func validSymbol(_ text: String) throws -> Symbol {
        guard let symbol = try? Symbol(validating: text) else { throw Failure.unprocessable("symbol \"\(text)\" is not valid") }
        return symbol
    }

    static func side(_ text: String) throws -> Side {
        guard let side = ["buy": Side.buy, "sell": .sell][text] else { throw Failure.unprocessable("side must be buy or sell, not \"\(text)\"") }
        return side
    }

    /// Whole shares, written as a decimal or not.
    static func wholeShares(_ text: String) throws -> Quantity {
        guard let whole = Money(dollars: text), whole.units > 0, whole.units % 10_000 == 0 else {
            throw Failure.unprocessable("qty \"\(text)\" must be a positive whole number of shares")
        }
        return Quantity(whole.units / 10_000)
    }

    static func price(_ text: String) throws -> Price {
        guard let price = Price(dollars: text), price.units > 0 else { throw Failure.unprocessable("price \"\(text)\" must be a positive decimal with at most four decimals") }
        return price
    }

    static func date(_ text: String, _ name: String) throws -> CivilDate {
        guard let date = CivilDate(text) else { throw Failure.unprocessable("\(name) must be \(CivilDate.supportedDescription)") }
        return date
    }

    static func accountNumber(_ text: String) throws -> AccountNumber {
        guard let number = AccountNumber(text) else { throw Failure.unprocessable(AccountNumber.problem(text) ?? "account is not valid") }
        return number
    }

    /// Runs an async change to a service database, turning its refusals into answers, as `refusing` does.
    func refusingAsync<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let refusal as RecordRefusal {
            switch refusal {
            case .invalid(let message): throw Failure.unprocessable(message)
            case .notFound(let message): throw Failure.notFound(message)
            }
        }
    }
}
