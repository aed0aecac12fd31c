import BourseCore
import BourseNode
import BourseProjections
import Foundation
import NIOCore
import Synchronization

/// How order reports reach the sessions: at a new order's acknowledgement, live from the order projection,
/// and from its table after a Logon; each saved in the session store before it is written.
extension FIXGateway {
    /// The venue acknowledged a session's new order: its reports go at once, as an HTTP answer would,
    /// rather than when the order projection gets to the entry. Each is remembered as sent early, in the
    /// same save as the message, and skipped when the projection's reports reach it; reports of entries
    /// before it keep their turn. Only a new order's own entry is told early: nothing before it in the
    /// journal concerns the order, so the order's reports stay in order.
    func acknowledged(_ published: Published, _ connection: FIXConnection, _ session: FIXSession) {
        let reports = OrderReport.ofNewOrder(published)
        guard !reports.isEmpty, !stopped.load(ordering: .relaxed) else { return }
        // Gathered until the connection's event loop takes them all, so that each session saves them at once.
        let home = connection.home
        let schedule = home.early.withLock { e in
            e.pending.append((reports, connection, session))
            defer { e.scheduled = true }
            return !e.scheduled
        }
        guard schedule else { return }
        onLoop(connection) { [self] in
            let pending = home.early.withLock { e in
                e.scheduled = false
                defer { e.pending.removeAll(keepingCapacity: true) }
                return e.pending
            }
            let now = clock()
            for (reports, connection, session) in pending where connection.session === session && connection.mayDeliver {
                for report in reports where report.concerns(session: session.name) && session.isUntold(report.sequence, report.number) {
                    guard session.sentEarly(report.sequence, report.number) else { break }
                    toldEarlyThrough.withLock { $0[session.name] = max($0[session.name] ?? 0, report.sequence) }
                    let (type, body) = ExecutionReports.message(report, accountNumber: numbers[report.account] ?? String(report.account))
                    session.send(type, body, now: now)
                    if report.kind == .new || report.kind == .rejected { metrics.acknowledged(session.name, since: report.time.nanos, now: now) }
                }
                connection.write()
            }
        }
    }

    /// Reports of a newly applied entry, from the order projection's thread: to each event loop with a
    /// session logged on.
    func publish(_ reports: [OrderReport]) {
        // Nobody to tell: a session that logs on later reads them from the table.
        guard ordersProjection.isPrompt, !stopped.load(ordering: .relaxed) else { return }
        // A loop with no session logged on is not woken: a session that logs on there reads the table.
        for home in loops where home.waitingForReports.load(ordering: .relaxed) > 0 { publish(reports, on: home) }
    }

    private func publish(_ reports: [OrderReport], on home: GatewayLoop) {
        let schedule = home.published.withLock { p in
            p.reports += reports
            defer { p.scheduled = true }
            return !p.scheduled
        }
        guard schedule else { return }
        home.loop.execute { [self] in
            let reports = home.published.withLock { p in
                p.scheduled = false
                defer { p.reports.removeAll(keepingCapacity: true) }
                return p.reports
            }
            // Each report once into the sessions it concerns: by the session that placed or asked, by account.
            var byOrigin: [String: [OrderReport]] = [:], byAccount: [UInt32: [OrderReport]] = [:]
            for report in reports {
                if let origin = report.origin { byOrigin[origin, default: []].append(report) }
                if let origin = report.requestOrigin, origin != report.origin { byOrigin[origin, default: []].append(report) }
                byAccount[report.account, default: []].append(report)
            }
            for connection in home.connections.values {
                guard let session = connection.session, connection.isOpen, session.isLoggedOn else { continue }
                let settings = session.settings
                let wanted: [OrderReport]
                switch settings.role {
                case .orderEntry: wanted = byOrigin[settings.name] ?? []
                case .dropCopy, .clearing:
                    let mine = settings.accounts.count == 1 ? byAccount[settings.accounts[0]] ?? []
                        : reports.filter { settings.accounts.contains($0.account) }
                    wanted = mine.filter { concerns($0, settings) }
                }
                guard !wanted.isEmpty else { continue }
                if connection.live.count + wanted.count > FIXConnection.liveReportsMax {
                    connection.liveOverflowed = true
                    connection.live.removeAll()
                } else if !connection.liveOverflowed {
                    connection.live.append(contentsOf: wanted)
                }
                deliver(connection)
            }
        }
    }

    /// A connection has recorded messages to save and write: the flush runs once the event loop is done
    /// with what it is doing now (the reads of this round, the reports that arrived), so that a session
    /// reached by many of them saves once.
    func needsFlush(_ connection: FIXConnection) {
        let home = connection.home
        if !connection.awaitingFlush {
            connection.awaitingFlush = true
            home.awaitingFlush.append(connection)
        }
        guard !home.flushScheduled else { return }
        home.flushScheduled = true
        home.loop.execute { [self] in
            home.flushScheduled = false
            flush(home)
        }
    }

    /// A connection whose session moved only its numbers: saved with every other such one within
    /// `lazySaveNanos` (a timer for each would make a save for each message in).
    func saveLater(_ connection: FIXConnection) {
        let home = connection.home
        home.savingLater.append(connection)
        guard home.savingLater.count == 1 else { return }
        home.loop.scheduleTask(in: .nanoseconds(FIXSession.lazySaveNanos)) {
            let due = home.savingLater
            home.savingLater.removeAll(keepingCapacity: true)
            for connection in due { connection.lazySaveDue() }
        }
    }

