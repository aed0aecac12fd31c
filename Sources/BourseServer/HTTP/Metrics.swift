import BourseNode
import CoreMetrics
import Synchronization

/// The HTTP gateway's counters and timers, recorded through swift-metrics into the node's registry, so that
/// `/metrics` writes the node's figures and the gateway's in one exposition. Labels come from closed sets
/// (routes, HTTP statuses, reason codes, outcomes), so the series are bounded.
final class Metrics: Sendable {
    let registry: MetricsRegistry
    /// From a request's arrival to its command's durable acknowledgement.
    let ackLatency: CoreMetrics.Timer
    /// Counters and timers already made, by family and labels: a request counts without going to the registry.
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])

    init(registry: MetricsRegistry) {
        self.registry = registry
        ackLatency = CoreMetrics.Timer(label: "bourse_ack_latency_seconds", factory: registry)
    }

    /// Adds one to the series `name` with these labels.
    func count(_ name: String, _ labels: KeyValuePairs<String, String>) {
        let key = labels.reduce(name) { $0 + "|" + $1.key + "=" + $1.value }
        let counter = counters.withLock { made in
            if let counter = made[key] { return counter }
            let counter = Counter(label: name, dimensions: labels.map { ($0.key, $0.value) }, factory: registry)
            made[key] = counter
            return counter
        }
        counter.increment()
    }

    /// Counts an HTTP answer by its method, the route that took it (the router's pattern, so the set is the
    /// routes') and its status.
    func countAnswer(method: String, route: String, status: Int) {
        count("bourse_http_requests_total", ["method": method, "route": route, "status": String(status)])
    }

    /// The time a route took to answer.
    func timeAnswer(method: String, route: String, nanos: Int64) {
        let timer = timers.withLock { made in
            let key = method + " " + route
            if let timer = made[key] { return timer }
            let timer = CoreMetrics.Timer(label: "bourse_http_request_duration_seconds", dimensions: [("method", method), ("route", route)], factory: registry)
            made[key] = timer
            return timer
        }
        timer.recordNanoseconds(nanos)
    }
}
