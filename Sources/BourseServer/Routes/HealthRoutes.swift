import BourseVenue
import CoreMetrics
import Foundation
import Hummingbird

/// Liveness, readiness and metrics: what an orchestrator and a scraper ask.
extension Routes {
    /// A health check's answer: 200 with its status, 503 with the status and why.
    static func health(_ why: String) -> Answer {
        Answer(status: 200, schema: .object([("status", .string)]),
               others: [(503, .object([("status", .string), (why, .string)]))])
    }

    func addHealth(to table: RouteTable) {
        table.add(.get, "/healthz", "Whether the node is alive: 503 with the reason once its sequencer has stopped", authenticated: false,
                  answer: Self.health("reason")) { _, _ in
            if let reason = venue.sequencer.unavailableReason {
                return Self.json(["status": "failed", "reason": "sequencer: \(reason)"], status: .serviceUnavailable)
            }
            return Self.json(["status": "ok"])
        }
        table.add(.get, "/readyz", "Whether the venue takes orders and its projections follow the events; 503 with the reasons if not",
                  authenticated: false, answer: Self.health("reasons")) { _, _ in readiness() }
        table.add(.get, "/v1/leader", "Which node leads the venue and where it serves: this one alone, or the primary of a pair (a standby answers this too)",
                  authenticated: false, answer: .ok(Self.leaderSchema)) { _, _ in
            Self.leader(node.leadership.current)
        }
        table.add(.get, "/metrics", "Prometheus metrics: with the server's metrics token as a bearer token, or a risk or admin key",
                  authenticated: false) { request, _ in
            guard mayReadMetrics(request.headers) else {
                return Self.error(Failure(status: .unauthorized, code: 40110000,
                                          message: "metrics need the metrics token (Authorization: Bearer …) or a risk or admin key"))
            }
            return try await renderMetrics()
        }
    }

    /// Which node leads, its URL written as it is (no escaped slashes), for people and scripts alike.
    static func leader(_ state: Leadership.State) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(state)) ?? Data("{}".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static let leaderSchema = Schema.object([
        ("role", .choice(["single", "primary", "standby"])), ("term", .integer), ("leader", .string), ("node", .string), ("sequence", .integer),
    ], optional: ["term", "leader", "node", "sequence"])

    /// Ready when the sequencer takes commands and every projection (order history, trading stream,
    /// market data) still follows the event stream; otherwise 503 with each reason.
    private func readiness() -> Response {
        var problems: [String] = []
        if let reason = venue.sequencer.unavailableReason { problems.append("sequencer: \(reason)") }
        problems += projections.problems
        guard problems.isEmpty else {
            return Self.json(["status": "unavailable", "reasons": problems.joined(separator: "; ")], status: .serviceUnavailable)
        }
        return Self.json(["status": "ready"])
    }

    /// Metrics tell a venue's activity and its accounts' number: not for anyone who can reach the port.
    private func mayReadMetrics(_ headers: HTTPFields) -> Bool {
        if let token = metricsToken, let authorization = headers[.authorization], authorization.hasPrefix("Bearer ") {
            let given = Array(authorization.utf8.dropFirst(7)), wanted = Array(token.utf8)
            // Compared in constant time.
            var difference = given.count == wanted.count ? 0 : 1
            for (a, b) in zip(given, wanted) { difference |= Int(a ^ b) }
            if difference == 0 { return true }
        }
        guard Self.credentialHeaders.allSatisfy({ headers[values: $0].count <= 1 }), let key = key(headers) else { return false }
        return key.role == .risk || key.role == .admin
    }

    /// The node's figures and the gateway's, read at the moment of the scrape, in one exposition.
    private func renderMetrics() async throws -> Response {
        try await node.recordMetrics()
        let gauges: [(String, [(String, String)], Int)] = [
            ("bourse_websocket_connections", [("stream", "trade_updates")], updates.hub.subscriberCount),
            ("bourse_websocket_connections", [("stream", "market_data")], market.hub.subscriberCount),
            ("bourse_web_sessions", [], keys.sessionCount),
            ("bourse_rate_limit_buckets", [], limiter.bucketCount),
        ]
        for (name, dimensions, value) in gauges { Gauge(label: name, dimensions: dimensions, factory: metrics.registry).record(value) }
        metrics.registry.observeTotal("bourse_websocket_drops_total", [("stream", "trade_updates")], Int64(updates.hub.drops))
        metrics.registry.observeTotal("bourse_websocket_drops_total", [("stream", "market_data")], Int64(market.hub.drops))
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.registry.render())))
    }
}
