import BourseProjections
import NIOCore
import Synchronization

/// One of the gateway's event loops and what only that loop touches: its connections, the saves and
/// writes waiting for its next flush, and the order reports handed to it from other threads. A
/// connection stays on the loop that accepted it, and its session is touched only there while it is
/// bound (`FIXGateway.bind` hands a session from one loop to another only after the old connection ended).
final class GatewayLoop: @unchecked Sendable {
    let loop: EventLoop

    // The loop's own.
    var connections: [ObjectIdentifier: FIXConnection] = [:]
    var awaitingFlush: [FIXConnection] = []
    var flushScheduled = false
    /// Connections whose sessions' numbers alone wait to be saved.
    var savingLater: [FIXConnection] = []
    var ticker: RepeatedTask?

    /// Reports of newly applied entries, and new orders' reports at their acknowledgement, each gathered
    /// until the loop takes them all at once (`Delivery.swift`).
    let published = Mutex<(reports: [OrderReport], scheduled: Bool)>(([], false))
    let early = Mutex<(pending: [([OrderReport], FIXConnection, FIXSession)], scheduled: Bool)>(([], false))
    /// This loop's sessions logged on, to which the order projection's reports go live.
    let waitingForReports = Atomic<Int>(0)

    init(loop: EventLoop) { self.loop = loop }
}
