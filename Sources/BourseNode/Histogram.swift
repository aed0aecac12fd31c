import Synchronization

/// A cumulative histogram with fixed bucket bounds, for Prometheus. Recording takes a lock, so it is for
/// events counted in thousands a second (batches, requests), not for every command.
public final class Histogram: Sendable {
    public let bounds: [Double]
    private let state: Mutex<(buckets: [Int], count: Int, sum: Double)>

    /// Seconds from 50 µs to 1 s: journal commits, batches, acknowledgements.
    public static let latencyBounds: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1]

    public init(bounds: [Double] = Histogram.latencyBounds) {
        precondition(bounds == bounds.sorted() && !bounds.isEmpty)
        self.bounds = bounds
        state = Mutex(([Int](repeating: 0, count: bounds.count), 0, 0))
    }

    public func record(_ value: Double) {
        // The first bucket that holds it; the cumulative counts are summed when rendered.
        let index = bounds.firstIndex { value <= $0 } ?? bounds.count
        state.withLock { s in
            if index < s.buckets.count { s.buckets[index] += 1 }
            s.count += 1
            s.sum += value
        }
    }

    public func record(nanos: Int64) { record(Double(nanos) / 1e9) }

    /// The histogram in Prometheus's text exposition format.
    public func render(name: String, help: String) -> String {
        let s = state.withLock { $0 }
        var text = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (i, bound) in bounds.enumerated() {
            cumulative += s.buckets[i]
            text += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        text += "\(name)_bucket{le=\"+Inf\"} \(s.count)\n\(name)_sum \(s.sum)\n\(name)_count \(s.count)\n"
        return text
    }
}
