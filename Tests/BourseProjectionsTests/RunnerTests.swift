import BourseCore
import BourseNode
import BourseProjections
import BourseTestSupport
import Foundation
import Testing

/// The runner's contract, on each store: every entry applied exactly once, whatever stops it — a failed
/// transaction, a restart, an entry that throws, falling behind, a rebuild — so that its tables always
/// equal the same projection applied to the same journal from zero.
@Suite("the projection runner")
struct RunnerTests {
    @Test("transactions that fail at random points, each followed by a restart, leave the rows a rebuild from zero makes",
          arguments: StoreKind.all)
    func restartsAfterFailedTransactions(_ kind: StoreKind) async throws {
        let fixture = try JournalFixture(seed: 7)
        defer { fixture.remove() }
        fixture.sequencer.start()
        fixture.run(1_500)
        var rng = SplitMix64(seed: 11)
        try await withStore(kind) { store in
            var restarts = 0
            while true {
                // A new process: a new projection and runner on the same store; this one breaks at an entry ahead.
                let position = try Positions.recorded("orders", in: store) ?? 0
                let breaking = position + 1 + rng.next() % 400
                let flaky = Flaky(OrdersProjection()) { $0 == breaking }
                var limits = ProjectionRunner.Limits()
                limits.entriesPerTransactionMax = 64
                let runner = ProjectionRunner(flaky, store: store, journal: fixture.journal, limits: limits)
                do {
                    try runner.open()
                    break
                } catch let failure as ProjectionRunner.Failure {
                    #expect(failure.sequence == breaking)
                    #expect(failure.reason == "the test broke entry \(breaking)")
                    // Nothing of the entry, nor anything after it, is kept; everything before it is.
                    #expect(try Positions.recorded("orders", in: store) == breaking - 1)
                    restarts += 1
                }
            }
            #expect(restarts >= 3)
            #expect(try Positions.recorded("orders", in: store) == fixture.sequencer.lastSequence)
            let expected = try await rebuiltChecksums({ OrdersProjection() }, kind: kind, journal: fixture.journal)
            let found = try Positions.checksums(OrdersProjection(), in: store)
            #expect(found == expected)
        }
    }

    @Test("the rows do not depend on how the entries are grouped into transactions, an order amended in place included",
          arguments: StoreKind.all)
    func rowsIndependentOfTransactions(_ kind: StoreKind) async throws {
        let fixture = try JournalFixture(seed: 5)
        defer { fixture.remove() }
        fixture.sequencer.start()
        fixture.run(0)
        // On books still empty, an order amended in place (the replacement keeps its id): its row is written twice, by two entries.
        let id = OrderID(900_001)
        let account = AccountID(1)
        var order = NewOrder(orderID: id, account: account, symbol: try Symbol(validating: "AAA"), side: .buy, type: .limit,
                             timeInForce: .gtc, quantity: Quantity(20))
        order.limitPrice = Price(units: 99_000)
        fixture.run([.deposit(account, Money(dollars: 1_000)), .newOrder(order),
                     .replace(ReplaceOrder(orderID: id, newOrderID: id, account: account, quantity: Quantity(10)))])
        fixture.run(800)
        var found: [Int: [String: UInt64]] = [:]
        // One entry a transaction (a feed that trickles), a few, and the default (a rebuild).
        for entries in [1, 7, ProjectionRunner.Limits().entriesPerTransactionMax] {
            found[entries] = try await withStore(kind) { store in
                var limits = ProjectionRunner.Limits()
                limits.entriesPerTransactionMax = entries
                let runner = ProjectionRunner(OrdersProjection(), store: store, journal: fixture.journal, limits: limits)
                try runner.open()
                let amended = try store.querySynchronously("SELECT replaces, qty FROM orders WHERE id = ?", [.int(900_001)])
                #expect(amended.first?.int("replaces") == 900_001 && amended.first?.int("qty") == 10, "\(amended)")
                return try Positions.checksums(runner.projection, in: store)
            }
        }
        #expect(Set(found.values).count == 1, "\(found)")
    }

