import BourseCore
import BourseEngine
import BourseJournal
import BourseNode
import BourseTestSupport
import Foundation
import Testing

@Suite("sequencer")
struct SequencerTests {
    let symbol = try! Symbol(validating: "SEQ")

    func makeSequencer(_ directory: String, queueCapacity: Int = 1 << 16) throws -> (Sequencer, JournalWriter) {
        let writer = try JournalWriter(directory: directory, durability: .fsync, lastSequence: 0)
        let sequencer = Sequencer(engine: MatchingEngine(), journal: writer, lastSequence: 0,
                                  configuration: .init(queueCapacity: queueCapacity), clock: { 1_700_000_000_000_000_000 })
        return (sequencer, writer)
    }

    func order(_ id: UInt64, _ side: Side = .buy, price: Int64 = 100_000) -> Command {
        .newOrder(NewOrder(orderID: OrderID(id), account: AccountID(1), symbol: symbol, side: side, type: .limit,
                           timeInForce: .gtc, quantity: Quantity(10), limitPrice: Price(units: price)))
    }

    @Test("a full input queue fails fast with overloaded and loses nothing that was accepted")
    func overloaded() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (sequencer, _) = try makeSequencer(directory, queueCapacity: 4)
        let acks = AckLog()
        for command in [Command.listSymbol(symbol, .standard), .setTradingState(symbol, .open), order(1), order(2)] {
            try sequencer.submit(command, completion: acks.record)
        }
        #expect(throws: Sequencer.SubmitError.overloaded) { try sequencer.submit(order(3), completion: acks.record) }
        sequencer.start()
        sequencer.stop()
        #expect(acks.sequences == [1, 2, 3, 4])
        #expect(throws: Sequencer.SubmitError.stopped) { try sequencer.submit(order(5)) }
        // Stopping again returns at once, and says why it no longer takes commands.
        #expect(sequencer.stop() == nil)
        #expect(sequencer.unavailableReason == "stopping")
        let (engine, report) = try Recovery.recover(directory: directory, repair: false)
        #expect(report.lastSequence == 4 && engine.openOrderCount == 2)
    }

    @Test("stopping a sequencer that never started fails what was queued instead of dropping it")
    func stopBeforeStart() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (sequencer, _) = try makeSequencer(directory)
        let failures = FailureLog()
        try sequencer.submit(.listSymbol(symbol, .standard), completion: failures.record)
        try sequencer.submit(order(1), completion: failures.record)
        sequencer.stop()
        #expect(failures.count == 2)
        #expect(throws: Sequencer.SubmitError.stopped) { try sequencer.submit(order(2)) }
    }

    @Test("reads run on the sequencer thread after the commands before them are durable")
    func readsSeeDurableState() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (sequencer, _) = try makeSequencer(directory)
        let seen = ReadLog()
        sequencer.start()
        for command in [Command.listSymbol(symbol, .standard), .setTradingState(symbol, .open), order(1), order(2)] {
            try sequencer.submit(command)
        }
        try sequencer.read { engine in seen.record(engine.map { ($0.openOrderCount, DurableCheck.entries(directory)) }) }
        sequencer.stop()
        #expect(seen.values.count == 1)
        #expect(seen.values.first?.map(\.0) == 2)
        // Everything applied before the read was already in the journal when it ran.
        #expect(seen.values.first?.map(\.1) == 4)
    }

    @Test("reads still waiting when a sequencer that never started is stopped are answered with nothing")
    func readsBeforeStart() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (sequencer, _) = try makeSequencer(directory)
        let seen = ReadLog()
        try sequencer.read { engine in seen.record(engine.map { ($0.openOrderCount, 0) }) }
        sequencer.stop()
        #expect(seen.values.count == 1 && seen.values[0] == nil)
        #expect(throws: Sequencer.SubmitError.stopped) { try sequencer.read { _ in } }
    }

    @Test("acknowledgements come after the entry is durable, with the command's events")
    func durableBeforeAck() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (sequencer, _) = try makeSequencer(directory)
        sequencer.start()
        let acks = AckLog()
        try sequencer.submit(.listSymbol(symbol, .standard))
        try sequencer.submit(.setTradingState(symbol, .open))
        try sequencer.submit(order(1, .sell))
        let seen = DurableCheck(directory: directory)
        try sequencer.submit(order(2, .buy)) { result in
            seen.check(result)
            acks.record(result)
        }
        sequencer.stop()
        #expect(seen.wasDurable)
        let events = acks.events.first ?? []
        #expect(events.count == 2)
        if case .trade(let t)? = events.last {
            #expect(t.makerOrderID == OrderID(1) && t.takerOrderID == OrderID(2) && t.quantity == Quantity(10))
        } else {
            Issue.record("expected a trade, got \(events)")
        }
    }

    @Test("many producers at once: every command is sequenced exactly once, gap-free, and journaled")
    func manyProducers() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (sequencer, _) = try makeSequencer(directory, queueCapacity: 256)
        sequencer.start()
        try sequencer.submit(.listSymbol(symbol, .standard))
        try sequencer.submit(.setTradingState(symbol, .open))
        let acks = AckLog()
        let producers = 4, perProducer = 5_000
        DispatchQueue.concurrentPerform(iterations: producers) { p in
            for i in 0..<perProducer {
                let id = UInt64(p * perProducer + i + 1)
                let command = order(id, id % 2 == 0 ? .buy : .sell, price: 100_000 + Int64(id % 7) * 100)
                while true {
                    do {
                        try sequencer.submit(command, completion: acks.record)
                        break
                    } catch {
                        sched_yield()
                    }
                }
            }
        }
        sequencer.stop()
        #expect(acks.sequences.sorted() == Array(3...UInt64(2 + producers * perProducer)))
        let (engine, report) = try Recovery.recover(directory: directory, repair: false)
        #expect(report.lastSequence == UInt64(2 + producers * perProducer))
        #expect(engine.stateHash() == sequencer.stoppedEngine.stateHash())
    }

    @Test("periodic snapshots are written as the sequence passes the interval, and recovery starts from the newest")
    func periodicSnapshots() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try JournalWriter(directory: directory, durability: .fsync, lastSequence: 0)
        let sequencer = Sequencer(engine: MatchingEngine(), journal: writer, lastSequence: 0,
                                  configuration: .init(queueCapacity: 64, batchMax: 16, snapshotEvery: 50,
                                                       snapshotDirectory: directory))
        sequencer.start()
        try sequencer.submit(.listSymbol(symbol, .standard))
        try sequencer.submit(.setTradingState(symbol, .open))
        for id in 1...400 {
            while (try? sequencer.submit(order(UInt64(id), id % 2 == 0 ? .buy : .sell, price: 100_000 + Int64(id % 5) * 100))) == nil {
                sched_yield()
            }
        }
        sequencer.stop()
        #expect(sequencer.snapshotFailure == nil)
        let snapshots = try Snapshots.list(directory)
        #expect(snapshots.count == Snapshots.keepMax)
        #expect(snapshots[0].sequence > 300)
        let (engine, report) = try Recovery.recover(directory: directory, repair: false)
        #expect(report.snapshot?.sequence == snapshots[0].sequence)
        #expect(report.lastSequence == 402)
        #expect(engine.stateHash() == sequencer.stoppedEngine.stateHash())
    }

    @Test("a sequencer continuing a recovered engine never stamps a time before the last one journaled")
    func timeContinuesAcrossRestart() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = Sequencer(engine: MatchingEngine(), journal: try JournalWriter(directory: directory, durability: .fsync, lastSequence: 0),
                              lastSequence: 0, configuration: .init(snapshotDirectory: directory), clock: { 5_000 })
        first.start()
        try first.submit(.listSymbol(symbol, .standard))
        first.stop()
        // The machine's clock has gone back in time since.
        let (engine, report) = try Recovery.recover(directory: directory, repair: true)
        #expect(engine.lastCommandTime == Timestamp(nanos: 5_000))
        let second = Sequencer(engine: engine, journal: try JournalWriter(directory: directory, durability: .fsync,
                                                                         lastSequence: report.lastSequence),
                               lastSequence: report.lastSequence, clock: { 1_000 })
        let acks = AckLog()
        second.start()
        try second.submit(.setTradingState(symbol, .open), completion: acks.record)
        second.stop()
        let stamped = acks.commands
        #expect(stamped.map(\.sequence) == [2] && stamped.map(\.time) == [Timestamp(nanos: 5_000)])
    }

    @Test("a consumer that falls behind is cut off and told where to resume; the sequencer never waits")
    func slowConsumer() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (sequencer, _) = try makeSequencer(directory)
        let fast = EventConsumer(name: "fast", capacity: 1_000)
        let slow = EventConsumer(name: "slow", capacity: 10)
        sequencer.add(fast)
        sequencer.add(slow)
        try sequencer.submit(.listSymbol(symbol, .standard))
        try sequencer.submit(.setTradingState(symbol, .open))
        for id in 1...20 { try sequencer.submit(order(UInt64(id))) }
        sequencer.start()
        sequencer.stop()
        var received: [UInt64] = []
        loop: while true {
            switch fast.next() {
            case .events(let batch): received += batch.map(\.command.sequence)
            case .overrun: Issue.record("the fast consumer was cut off")
            case .interrupted: Issue.record("nothing interrupted the fast consumer")
            case .closed: break loop
            }
        }
        #expect(received == Array(1...22))
        guard case .overrun(let at) = slow.next() else {
            Issue.record("the slow consumer was not cut off")
            return
        }
        #expect(at == 1)
        // Taken up again, it is told what to read from the journal: everything offered while it was cut off.
        #expect(slow.resume() == 22)
        #expect(slow.lastOffered == 22)
    }
}

