import BourseCore
import BourseMarketData
import BourseProjections

/// The market data projection's tables: minute bars, and each symbol's latest trade.
extension MarketProjection {
    static let tables = ProjectionSchema(version: 1, tables: [
        .init("bars", key: "symbol, start"),
        .init("latest_trades", key: "symbol"),
    ], statements: [
        """
        CREATE TABLE bars (
            symbol TEXT NOT NULL, start {int} NOT NULL, open {int} NOT NULL, high {int} NOT NULL, low {int} NOT NULL,
            close {int} NOT NULL, volume {int} NOT NULL, trades {int} NOT NULL, notional TEXT NOT NULL, PRIMARY KEY (symbol, start))
        """,
        """
        CREATE TABLE latest_trades (
            symbol TEXT PRIMARY KEY, execution_id {int} NOT NULL, price {int} NOT NULL, qty {int} NOT NULL, time {int} NOT NULL)
        """,
    ])

    static let upsertBar = """
        INSERT INTO bars (symbol, start, open, high, low, close, volume, trades, notional) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (symbol, start) DO UPDATE SET open = excluded.open, high = excluded.high, low = excluded.low,
            close = excluded.close, volume = excluded.volume, trades = excluded.trades, notional = excluded.notional
        """

    static let upsertTrade = """
        INSERT INTO latest_trades (symbol, execution_id, price, qty, time) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (symbol) DO UPDATE SET execution_id = excluded.execution_id, price = excluded.price, qty = excluded.qty,
            time = excluded.time
        """

    struct BarKey: Hashable {
        var symbol: Symbol
        var start: Int64
    }

    static func bar(_ row: SQLRow) -> Bar {
        var bar = Bar(start: row.int("start")!, price: row.int("open")!, quantity: row.int("volume")!)
        bar.high = row.int("high")!
        bar.low = row.int("low")!
        bar.close = row.int("close")!
        bar.trades = Int(row.int("trades")!)
        bar.notional = row.text("notional").flatMap { Int128($0) } ?? 0
        return bar
    }
}