    @Test("a runner that follows a journal another writes (a standby's), a step at a time, holds the rows a rebuild makes and tells no one",
          arguments: StoreKind.all)
    func followsAJournal(_ kind: StoreKind) async throws {
        let fixture = try JournalFixture(seed: 9)
        defer { fixture.remove() }
        fixture.sequencer.start()
        fixture.run(300)
        try await withStore(kind) { store in
            let projection = OrdersProjection()
            let told = Shared(0)
            projection.listen { _, _ in told.withLock { $0 += 1 } }
            let runner = ProjectionRunner(projection, store: store, journal: fixture.journal)
            try runner.open(through: 100)
            #expect(runner.currentStatus.position == 100)
            var steps = 0
            while runner.currentStatus.position < fixture.sequencer.lastSequence {
                fixture.run(50)
                steps += try runner.follow(through: min(runner.currentStatus.position + 97, fixture.sequencer.lastSequence)) > 0 ? 1 : 0
            }
            #expect(steps >= 3)
            #expect(told.withLock { $0 } == 0, "what is read from a journal is not told")
            let expected = try await rebuiltChecksums({ OrdersProjection() }, kind: kind, journal: fixture.journal)
            #expect(try Positions.checksums(projection, in: store) == expected)
        }
    }

    @Test("a projection that throws on an entry stops there, says which and why, never skips it, and resumes once fixed",
          arguments: StoreKind.all)
    func stopsAndResumes(_ kind: StoreKind) async throws {
        let fixture = try JournalFixture(seed: 21)
        defer { fixture.remove() }
        try await withStore(kind) { store in
            let flaky = Flaky(OrdersProjection()) { $0 == 300 }
            let logged = Shared<[String]>([])
            let runner = ProjectionRunner(flaky, store: store, journal: fixture.journal, log: { line in logged.withLock { $0.append(line) } })
            try runner.open()
            fixture.sequencer.add(runner.consumer)
            runner.start()
            fixture.sequencer.start()
            fixture.run(600)
            #expect(await eventually { runner.currentStatus.state == .failed })
            let stopped = runner.currentStatus
            #expect(stopped.failure == .init(sequence: 300, reason: "the test broke entry 300"))
            #expect(stopped.position == 299)
            // What /readyz answers with, one line a projection.
            #expect(Projections([runner], store: store).problems == ["projection orders stopped at sequence 300: the test broke entry 300"])
            // A read that must see a later entry is told no at once, rather than waiting.
            #expect(await runner.watermark.wait(for: 300, timeout: .seconds(30)) == false)
            // Tried again (after the pause, or at once on retry), it fails at the same entry, and says so.
            runner.retry()
            #expect(await eventually { logged.withLock { $0.count } >= 2 })
            #expect(logged.withLock { $0 }.allSatisfy { $0 == "projection orders stopped at sequence 300: the test broke entry 300" })
            #expect(runner.currentStatus.position == 299)
            flaky.fix()
            runner.retry()
            let last = fixture.sequencer.lastSequence
            // The position is committed before the runner calls itself live again.
            #expect(await eventually { runner.currentStatus.position == last && runner.currentStatus.state == .live })
            #expect(runner.currentStatus.failure == nil)
            #expect(await runner.watermark.wait(for: last))
            fixture.sequencer.stop()
            runner.waitUntilFinished()
            let expected = try await rebuiltChecksums({ OrdersProjection() }, kind: kind, journal: fixture.journal)
            #expect(try Positions.checksums(flaky, in: store) == expected)
        }
    }

