import CoreMetrics
import Prometheus
import Synchronization

/// A node's metrics: swift-metrics' API (`Counter`, `Gauge`, `Timer`, `Recorder`, each made with this
/// factory) over a Prometheus registry the node owns. Not the process-wide `MetricsSystem`: several nodes
/// in one process (the tests') keep their figures apart. Every family's help text and histogram buckets are
/// kept in the one table below, so the exposition describes each series it writes.
public final class MetricsRegistry: MetricsFactory, Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// The last value seen of each total read from a count kept elsewhere (see `observeTotal`).
    private let observed = Mutex<[String: Int64]>([:])

    public init() {}

    /// Seconds from 50 µs to 1 s: journal commits, batches, acknowledgements, HTTP requests.
    static let latencyBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1),
    ]
    /// Projection lag reaches further: a projection catching up after a burst is seconds behind.
    static let lagBuckets: [Duration] = latencyBuckets + [.seconds(5), .seconds(30)]
    static let batchCommandBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 2_048, 4_096, 8_192]

    static let help: [String: String] = [
        "bourse_http_requests_total": "HTTP requests answered, by method, route and status.",
        "bourse_http_request_duration_seconds": "From a request's routing to its answer, by method and route.",
        "bourse_orders_total": "New orders by outcome.",
        "bourse_order_rejections_total": "Rejected orders by reason.",
        "bourse_order_requests_total": "Authorized order requests by the path that took them: the connection's event loop, or the router (bodies that are not plain JSON, requests that close the connection).",
        "bourse_connections_refused_total": "Connections refused at accept, by reason.",
        "bourse_connections_closed_total": "Connections the server closed, by reason.",
        "bourse_ack_latency_seconds": "From a request's arrival to its command's durable acknowledgement.",
        "bourse_engine_batch_seconds": "Applying a batch of commands to the engine and encoding its journal entries.",
        "bourse_journal_commit_seconds": "Writing a batch to the journal and syncing it (fdatasync under fsync durability).",
        "bourse_sequencer_batch_commands": "Commands in a batch.",
        "bourse_sequencer_queue_depth": "Commands waiting for the sequencer.",
        "bourse_open_orders": "Open orders in the engine.",
        "bourse_accounts": "Accounts in the engine.",
        "bourse_projection_position": "The last sequence each projection committed.",
        "bourse_projection_lag_entries": "Entries published to each projection and not yet committed.",
        "bourse_projection_entries_applied_total": "Journal entries each projection applied since start.",
        "bourse_projection_apply_rate_entries": "Entries each projection applied a second, over the last second or more.",
        "bourse_projection_failed": "1 while a projection is stopped at an entry that failed.",
        "bourse_projection_statements_total": "Statements sent to the projections' store since start (rows written, mostly).",
        "bourse_risk_firm_equity_dollars": "The firm's equity at the last mark.",
        "bourse_risk_firm_gross_exposure_dollars": "The firm's long plus short market value at the last mark.",
        "bourse_risk_firm_net_exposure_dollars": "The firm's long less short market value at the last mark.",
        "bourse_risk_firm_total_pnl_dollars": "The firm's realized and unrealized P&L less fees, at the last mark.",
        "bourse_risk_firm_day_pnl_dollars": "The firm's P&L since the last close mark.",
        "bourse_risk_firm_house_requirement_dollars": "The firm's house maintenance requirement at the last mark.",
        "bourse_risk_firm_excess_dollars": "Equity above the house requirement over margin accounts, and cash of cash accounts, at the last mark.",
        "bourse_risk_accounts_in_deficit": "Accounts below their house requirement at the last mark.",
        "bourse_risk_margin_calls_open": "Margin calls open.",
        "bourse_risk_mark_sequence": "The sequence of the last mark the risk platform applied.",
        "bourse_websocket_connections": "Connections listening, by stream.",
        "bourse_websocket_drops_total": "Connections closed for falling behind, by stream.",
        "bourse_market_history_dropped_total": "Batches of trades and quotes not recorded: too many waited to be written, or their transaction failed.",
        "bourse_alerts_active": "Price alerts waiting to fire.",
        "bourse_capture_queue_entries": "Captures in the retry queue, waiting for a retry or dead (the dead-letter queue).",
        "bourse_capture_queue_oldest_age_seconds": "Age of the oldest capture waiting or dead, in seconds; 0 when there is none.",
        "bourse_web_sessions": "Web sessions signed in.",
        "bourse_rate_limit_buckets": "Keys the rate limiter keeps a bucket for (at most the keys the venue holds, and one for unknown key ids).",
        "bourse_fix_messages_in_total": "FIX messages received, by session.",
        "bourse_fix_messages_out_total": "FIX messages sent (resends not counted), by session.",
        "bourse_fix_resends_total": "Resend requests the venue answered, by session.",
        "bourse_fix_garbled_total": "FIX messages ignored for a wrong BodyLength, CheckSum or header, by session (empty before Logon).",
        "bourse_fix_rejects_total": "Session-level Rejects the venue sent, by session.",
        "bourse_fix_report_latency_seconds": "From an order's sequencing to its first execution report written to its session.",
        "bourse_kafka_published_sequence": "The last journal sequence the event topic holds, as the publisher committed it.",
        "bourse_kafka_lag_entries": "Durable journal entries not yet committed to the event topic.",
        "bourse_kafka_transactions_total": "Kafka transactions the journal publisher committed.",
        "bourse_kafka_failures_total": "Failures of the journal publisher (a broker gone, a transaction failed); each is followed by a fresh producer that reads the topic again.",
        "bourse_kafka_commit_seconds": "Committing one Kafka transaction of journal entries.",
        "bourse_kafka_lag_seconds": "From the time of the first entry of a Kafka transaction published live to that transaction's commit.",
        "process_cpu_seconds_total": "CPU time the process used, user and system, in seconds.",
        "process_resident_memory_bytes": "Resident memory of the process.",
        "process_virtual_memory_bytes": "Virtual memory of the process.",
        "process_open_fds": "File descriptors the process holds open.",
        "process_max_fds": "The process's limit on open file descriptors.",
        "process_start_time_seconds": "When the process started, in seconds since the Unix epoch.",
    ]

    /// The help text of a family; every family the node writes has one (a projection's lag is named after it).
    static func help(_ name: String) -> String {
        if let text = help[name] { return text }
        if name.hasPrefix("bourse_projection_"), name.hasSuffix("_lag_seconds") {
            let projection = name.dropFirst("bourse_projection_".count).dropLast("_lag_seconds".count)
            return "From a command's time to the commit of the \(projection) projection's transaction that applied it."
        }
        preconditionFailure("metric \(name) has no help text")
    }

    /// A family's whole name (no unit suffix is added) and its help text.
    static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help(name))
    }

    /// The exposition, in Prometheus's text format.
    public func render() -> String { registry.emitToString() }

    /// Brings a counter up to a total kept elsewhere (a hub's drops, a store's statements): counters only
    /// go up, so the difference since the last scrape is added.
    public func observeTotal(_ name: String, _ dimensions: [(String, String)] = [], _ value: Int64) {
        let delta = advance(name, dimensions, to: value)
        let counter = CoreMetrics.Counter(label: name, dimensions: dimensions, factory: self)
        if delta > 0 { counter.increment(by: delta) }
    }

    /// `observeTotal` for a total in seconds (CPU time), kept in nanoseconds between scrapes.
    public func observeTotal(_ name: String, _ dimensions: [(String, String)] = [], seconds value: Double) {
        let delta = advance(name, dimensions, to: Int64(value * 1e9))
        let counter = FloatingPointCounter(label: name, dimensions: dimensions, factory: self)
        if delta > 0 { counter.increment(by: Double(delta) / 1e9) }
    }

    /// How far a total moved since it was last seen, remembering the new value.
    private func advance(_ name: String, _ dimensions: [(String, String)], to value: Int64) -> Int64 {
        let key = name + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return observed.withLock { seen in
            let delta = value - (seen[key] ?? 0)
            seen[key] = max(value, seen[key] ?? 0)
            return delta
        }
    }

    // MARK: - MetricsFactory

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: Self.descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: Self.descriptor(label), labels: dimensions, buckets: Self.batchCommandBuckets)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: Self.descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = label.hasSuffix("_lag_seconds") ? Self.lagBuckets : Self.latencyBuckets
        return registry.makeDurationHistogram(descriptor: Self.descriptor(label), labels: dimensions, buckets: buckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
