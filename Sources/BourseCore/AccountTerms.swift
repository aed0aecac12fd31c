/// A cash account pays in full for what it buys and sells only what it holds; a margin account may
/// borrow against its equity and sell short.
public enum AccountKind: UInt8, Sendable, CaseIterable {
    case cash = 0
    case margin = 1

    /// The kind as configuration files and the API name it.
    public init?(name: String) {
        switch name {
        case "cash": self = .cash
        case "margin": self = .margin
        default: return nil
        }
    }

    public var name: String { self == .cash ? "cash" : "margin" }
}

public enum AccountState: UInt8, Sendable, CaseIterable {
    case active = 0
    /// Only orders that reduce a position are accepted.
    case reduceOnly = 1
    /// No new orders; cancels are accepted. The kill switch puts an account here.
    case blocked = 2
    /// Closed for good: nothing but queries.
    case closed = 3
}

/// Per-account limits on what one order, and the account as a whole, may do.
public struct AccountLimits: Hashable, Sendable {
    public var orderQtyMax: Quantity
    public var orderNotionalMax: Money
    public var openOrdersPerSymbolMax: Int64
    public var openOrdersMax: Int64
    /// Largest position in one symbol, long or short, counting open orders that would add to it.
    public var positionMax: Quantity
    /// A buy may not be priced more than this above the reference price, nor a sell this far below:
    /// 1,000 is 10%.
    public var collarBasisPoints: Int64

    public init(
        orderQtyMax: Quantity = Quantity(1_000_000),
        orderNotionalMax: Money = Money(dollars: 10_000_000),
        openOrdersPerSymbolMax: Int64 = 1_000,
        openOrdersMax: Int64 = 10_000,
        positionMax: Quantity = Quantity(10_000_000),
        collarBasisPoints: Int64 = 1_000
    ) {
        self.orderQtyMax = orderQtyMax
        self.orderNotionalMax = orderNotionalMax
        self.openOrdersPerSymbolMax = openOrdersPerSymbolMax
        self.openOrdersMax = openOrdersMax
        self.positionMax = positionMax
        self.collarBasisPoints = collarBasisPoints
    }

    public static let standard = AccountLimits()

    public func isValid() -> Bool {
        orderQtyMax.shares > 0 && orderQtyMax <= Quantity.max
            && orderNotionalMax.units > 0 && orderNotionalMax <= Money.orderNotionalLimit
            && (1...1_000_000).contains(openOrdersPerSymbolMax) && (1...1_000_000).contains(openOrdersMax)
            && positionMax.shares > 0 && positionMax <= Quantity.max
            && (1...5_000).contains(collarBasisPoints)
    }
}

/// Margin rates in basis points of market value (5,000 is 50%).
public struct MarginRates: Hashable, Sendable {
    /// Reg T initial margin on a new position, long or short.
    public var initialBasisPoints: Int64
    public var maintenanceLongBasisPoints: Int64
    public var maintenanceShortBasisPoints: Int64

    public init(initialBasisPoints: Int64 = 5_000, maintenanceLongBasisPoints: Int64 = 2_500,
                maintenanceShortBasisPoints: Int64 = 3_000) {
        self.initialBasisPoints = initialBasisPoints
        self.maintenanceLongBasisPoints = maintenanceLongBasisPoints
        self.maintenanceShortBasisPoints = maintenanceShortBasisPoints
    }

    public static let regT = MarginRates()

    public func isValid() -> Bool {
        let range: ClosedRange<Int64> = 1...10_000
        return range.contains(initialBasisPoints) && range.contains(maintenanceLongBasisPoints)
            && range.contains(maintenanceShortBasisPoints)
    }
}

/// What an account is opened with. The base currency is USD.
public struct AccountTerms: Hashable, Sendable {
    public var kind: AccountKind
    public var limits: AccountLimits
    /// Used by margin accounts only.
    public var margin: MarginRates

    public init(kind: AccountKind, limits: AccountLimits = .standard, margin: MarginRates = .regT) {
        self.kind = kind
        self.limits = limits
        self.margin = margin
    }
}