    @Test("two runners of one projection on one store (a process that lost its lock and the one that took over): every entry is applied once, the one behind is refused and goes on from the store's position",
          arguments: StoreKind.all)
    func twoWritersApplyOnce(_ kind: StoreKind) async throws {
        let fixture = try JournalFixture(seed: 57)
        defer { fixture.remove() }
        fixture.sequencer.start()
        fixture.run(1_200)
        let end = fixture.sequencer.lastSequence
        var entries: [Published] = []
        try JournalFeed.read(fixture.journal, after: 0, through: nil, chunk: 4_096) { entries += $0 }
        try await withStore(kind) { store in
            let logged = Shared<[String]>([])
            let behind = ProjectionRunner(OrdersProjection(), store: store, journal: fixture.journal,
                                          log: { line in logged.withLock { $0.append(line) } })
            try behind.open(through: 300)
            // Another takes the projection on and applies it through 800 meanwhile.
            try ProjectionRunner(OrdersProjection(), store: store, journal: fixture.journal).open(through: 800)
            #expect(try Positions.recorded("orders", in: store) == 800)
            // The first, which does not know, is handed the entries after 300 as if live.
            behind.consumer.begin(after: 300)
            behind.start()
            behind.consumer.offer(Array(entries[300...]))
            #expect(await eventually { behind.currentStatus.position == end && behind.currentStatus.state == .live })
            #expect(logged.withLock { $0 }.first == "projection orders stopped at sequence 301: the store no longer holds projection orders at sequence 300: another process applied entries to it")
            behind.consumer.close()
            behind.waitUntilFinished()
            let expected = try await rebuiltChecksums({ OrdersProjection() }, kind: kind, journal: fixture.journal)
            #expect(try Positions.checksums(OrdersProjection(), in: store) == expected)
        }
    }

    @Test("a projection cut off for falling behind reads what it missed from the journal and goes on", arguments: StoreKind.all)
    func catchesUpAfterOverrun(_ kind: StoreKind) async throws {
        let fixture = try JournalFixture(seed: 33)
        defer { fixture.remove() }
        try await withStore(kind) { store in
            // Slow for its first entries, with room for only 16 ahead of it: it is cut off at once.
            let slow = Flaky(OrdersProjection()) { sequence in
                if sequence < 40 { Thread.sleep(forTimeInterval: 0.005) }
                return false
            }
            var limits = ProjectionRunner.Limits()
            limits.lagEntriesMax = 16
            let runner = ProjectionRunner(slow, store: store, journal: fixture.journal, limits: limits)
            try runner.open()
            fixture.sequencer.add(runner.consumer)
            runner.start()
            fixture.sequencer.start()
            fixture.run(2_000)
            #expect(await runner.watermark.wait(for: fixture.sequencer.lastSequence, timeout: .seconds(60)))
            #expect(runner.consumer.overrunAt == nil)
            fixture.sequencer.stop()
            runner.waitUntilFinished()
            let expected = try await rebuiltChecksums({ OrdersProjection() }, kind: kind, journal: fixture.journal)
            #expect(try Positions.checksums(slow, in: store) == expected)
        }
    }

    @Test("a rebuild while the venue runs empties the tables and applies the whole journal again, to the same rows",
          arguments: StoreKind.all)
    func rebuildsWhileRunning(_ kind: StoreKind) async throws {
        let fixture = try JournalFixture(seed: 45)
        defer { fixture.remove() }
        try await withStore(kind) { store in
            let orders = OrdersProjection()
            let told = Told()
            orders.listen { published, _ in told.add(published.command.sequence) }
            let runner = ProjectionRunner(orders, store: store, journal: fixture.journal)
            try runner.open()
            fixture.sequencer.add(runner.consumer)
            runner.start()
            fixture.sequencer.start()
            fixture.run(800)
            #expect(await runner.watermark.wait(for: fixture.sequencer.lastSequence, timeout: .seconds(30)))
            runner.rebuild()
            fixture.run(400)
            #expect(await runner.watermark.wait(for: fixture.sequencer.lastSequence, timeout: .seconds(60)))
            fixture.sequencer.stop()
            runner.waitUntilFinished()
            let expected = try await rebuiltChecksums({ OrdersProjection() }, kind: kind, journal: fixture.journal)
            #expect(try Positions.checksums(orders, in: store) == expected)
            // Whoever listens live was told each entry once, in order, the rebuild notwithstanding.
            #expect(told.sequences == Array(1...fixture.sequencer.lastSequence))
        }
    }

