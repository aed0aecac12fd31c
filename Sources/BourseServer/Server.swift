import BourseCore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// The venue's HTTP server: REST and (later) WebSocket on one port.
public struct Server: Sendable {
    public let opened: DataDirectory.Opened
    public let host: String
    public let port: Int
    /// Requests a second allowed for each API key, and how many may come at once.
    public let rateLimit: Int
    public let rateBurst: Int
    /// Requests are logged, each with its request id, at `debug`.
    public let logLevel: Logger.Level
    /// A market data connection gets at most one frame a window.
    public let streamWindow: Duration
    /// A conflated market data connection gets at most one message per symbol and channel an interval.
    public let conflationInterval: Duration

    public init(opened: DataDirectory.Opened, host: String = "127.0.0.1", port: Int = 8080,
                rateLimit: Int = 2_000, rateBurst: Int = 4_000, logLevel: Logger.Level = .info,
                streamWindow: Duration = .milliseconds(10), conflationInterval: Duration = .seconds(1)) {
        self.streamWindow = streamWindow
        self.conflationInterval = conflationInterval
        self.opened = opened
        self.host = host
        self.port = port
        self.rateLimit = rateLimit
        self.rateBurst = rateBurst
        self.logLevel = logLevel
    }

    /// How the API writes a time.
    public static func rfc3339(_ time: Timestamp) -> String { API.time(time) }

    /// Nanoseconds since the epoch of an RFC 3339 time, as the API reads one.
    public static func parseRFC3339(_ text: String) -> Int64? { API.parseTime(text) }

    /// The Hummingbird application; `onRunning` is told the port it listens on (useful with port 0).
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.middlewares.add(LogRequestsMiddleware(.debug))
        let routes = Routes(venue: opened.venue, keys: opened.keys, limiter: RateLimiter(perSecond: rateLimit, burst: rateBurst),
                            metrics: Metrics(), calendar: opened.calendar, history: opened.history, market: opened.market,
                            updates: opened.updates, readModels: opened.readModels, alerts: opened.alerts)
        routes.add(to: router)
        let webSocketRouter = Router(context: StreamRequestContext.self)
        TradeStream(keys: opened.keys, updates: opened.updates).add(to: webSocketRouter)
        MarketDataStream(keys: opened.keys, market: opened.market, batchWindow: streamWindow, conflationInterval: conflationInterval).add(to: webSocketRouter)
        var logger = Logger(label: "bourse")
        logger.logLevel = logLevel
        let orderLogger = logger
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: webSocketRouter, configuration: .init(
                http1: .init(additionalChannelHandlers: [OrderEntryHandler.Installer { OrderEntryHandler(routes: routes, logger: orderLogger) }]))),
            configuration: .init(address: .hostname(host, port: port), serverName: "bourse"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}
