import BourseCore

/// House against street: the venue's trades captured for a date against the clearing house's contract file
/// for it (`TradeFile`'s columns; one trade a row), matched by trade id. Every difference is a break: a trade
/// only one side has, or one both have that differs in quantity, price, side or settlement date (one break a
/// field). Pure: the same two lists give the same breaks, in trade id order.
public enum Reconciliation {
    /// One trade as either side records it.
    public struct Record: Sendable, Equatable {
        public var tradeID: String
        public var account: String
        public var symbol: Symbol
        public var side: Side
        public var quantity: Quantity
        public var price: Price
        public var tradeDate: CivilDate
        /// Nil in a street row that does not give it: then it is not compared.
        public var settlementDate: CivilDate?

        public init(tradeID: String, account: String, symbol: Symbol, side: Side, quantity: Quantity, price: Price,
                    tradeDate: CivilDate, settlementDate: CivilDate?) {
            (self.tradeID, self.account, self.symbol, self.side, self.quantity, self.price) = (tradeID, account, symbol, side, quantity, price)
            (self.tradeDate, self.settlementDate) = (tradeDate, settlementDate)
        }
    }

    public enum Kind: String, Sendable, CaseIterable {
        case missingInHouse = "missing_in_house", missingInStreet = "missing_in_street"
        case quantity, price, side, settlementDate = "settlement_date"
    }

    public struct Break: Sendable, Equatable {
        public var kind: Kind
        public var tradeID: String
        /// What each side says; empty for the side that has no such trade.
        public var house: String
        public var street: String
    }

    public struct Result: Sendable, Equatable {
        public var matched: [String]
        public var breaks: [Break]
    }

    /// Compares the two sides; a trade id given twice on one side is compared once, its first record.
    public static func reconcile(house: [Record], street: [Record]) -> Result {
        var houseByID: [String: Record] = [:], streetByID: [String: Record] = [:]
        for r in house where houseByID[r.tradeID] == nil { houseByID[r.tradeID] = r }
        for r in street where streetByID[r.tradeID] == nil { streetByID[r.tradeID] = r }
        var matched: [String] = [], breaks: [Break] = []
        for id in Set(houseByID.keys).union(streetByID.keys).sorted() {
            switch (houseByID[id], streetByID[id]) {
            case (let h?, nil):
                breaks.append(Break(kind: .missingInStreet, tradeID: id, house: describe(h), street: ""))
            case (nil, let s?):
                breaks.append(Break(kind: .missingInHouse, tradeID: id, house: "", street: describe(s)))
            case (let h?, let s?):
                var differences: [Break] = []
                if h.quantity != s.quantity { differences.append(Break(kind: .quantity, tradeID: id, house: "\(h.quantity)", street: "\(s.quantity)")) }
                if h.price != s.price { differences.append(Break(kind: .price, tradeID: id, house: "\(h.price)", street: "\(s.price)")) }
                if h.side != s.side { differences.append(Break(kind: .side, tradeID: id, house: "\(h.side)", street: "\(s.side)")) }
                if let settles = s.settlementDate, settles != h.settlementDate {
                    differences.append(Break(kind: .settlementDate, tradeID: id, house: h.settlementDate.map { "\($0)" } ?? "", street: "\(settles)"))
                }
                if differences.isEmpty { matched.append(id) } else { breaks += differences }
            case (nil, nil):
                break
            }
        }
        return Result(matched: matched, breaks: breaks)
    }

    static func describe(_ r: Record) -> String {
        "\(r.side) \(r.quantity) \(r.symbol) at \(r.price) for account \(r.account), traded \(r.tradeDate)"
            + (r.settlementDate.map { ", settling \($0)" } ?? "")
    }
}
