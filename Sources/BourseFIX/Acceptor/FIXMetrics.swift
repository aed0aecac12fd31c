import CoreMetrics
import Synchronization

/// The gateway's figures per session, in the node's registry (`/metrics`): messages in and out, resends,
/// garbled messages, and the time from an order's sequencing to its first report on the wire.
final class FIXMetrics: Sendable {
    let factory: any MetricsFactory
    /// Each session's handles, made at its first figure and kept: a handle made per message looked its
    /// series up in the registry every time. Sessions are configured, so the table is bounded by them.
    private let handles = Mutex<[String: Handles]>([:])
    /// Garbled before a Logon named the session: the one figure without one.
    private let garbledUnnamed: Counter

    struct Handles: Sendable {
        let messagesIn, messagesOut, resends, garbled, rejects: Counter
        let reportLatency: Timer
    }

    init(factory: any MetricsFactory) {
        self.factory = factory
        garbledUnnamed = Counter(label: "bourse_fix_garbled_total", dimensions: [("session", "")], factory: factory)
    }

    func received(_ session: String) { handles(session).messagesIn.increment() }

    func sent(_ session: String, _ count: Int) { handles(session).messagesOut.increment(by: count) }

    func resend(_ session: String) { handles(session).resends.increment() }

    func garbled(_ session: String?) { (session.map { handles($0).garbled } ?? garbledUnnamed).increment() }

    func rejected(_ session: String) { handles(session).rejects.increment() }

    func acknowledged(_ session: String, since: Int64, now: Int64) {
        handles(session).reportLatency.recordNanoseconds(max(0, now - since))
    }

    private func handles(_ session: String) -> Handles {
        handles.withLock { handles in
            if let made = handles[session] { return made }
            let dimensions = [("session", session)]
            let made = Handles(
                messagesIn: Counter(label: "bourse_fix_messages_in_total", dimensions: dimensions, factory: factory),
                messagesOut: Counter(label: "bourse_fix_messages_out_total", dimensions: dimensions, factory: factory),
                resends: Counter(label: "bourse_fix_resends_total", dimensions: dimensions, factory: factory),
                garbled: Counter(label: "bourse_fix_garbled_total", dimensions: dimensions, factory: factory),
                rejects: Counter(label: "bourse_fix_rejects_total", dimensions: dimensions, factory: factory),
                reportLatency: Timer(label: "bourse_fix_report_latency_seconds", dimensions: dimensions, factory: factory))
            handles[session] = made
            return made
        }
    }
}
