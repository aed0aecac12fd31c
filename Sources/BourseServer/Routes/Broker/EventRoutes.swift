import BourseCore
import BourseNode
import BourseProjections
import Foundation
import Hummingbird
import Synchronization

/// Alpaca's Broker API event streams (`/v1/events/…`), as server-sent events: account status changes,
/// transfer and journal status changes, and fills. They are the broker projection's events, so a client
/// that lost its connection resumes after the last id it saw (`since_id`) and misses nothing the projection
/// still keeps. Without `since_id` or `since` a stream starts at the newest event; with `until_id` or
/// `until` it ends there. A broker sees its own firm's accounts only; a revoked key's stream ends within
/// `keyCheckInterval`.
extension Routes {
    /// Event streams open at once, across keys; past it a new one is refused.
    static let eventStreamsMax = 256
    static let eventStreams = Atomic<Int>(0)
    /// Events read from the store at a time.
    static let eventPageMax = 500
    /// How often a waiting stream checks that its key still stands, and how often it says it lives.
    static let keyCheckInterval = Duration.seconds(1)
    static let heartbeatInterval = Duration.seconds(15)

    func addEvents(to table: RouteTable) {
        for stream in BrokerProjection.Stream.allCases {
            table.add(.get, "/v1/events/" + stream.rawValue, "Server-sent events: \(stream.rawValue), resumable after an id", query: [
                Parameter("since_id", .integer(0...Int.max), "Only events after this id"),
                Parameter("until_id", .integer(0...Int.max), "End the stream once past this id"),
                Parameter("since", .time, "Only events from this time"),
                Parameter("until", .time, "End the stream at this time"),
                Parameter("id", .text, "Only this account's events"),
            ], answer: .eventStream) { request, _ in
                try await handle(request) { key in try await events(stream, key, Query(request)) }
            }
        }
    }

    private func events(_ stream: BrokerProjection.Stream, _ key: StoredKey, _ query: Query) async throws -> Response {
        let visible = try await visibleAccounts(key)
        let only = try await query["id"].asyncMap { try await accountOnBehalf(key, $0).rawValue }
        try await requireBroker()
        let since = query.time("since")
        let after: Int64 = if let id = query.integer("since_id") {
            Int64(id)
        } else if since == nil {
            try await projections.store.query("SELECT MAX(id) AS id FROM broker_events", []).first?.int("id") ?? 0
        } else {
            0
        }
        let untilID = query.integer("until_id").map(Int64.init)
        let until = query.time("until")
        guard Self.eventStreams.add(1, ordering: .relaxed).newValue <= Self.eventStreamsMax else {
            Self.eventStreams.subtract(1, ordering: .relaxed)
            throw Failure(status: .tooManyRequests, code: 42910000, message: "\(Self.eventStreamsMax) event streams are open, as many as the venue serves")
        }
        guard let runner = projections["broker"] else { throw Failure.unavailable("no broker projection") }
        let store = projections.store
        let keys = self.keys
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { Self.eventStreams.subtract(1, ordering: .relaxed) }
            var last = after
            var quiet = Duration.zero
            while keys.contains(keyID: key.keyID) {
                let seen = runner.watermark.position
                let rows = try await store.query("SELECT id, account, time, body FROM broker_events WHERE stream = ? AND id > ? ORDER BY id LIMIT ?",
                                                 [.text(stream.rawValue), .int(last), .int(Int64(Self.eventPageMax))])
                var text = ""
                for row in rows {
                    let (id, account, time) = (row.int("id")!, UInt32(row.int("account")!), row.int("time")!)
                    if let untilID, id > untilID { break }
                    if let until, time > until { break }
                    last = id
                    if let since, time < since { continue }
                    if let visible, !visible.contains(account) { continue }
                    if let only, account != only { continue }
                    text += "id: \(id)\ndata: \(row.text("body")!)\n\n"
                }
                if !text.isEmpty {
                    try await writer.write(ByteBuffer(string: text))
                    quiet = .zero
                }
                if let untilID, last >= untilID || rows.contains(where: { $0.int("id")! > untilID }) { break }
                if let until, rows.contains(where: { $0.int("time")! > until }) || (rows.isEmpty && wallClockNanos() > until) { break }
                if rows.count == Self.eventPageMax { continue }
                // Nothing more yet: wait for the projection to move, saying now and then that the stream lives.
                if await !runner.watermark.wait(for: seen + 1, timeout: Self.keyCheckInterval) {
                    if case .failed = runner.currentStatus.state { break }
                    if case .finished = runner.currentStatus.state { break }
                    quiet += Self.keyCheckInterval
                    if quiet >= Self.heartbeatInterval {
                        try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                        quiet = .zero
                    }
                }
            }
            try await writer.finish(nil)
        })
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async throws -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
