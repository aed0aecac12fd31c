import CoreMetrics

/// The gateway's figures per session, in the node's registry (`/metrics`): messages in and out, resends,
/// garbled messages, and the time from an order's sequencing to its first report on the wire.
struct FIXMetrics: Sendable {
    let factory: any MetricsFactory

    func received(_ session: String) {
        Counter(label: "bourse_fix_messages_in_total", dimensions: [("session", session)], factory: factory).increment()
    }

    func sent(_ session: String, _ count: Int) {
        Counter(label: "bourse_fix_messages_out_total", dimensions: [("session", session)], factory: factory).increment(by: count)
    }

    func resend(_ session: String) {
        Counter(label: "bourse_fix_resends_total", dimensions: [("session", session)], factory: factory).increment()
    }

    func garbled(_ session: String?) {
        Counter(label: "bourse_fix_garbled_total", dimensions: [("session", session ?? "")], factory: factory).increment()
    }

    func rejected(_ session: String) {
        Counter(label: "bourse_fix_rejects_total", dimensions: [("session", session)], factory: factory).increment()
    }

    func acknowledged(_ session: String, since: Int64, now: Int64) {
        Timer(label: "bourse_fix_report_latency_seconds", dimensions: [("session", session)], factory: factory)
            .recordNanoseconds(max(0, now - since))
    }
}
