/// An order's id, assigned by the gateway that accepted it and carried in the command.
public struct OrderID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public static func < (a: OrderID, b: OrderID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

public struct AccountID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public static func < (a: AccountID, b: AccountID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// A trade's id, assigned by the engine from a counter that is part of its state.
public struct ExecutionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public static func < (a: ExecutionID, b: ExecutionID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}