/// Collects acknowledgements from the sequencer thread.
final class AckLog: @unchecked Sendable {
    private let lock = NSLock()
    private var acks: [Sequencer.Acknowledgement] = []

    var record: Sequencer.Completion {
        { [self] result in
            lock.lock()
            if case .success(let ack) = result { acks.append(ack) }
            lock.unlock()
        }
    }

    var sequences: [UInt64] { lock.withLock { acks.map(\.command.sequence) } }
    var commands: [SequencedCommand] { lock.withLock { acks.map(\.command) } }
    var events: [[Event]] { lock.withLock { acks.map(\.events) } }
}

/// Counts failed completions.
final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var failures = 0
    var record: Sequencer.Completion {
        { [self] result in
            if case .failure = result { lock.withLock { failures += 1 } }
        }
    }
    var count: Int { lock.withLock { failures } }
}

final class ReadLog: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [(Int, Int)?] = []
    func record(_ value: (Int, Int)?) { lock.withLock { seen.append(value) } }
    var values: [(Int, Int)?] { lock.withLock { seen } }
}

/// Reads the journal from inside a completion to see that the acknowledged entry is already there.
final class DurableCheck: @unchecked Sendable {
    let directory: String
    private(set) var wasDurable = false
    init(directory: String) { self.directory = directory }

    func check(_ result: Result<Sequencer.Acknowledgement, Sequencer.SequencerFailure>) {
        guard case .success(let ack) = result else { return }
        let last = try? JournalReader.read(directory) { _ in }.lastSequence
        wasDurable = last == ack.command.sequence
    }

    /// The last sequence in the journal now.
    static func entries(_ directory: String) -> Int {
        Int((try? JournalReader.read(directory) { _ in }.lastSequence) ?? 0)
    }
}
