import BourseNode
import Synchronization

/// Counters and histograms for `/metrics`, in Prometheus's text format. Labels come from closed sets
/// (HTTP statuses, reason codes, outcomes), so the series are bounded.
final class Metrics: Sendable {
    private let counters = Mutex<[String: [String: Int]]>([:])
    /// From a request's arrival to its command's durable acknowledgement.
    let ackLatency = Histogram()

    /// Adds one to `name{label}`; `label` is the whole label set, as `key="value"`.
    func count(_ name: String, _ label: String) {
        counters.withLock { $0[name, default: [:]][label, default: 0] += 1 }
    }

    /// Counts an HTTP answer by its status.
    func countAnswer(_ status: Int) {
        count("bourse_http_requests_total", "status=\"\(status)\"")
    }

    static let help = [
        "bourse_http_requests_total": "HTTP requests answered, by status.",
        "bourse_orders_total": "New orders by outcome.",
        "bourse_order_rejections_total": "Rejected orders by reason.",
        "bourse_order_requests_total": "Authorized order requests by the path that took them: the connection's event loop, or the router (bodies that are not plain JSON, requests that close the connection).",
    ]

    /// The exposition: counters, the histograms given, and gauges read at the moment of the scrape.
    func render(histograms: [(name: String, help: String, histogram: Histogram)],
                gauges: [(name: String, help: String, value: Int)]) -> String {
        let counters = counters.withLock { $0 }
        var text = ""
        for name in counters.keys.sorted() {
            text += "# HELP \(name) \(Self.help[name] ?? name)\n# TYPE \(name) counter\n"
            for (label, value) in counters[name]!.sorted(by: { $0.key < $1.key }) {
                text += "\(name){\(label)} \(value)\n"
            }
        }
        for h in [("bourse_ack_latency_seconds", "From a request's arrival to its command's durable acknowledgement.", ackLatency)] + histograms {
            text += h.2.render(name: h.0, help: h.1)
        }
        // A gauge's name may carry labels; its family is described once, before its first series.
        var described: Set<Substring> = []
        for gauge in gauges {
            let family = gauge.name.prefix { $0 != "{" }
            if described.insert(family).inserted {
                let type = family.hasSuffix("_total") ? "counter" : "gauge"
                text += "# HELP \(family) \(gauge.help)\n# TYPE \(family) \(type)\n"
            }
            text += "\(gauge.name) \(gauge.value)\n"
        }
        return text
    }
}
