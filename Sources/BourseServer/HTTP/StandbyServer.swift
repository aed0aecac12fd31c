import BourseVenue
import Hummingbird
import Logging

/// What a standby answers on the venue's port while it follows the leader's log: `/v1/leader` (where the
/// leader serves) and `/healthz` as the leader does, and to everything else 503 naming the leader, so that
/// a client sent here by a stale address learns where to go instead of waiting.
public struct StandbyServer: Sendable {
    public let host: String
    public let port: Int
    public let leadership: Leadership

    public init(host: String, port: Int, leadership: Leadership) {
        self.host = host
        self.port = port
        self.leadership = leadership
    }

    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.middlewares.add(Answers(leadership: leadership))
        var logger = Logger(label: "bourse-standby")
        logger.logLevel = .warning
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "bourse"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
    }

    struct Answers: RouterMiddleware {
        typealias Context = BasicRequestContext
        let leadership: Leadership

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            let state = leadership.current
            switch (request.method, request.uri.path) {
            case (.get, "/v1/leader"):
                return Routes.leader(state)
            case (.get, "/healthz"):
                return Routes.json(["status": "ok"])
            default:
                let leader = state.leader.map { "the leader serves at \($0)" + (state.term.map { " (term \($0))" } ?? "") }
                    ?? "no node leads yet"
                return Routes.error(Routes.Failure(status: .serviceUnavailable, code: 50310001,
                                                   message: "this node is a standby following the venue's log: \(leader); GET /v1/leader says where"))
            }
        }
    }
}
