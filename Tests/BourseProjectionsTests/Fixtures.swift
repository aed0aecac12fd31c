import BourseCore
import BourseEngine
import BourseJournal
import BourseNode
import BourseProjections
import BourseTestSupport
import Foundation

/// A venue with accounts writing a journal from a seeded stream: what the projections follow.
final class JournalFixture: @unchecked Sendable {
    let directory: String
    var journal: String { directory + "/journal" }
    let sequencer: Sequencer
    private var stream: AccountStream

    init(seed: UInt64) throws {
        directory = makeTemporaryDirectory("bourse-projections")
        try FileManager.default.createDirectory(atPath: directory + "/journal", withIntermediateDirectories: true)
        let writer = try JournalWriter(directory: directory + "/journal", durability: .os, lastSequence: 0, keepsAccounts: true)
        // A second a batch, from a fixed day: bars and days do not depend on when the test runs.
        let clock = Shared<Int64>(1_764_000_000_000_000_000)
        sequencer = Sequencer(engine: MatchingEngine(keepsAccounts: true), journal: writer, lastSequence: 0,
                              configuration: .init(batchMax: 64), clock: {
            clock.withLock { now in
                now += 1_000_000_000
                return now
            }
        })
        stream = AccountStream(seed: seed)
    }

    /// The commands to submit next: the opening first, then the stream.
    func commands(_ count: Int) -> [Command] {
        var result: [Command] = []
        if sequencer.lastSequence == 0 && !opened {
            opened = true
            result = stream.opening().map(\.command)
        }
        while result.count < count { result.append(unique(stream.next().command)) }
        return result
    }

    private var opened = false
    private var ids: [UInt64: UInt64] = [:]
    private var nextID: UInt64 = 1

    /// The stream reuses order ids now and then, to exercise the engine's duplicate checks; the gateways
    /// never do (they assign ids counting up), and the order projection keys its rows by id. Each order
    /// gets an id of its own here; cancels and replaces name the latest order given the stream's id.
    private func unique(_ command: Command) -> Command {
        func fresh(_ id: OrderID) -> OrderID {
            defer { nextID += 1 }
            ids[id.rawValue] = nextID
            return OrderID(nextID)
        }
        func current(_ id: OrderID) -> OrderID { OrderID(ids[id.rawValue] ?? 1_000_000 + id.rawValue) }
        switch command {
        case .newOrder(var o):
            o.orderID = fresh(o.orderID)
            return .newOrder(o)
        case .newOrderList(var list):
            for id in list.orderIDs { list.rename(id, to: fresh(id)) }
            return .newOrderList(list)
        case .cancel(var c):
            c.orderID = current(c.orderID)
            return .cancel(c)
        case .replace(var r):
            r.orderID = current(r.orderID)
            r.newOrderID = fresh(r.newOrderID)
            return .replace(r)
        default:
            return command
        }
    }

    /// Submits `count` commands and waits until all are durable; notes carry client order ids sometimes.
    func run(_ count: Int) { run(commands(count)) }

    func run(_ commands: [Command]) {
        let done = DispatchGroup()
        for (i, command) in commands.enumerated() {
            done.enter()
            let note = i % 3 == 0 ? ClientOrderID.note("c\(i)-\(UUID().uuidString.prefix(8))") : []
            while true {
                do {
                    try sequencer.submit(command, note: note) { _ in done.leave() }
                    break
                } catch {
                    Thread.sleep(forTimeInterval: 0.001)
                }
            }
        }
        done.wait()
    }

    func remove() {
        sequencer.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A projection applied to a journal from zero in a store of its own: the reference a projection that
/// resumed, failed or fell behind must equal, table for table.
func rebuiltChecksums(_ make: () -> any Projection, kind: StoreKind, journal: String) async throws -> [String: UInt64] {
    try await withStore(kind) { store in
        let runner = ProjectionRunner(make(), store: store, journal: journal)
        try runner.open()
        return try Positions.checksums(runner.projection, in: store)
    }
}

/// A projection that throws on the entries `failing` names, as long as it names them: a bug, or a store
/// that refuses a row, fixed while the venue runs.
final class Flaky: Projection, @unchecked Sendable {
    let inner: any Projection
    var failing: (UInt64) -> Bool
    private let lock = NSLock()

    init(_ inner: any Projection, failing: @escaping (UInt64) -> Bool) {
        self.inner = inner
        self.failing = failing
    }

    var name: String { inner.name }
    var schema: ProjectionSchema { inner.schema }

    func fix() {
        lock.lock()
        failing = { _ in false }
        lock.unlock()
    }

    func load(from store: any ProjectionStore) throws { try inner.load(from: store) }

    func apply(_ published: Published, isNew: Bool, writer: any StoreWriter) throws {
        lock.lock()
        let fails = failing(published.command.sequence)
        lock.unlock()
        try inner.apply(published, isNew: isNew, writer: writer)
        if fails { throw Broken(sequence: published.command.sequence) }
    }

    func flush(writer: any StoreWriter) throws { try inner.flush(writer: writer) }

    struct Broken: Error, CustomStringConvertible {
        var sequence: UInt64
        var description: String { "the test broke entry \(sequence)" }
    }
}
