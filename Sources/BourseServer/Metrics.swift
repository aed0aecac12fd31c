import Synchronization

/// Counters and histograms for `/metrics`, in Prometheus's text format. Labels come from closed sets
/// (HTTP statuses, reason codes, outcomes), so the series are bounded.
final class Metrics: Sendable {
    /// Upper bounds of the acknowledgement latency buckets, in seconds.
    static let latencyBounds: [Double] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1]

    private struct State {
        var counters: [String: [String: Int]] = [:]
        var latencyBuckets = [Int](repeating: 0, count: Metrics.latencyBounds.count)
        var latencyCount = 0
        var latencySum = 0.0
    }

    private let state = Mutex(State())

    /// Adds one to `name{label}`; `label` is the whole label set, as `key="value"`.
    func count(_ name: String, _ label: String) {
        state.withLock { $0.counters[name, default: [:]][label, default: 0] += 1 }
    }

    /// Records the time from a request's arrival to the acknowledgement of its command.
    func ackLatency(nanos: Int64) {
        let seconds = Double(nanos) / 1e9
        state.withLock { s in
            s.latencyCount += 1
            s.latencySum += seconds
            for (i, bound) in Self.latencyBounds.enumerated() where seconds <= bound { s.latencyBuckets[i] += 1 }
        }
    }

    /// The exposition, with gauges read at the moment of the scrape.
    func render(gauges: [(name: String, help: String, value: Int)]) -> String {
        let s = state.withLock { $0 }
        var text = ""
        let help = [
            "bourse_http_requests_total": "HTTP requests answered, by status.",
            "bourse_orders_total": "New orders by outcome.",
            "bourse_order_rejections_total": "Rejected orders by reason.",
        ]
        for name in s.counters.keys.sorted() {
            text += "# HELP \(name) \(help[name] ?? name)\n# TYPE \(name) counter\n"
            for (label, value) in s.counters[name]!.sorted(by: { $0.key < $1.key }) {
                text += "\(name){\(label)} \(value)\n"
            }
        }
        text += "# HELP bourse_ack_latency_seconds From a request's arrival to its command's durable acknowledgement.\n"
        text += "# TYPE bourse_ack_latency_seconds histogram\n"
        for (i, bound) in Self.latencyBounds.enumerated() {
            text += "bourse_ack_latency_seconds_bucket{le=\"\(bound)\"} \(s.latencyBuckets[i])\n"
        }
        text += "bourse_ack_latency_seconds_bucket{le=\"+Inf\"} \(s.latencyCount)\n"
        text += "bourse_ack_latency_seconds_sum \(s.latencySum)\nbourse_ack_latency_seconds_count \(s.latencyCount)\n"
        for gauge in gauges {
            text += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n\(gauge.name) \(gauge.value)\n"
        }
        return text
    }
}