    /// Saves what the waiting connections of a loop's sessions recorded, then writes each connection's
    /// messages; then runs `next` (a resend or a close, which must come after). A save is an append to the
    /// session's file on this thread, so saves are made, and their messages written, in the order they were
    /// asked for. A session that only moved its numbers is saved a moment later.
    func flush(_ home: GatewayLoop, then next: (() -> Void)? = nil) {
        let connections = home.awaitingFlush
        home.awaitingFlush.removeAll(keepingCapacity: true)
        for connection in connections {
            connection.awaitingFlush = false
            let everything = connection.flushEverything
            connection.flushEverything = false
            guard let session = connection.session, connection.isOpen else { continue }
            if let save = session.pendingSave(everything: everything) {
                do {
                    try store.save([save])
                    connection.emit(session.saved())
                } catch {
                    log("FIX session \(session.name): the session store failed, disconnecting: \(error)")
                    session.unsaved()
                    connection.close()
                }
            } else if session.hasUnsavedState {
                connection.scheduleLazySave()
            }
        }
        next?()
    }

    private func concerns(_ report: OrderReport, _ settings: SessionSettings) -> Bool {
        switch settings.role {
        case .orderEntry: report.concerns(session: settings.name)
        case .dropCopy: settings.accounts.contains(report.account)
        case .clearing: settings.accounts.contains(report.account) && (report.kind == .fill || report.kind == .partialFill)
        }
    }

    /// A session just logged on: what it has not been told is read from the order reports' table up to
    /// the venue's position at this moment; what comes after arrives live.
    func loggedOn(_ connection: FIXConnection, _ session: FIXSession) {
        defer { post([session]) }
        if !connection.waitsForReports {
            connection.waitsForReports = true
            connection.home.waitingForReports.add(1, ordering: .relaxed)
            ordersProjection.waitForReports(true)
        }
        connection.live = []
        connection.liveOverflowed = false
        catchUp(connection, session)
    }

    private func catchUp(_ connection: FIXConnection, _ session: FIXSession) {
        connection.catchingUp = true
        let settings = session.settings
        Task { [self] in
            do {
                let head = try await venue.lastSequence()
                if let problem = await projections.waitWhileMoving("orders", for: head) { throw OrderHandler.Refusal(problem) }
                let loop = connection.home.loop
                while true {
                    guard !stopped.load(ordering: .relaxed) else { return }
                    // Read on the loop, and only while this connection holds the session.
                    guard let after = try await loop.submit({ () -> (UInt64, Int)? in
                        guard connection.session === session else { return nil }
                        return (session.state.deliveredSequence, session.state.deliveredNumber)
                    }).get() else { return }
                    let reports = try await queries.reports(session: settings.name, accounts: settings.role == .orderEntry ? nil : settings.accounts,
                                                            after: after, through: head, limit: SessionStore.resendChunkMax)
                    let more = try await loop.submit { [self] () -> Bool in
                        guard connection.session === session, connection.isOpen else { return false }
                        send(reports.filter { concerns($0, settings) }, connection, session)
                        if let last = reports.last, reports.count == SessionStore.resendChunkMax {
                            // A chunk may end with reports the session is not told of: it is past them all the same.
                            session.delivered(sequence: last.sequence, number: last.number)
                            return true
                        }
                        return false
                    }.get()
                    if !more { break }
                }
                onLoop(connection) { [self] in
                    connection.catchingUp = false
                    deliver(connection)
                }
            } catch {
                guard !stopped.load(ordering: .relaxed) else { return }
                onLoop(connection) { [self] in
                    log("FIX session \(settings.name): catching up with the order reports failed: \(error)")
                    connection.close()
                }
            }
        }
    }

    /// Records the live reports waiting for a connection, unless a resend or catch-up goes first, and
    /// writes them.
    func deliver(_ connection: FIXConnection) {
        guard connection.mayDeliver, let session = connection.session, !connection.live.isEmpty || connection.liveOverflowed else { return }
        if connection.liveOverflowed {
            connection.liveOverflowed = false
            return catchUp(connection, session)
        }
        let reports = connection.live
        connection.live.removeAll(keepingCapacity: true)
        send(reports, connection, session)
    }

    private func send(_ reports: [OrderReport], _ connection: FIXConnection, _ session: FIXSession) {
        let now = clock()
        for report in reports {
            let position = (report.sequence, report.number)
            guard position > (session.state.deliveredSequence, session.state.deliveredNumber) else { continue }
            if session.reachedEarly(report.sequence, report.number) {
                session.delivered(sequence: report.sequence, number: report.number)
                continue
            }
            let number = numbers[report.account] ?? String(report.account)
            if session.settings.role == .clearing {
                guard let body = TradeCaptureReports.report(report, accountNumber: number) else { continue }
                session.send(MsgType.tradeCaptureReport, body, now: now)
            } else {
                let (type, body) = ExecutionReports.message(report, accountNumber: number)
                session.send(type, body, now: now)
            }
            session.delivered(sequence: report.sequence, number: report.number)
            if report.kind == .new || report.kind == .rejected { metrics.acknowledged(session.name, since: report.time.nanos, now: now) }
        }
        connection.write()
    }
}
