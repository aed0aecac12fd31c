/// Exact percentiles of recorded latencies.
struct LatencySummary {
    var p50: Int64
    var p99: Int64
    var p999: Int64
    var p9999: Int64
    var max: Int64

    init(_ samples: [Int64]) {
        precondition(!samples.isEmpty)
        let sorted = samples.sorted()
        func at(_ q: Double) -> Int64 { sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] }
        p50 = at(0.50)
        p99 = at(0.99)
        p999 = at(0.999)
        p9999 = at(0.9999)
        max = sorted.last!
    }

    var json: String { #"{"p50":\#(p50),"p99":\#(p99),"p999":\#(p999),"p9999":\#(p9999),"max":\#(max)}"# }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
