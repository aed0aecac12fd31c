import BourseCore
import BourseVenue
import Foundation
import Hummingbird
import HummingbirdCore
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
    /// A WebSocket connection is pinged this often; one that has not answered a ping by the next is closed.
    public let webSocketPing: Duration

    /// Connections in all and per client address, and the time a connection has to send a request.
    public let connectionLimits: ConnectionLimits
    /// A bearer token that may read `/metrics`, for a scraper; without one only risk and admin keys may.
    public let metricsToken: String?

    public init(opened: DataDirectory.Opened, host: String = "127.0.0.1", port: Int = 8080,
                rateLimit: Int = 2_000, rateBurst: Int = 4_000, logLevel: Logger.Level = .info,
                streamWindow: Duration = .milliseconds(10), conflationInterval: Duration = .seconds(1),
                connectionLimits: ConnectionLimits = .init(), metricsToken: String? = nil, webSocketPing: Duration = .seconds(30)) {
        self.connectionLimits = connectionLimits
        self.webSocketPing = webSocketPing
        self.metricsToken = metricsToken
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
        let metrics = Metrics(registry: opened.node.metrics)
        let routes = Routes(node: opened.node, keys: opened.keys, limiter: RateLimiter(perSecond: rateLimit, burst: rateBurst),
                            metrics: metrics, market: opened.market, updates: opened.updates, metricsToken: metricsToken)
        routes.add(to: router)
        let webSocketRouter = Router(context: StreamRequestContext.self)
        TradeStream(keys: opened.keys, updates: opened.updates, risk: RiskUpdates(risk: opened.node.risk)).add(to: webSocketRouter)
        MarketDataStream(keys: opened.keys, market: opened.market, batchWindow: streamWindow, conflationInterval: conflationInterval).add(to: webSocketRouter)
        var logger = Logger(label: "bourse")
        logger.logLevel = logLevel
        let orderLogger = logger
        let entry = routes.entry
        let webSocketResponder = webSocketRouter.buildResponder()
        let table = ConnectionTable(limits: connectionLimits, metrics: metrics)
        let http1 = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(additionalChannelHandlers: [OrderEntryHandler.Installer { OrderEntryHandler(entry: entry, logger: orderLogger) }]),
            ws: .init(autoPing: .enabled(timePeriod: webSocketPing)))
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in
                GuardedChannel(inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder,
                                                                   configuration: http1),
                               table: table)
            },
            configuration: .init(address: .hostname(host, port: port), serverName: "bourse",
                                 availableConnectionsDelegate: MaximumAvailableConnections(connectionLimits.connectionsMax, logger: logger)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}
