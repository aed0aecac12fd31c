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
        let only: UInt32? = if let text = query["id"] { try await accountOnBehalf(key, text).rawValue } else { nil }
        if stream == .trades { try await requireHistory() } else { try await requireBroker() }
        let store = projections.store
        let since = query.time("since")
        let after: Int64 = if let id = query.integer("since_id") {
            Int64(id)
        } else if since == nil {
            try await Self.newestEvent(stream, store)
        } else {
            0
        }
        let untilID = query.integer("until_id").map(Int64.init)
        let until = query.time("until")
        guard Self.eventStreams.add(1, ordering: .relaxed).newValue <= Self.eventStreamsMax else {
            Self.eventStreams.subtract(1, ordering: .relaxed)
            throw Failure(status: .tooManyRequests, code: 42910000, message: "\(Self.eventStreamsMax) event streams are open, as many as the venue serves")
        }
        guard let runner = projections[stream == .trades ? "orders" : "broker"] else { throw Failure.unavailable("no projection for \(stream.rawValue)") }
        let keys = self.keys
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { Self.eventStreams.subtract(1, ordering: .relaxed) }
            var last = after
            var quiet = Duration.zero
            while keys.contains(keyID: key.keyID) {
                let seen = runner.watermark.position
                let events = try await Self.events(stream, after: last, store)
                var text = ""
                for event in events {
                    if let untilID, event.id > untilID { break }
                    if let until, event.time > until { break }
                    last = event.id
                    if let since, event.time < since { continue }
                    if let visible, !visible.contains(event.account) { continue }
                    if let only, event.account != only { continue }
                    text += "id: \(event.id)\ndata: \(event.body)\n\n"
                }
                if !text.isEmpty {
                    try await writer.write(ByteBuffer(string: text))
                    quiet = .zero
                }
                if let untilID, last >= untilID || events.contains(where: { $0.id > untilID }) { break }
                if let until, events.contains(where: { $0.time > until }) || (events.isEmpty && wallClockNanos() > until) { break }
                if events.count == Self.eventPageMax { continue }
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

extension Routes {
    struct StreamEvent {
        var id: Int64
        var account: UInt32
        var time: Int64
        var body: String
    }

    /// A page of a stream's events after `id`: the broker projection's, or for fills the order projection's
    /// executions, each side an event whose id is placed as the broker projection places its own.
    static func events(_ stream: BrokerProjection.Stream, after id: Int64, _ store: any ProjectionStore) async throws -> [StreamEvent] {
        guard stream == .trades else {
            return try await store.query("SELECT id, account, time, body FROM broker_events WHERE stream = ? AND id > ? ORDER BY id LIMIT ?",
                                         [.text(stream.rawValue), .int(id), .int(Int64(eventPageMax))]).map { row in
                StreamEvent(id: row.int("id")!, account: UInt32(row.int("account")!), time: row.int("time")!, body: row.text("body")!)
            }
        }
        let place = (id >> 21, (id & 0x1F_FFFF) >> 1, id & 1)
        return try await store.query("""
            SELECT * FROM executions WHERE (sequence, event, leg) > (?, ?, ?) ORDER BY sequence, event, leg LIMIT ?
            """, [.int(place.0), .int(place.1), .int(place.2), .int(Int64(eventPageMax))]).map { row in
            let (sequence, event, leg) = (row.int("sequence")!, row.int("event")!, row.int("leg")!)
            let (account, time, leaves) = (AccountID(UInt32(row.int("account")!)), row.int("time")!, row.int("leaves")!)
            let id = BrokerProjection.Stream.id(sequence: sequence, event << 1 | leg)
            let body = JSONText.object([
                ("event_id", .int(id)), ("at", .time(time)), ("account_id", .uuid(account.uuid)),
                ("event", .string(leaves == 0 ? "fill" : "partial_fill")),
                ("execution_id", .uuid(ExecutionID(UInt64(bitPattern: row.int("execution_id")!)).uuid)),
                ("price", .string(API.decimal(row.int("price")!))), ("qty", .string(String(row.int("qty")!))), ("timestamp", .time(time)),
                ("order", .object([("id", .uuid(OrderID(UInt64(bitPattern: row.int("order_id")!)).uuid)), ("symbol", .string(row.text("symbol")!)),
                                   ("side", .string(row.text("side")!)), ("leaves_qty", .string(String(leaves)))])),
            ]).text
            return StreamEvent(id: id, account: account.rawValue, time: time, body: body)
        }
    }

    /// The newest event's id, where a stream without `since_id` or `since` starts.
    static func newestEvent(_ stream: BrokerProjection.Stream, _ store: any ProjectionStore) async throws -> Int64 {
        guard stream == .trades else {
            return try await store.query("SELECT MAX(id) AS id FROM broker_events WHERE stream = ?", [.text(stream.rawValue)]).first?.int("id") ?? 0
        }
        let sequence = try await store.query("SELECT MAX(sequence) AS sequence FROM executions", []).first?.int("sequence") ?? 0
        return BrokerProjection.Stream.id(sequence: sequence, 0x1F_FFFF)
    }
}