    @Test("what the journal holds at open is applied to the tables but not told again: it was told before it was journaled",
          arguments: StoreKind.all)
    func openTellsNothing(_ kind: StoreKind) async throws {
        let fixture = try JournalFixture(seed: 52)
        defer { fixture.remove() }
        fixture.sequencer.start()
        fixture.run(300)
        fixture.sequencer.stop()
        try await withStore(kind) { store in
            let orders = OrdersProjection()
            let told = Told()
            orders.listen { published, _ in told.add(published.command.sequence) }
            let runner = ProjectionRunner(orders, store: store, journal: fixture.journal)
            #expect(try runner.open() == Int(fixture.sequencer.lastSequence))
            #expect(told.sequences.isEmpty)
            let expected = try await rebuiltChecksums({ OrdersProjection() }, kind: kind, journal: fixture.journal)
            #expect(try Positions.checksums(orders, in: store) == expected)
        }
    }

    @Test("a read waits on the watermark until the projection has committed its sequence, or its time is up")
    func watermark() async {
        let mark = Watermark(position: 5)
        #expect(await mark.wait(for: 5))
        #expect(await mark.wait(for: 6, timeout: .milliseconds(20)) == false)
        async let later = mark.wait(for: 8, timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(20))
        mark.advance(to: 7)
        mark.advance(to: 8)
        #expect(await later)
        async let refused = mark.wait(for: 9, timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(20))
        mark.stop()
        #expect(await refused == false)
    }

    @Test("a reader that may wait seconds (a FIX Logon) waits while the projection moves, past one wait's 2 s, and is told why once it does not move or has stopped")
    func waitsWhileMoving() async throws {
        let fixture = try JournalFixture(seed: 51)
        defer { fixture.remove() }
        try await withStore(.sqlite) { store in
            // Held until the journal has every entry, then at least 4 ms an entry: 1,500 take 6 s or more.
            let released = Shared(false)
            let slow = Flaky(OrdersProjection()) { _ in
                while !released.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.001) }
                Thread.sleep(forTimeInterval: 0.004)
                return false
            }
            // Committed every 16 entries, as a busy projection commits several times a second.
            var limits = ProjectionRunner.Limits()
            limits.entriesPerTransactionMax = 16
            let runner = ProjectionRunner(slow, store: store, journal: fixture.journal, limits: limits)
            try runner.open()
            fixture.sequencer.add(runner.consumer)
            runner.start()
            fixture.sequencer.start()
            fixture.run(1_500)
            let projections = Projections([runner], store: store)
            let last = fixture.sequencer.lastSequence
            // Held: a wait ends after its 2 s, and a wait while moving too, since nothing moves.
            let behind = await projections.wait(runner.name, for: last)
            #expect(behind?.contains("is behind the venue") == true, "\(behind ?? "reached")")
            let stalled = await projections.waitWhileMoving(runner.name, for: last)
            #expect(stalled?.contains("is behind the venue") == true, "\(stalled ?? "reached")")
            // Moving for 6 s or more: waited for to the end.
            released.withLock { $0 = true }
            #expect(await projections.waitWhileMoving(runner.name, for: last) == nil)
            fixture.sequencer.stop()
            runner.waitUntilFinished()
            // Stopped: no wait without end for a position it will not reach.
            #expect(await projections.waitWhileMoving(runner.name, for: last + 100) != nil)
        }
    }
}

/// The sequences a listener was told, in order.
final class Told: @unchecked Sendable {
    private let lock = NSLock()
    private var told: [UInt64] = []

    func add(_ sequence: UInt64) {
        lock.lock()
        told.append(sequence)
        lock.unlock()
    }

    var sequences: [UInt64] {
        lock.lock()
        defer { lock.unlock() }
        return told
    }
}
