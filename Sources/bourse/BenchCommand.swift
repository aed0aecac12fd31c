import ArgumentParser
import BourseCore
import BourseEngine
import BourseJournal
import BourseNode
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the engine alone, or the full path through sequencer and journal.",
        discussion: """
        Prints one JSON line. The engine-alone figure is the median of --runs timed passes over the same \
        pre-generated commands; latency comes from one more pass that times every command.
        """)

    enum FlowName: String, ExpressibleByArgument, CaseIterable { case steady, deep }

    @Option(help: "Synthetic flow: steady (hundreds of orders over ~100 levels) or deep (over 100,000 resting orders).")
    var flow: FlowName = .steady
    @Option(help: "An order-stream file (new,... and cancel,... lines) instead of the synthetic flow.")
    var orders: String?
    @Option(help: "Measured commands of the synthetic flow.")
    var ops = 5_000_000
    @Option(help: "Seed of the synthetic flow.")
    var seed: UInt64 = 42
    @Option(help: "Timed passes for the engine-alone throughput; the median is reported.")
    var runs = 5
    @Option(help: "Run the full path through sequencer and journal into this (new or empty) directory.")
    var journal: String?
    @Option(help: "Journal durability with --journal: fsync, os or none.")
    var durability: Durability = .fsync
    @Option(help: "With --journal, write a snapshot every this many commands (0: only at shutdown).")
    var snapshotEvery: UInt64 = 0
    @Flag(help: "With --journal, print 'durable <sequence>' after each durable batch (for crash tests).")
    var reportDurable = false
    @Option(help: "Measure restarting from a snapshot of a book with this many resting orders instead.")
    var restart: Int?
    @Option(help: "With --journal, submit at this many commands per second (0: as fast as possible). Latency is then measured from each command's scheduled time.")
    var rate = 0
    @Option(help: "With --journal, publish the journal to Kafka as serve --kafka does (kafka://HOST:PORT[/PREFIX]) and report the publication's lag: from each transaction's first entry's time to its commit.")
    var kafka: String?
    @Option(help: "Orders come from this many funded accounts and pass risk and the ledger (0: matching alone). The engine-alone run then also times matching alone on the same commands, alternating, and reports the ratio.")
    var accounts = 0

    @Option(help: "Measure ITCH 5.0 decoding and book building over this many generated messages instead.")
    var itch: Int?
    @Option(help: "Measure ITCH 5.0 decoding and book building over this file of length-prefixed messages instead.")
    var itchFile: String?

    @Option(help: "Measure NBBO recomputation over this many generated venue quote updates instead.")
    var nbbo: Int?

    @Option(help: "Measure candle building (minute bars, then folding into every timeframe) over this many generated trades instead.")
    var candles: Int?

    func run() throws {
        if kafka != nil, journal == nil { throw ValidationError("--kafka publishes the journal of the full path: it needs --journal") }
        if let orders = restart { return try measureRestart(orders: orders) }
        if let updates = nbbo { return measureNBBO(updates: updates) }
        if let trades = candles { return measureCandles(trades: trades) }
        if itch != nil || itchFile != nil { return try measureITCH() }
        var setup: [Command]
        var measured: [Command]
        var mixJSON = "null"
        var flowName = flow.rawValue
        if let path = orders {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let file = try OrderFile(text: text)
            setup = file.setup
            measured = file.commands
            flowName = "file"
        } else {
            var generator = OrderFlow(shape: flow == .steady ? .steady : .deep, seed: seed, accounts: accounts)
            setup = generator.setup() + generator.fill()
            measured = []
            measured.reserveCapacity(ops)
            for _ in 0..<ops { measured.append(generator.next()) }
            let m = generator.mix
            let total = Double(m.adds + m.cancels + m.iocs)
            mixJSON = String(format: #"{"adds_pct":%.1f,"cancels_pct":%.1f,"iocs_pct":%.1f}"#,
                             Double(m.adds) / total * 100, Double(m.cancels) / total * 100, Double(m.iocs) / total * 100)
        }
        guard !measured.isEmpty else { throw ValidationError("there are no commands to measure") }
        if let directory = journal {
            try runFullPath(directory: directory, setup: setup, measured: measured, flowName: flowName, mixJSON: mixJSON)
        } else {
            runEngineAlone(setup: setup, measured: measured, flowName: flowName, mixJSON: mixJSON)
        }
    }

    private func sequenced(_ commands: [Command], from first: UInt64) -> [SequencedCommand] {
        commands.enumerated().map { SequencedCommand(sequence: first + UInt64($0.offset), time: Timestamp(nanos: 1_000 + Int64($0.offset)), command: $0.element) }
    }

    private func runEngineAlone(setup: [Command], measured: [Command], flowName: String, mixJSON: String) {
        let prefix = sequenced(setup, from: 1)
        let stream = sequenced(measured, from: UInt64(prefix.count) + 1)
        let keepsAccounts = accounts > 0
        var events: [Event] = []
        events.reserveCapacity(1 << 12)
        /// One timed pass over the measured commands on a fresh engine that has applied the setup.
        func pass(keepsAccounts: Bool) -> Double {
            let engine = MatchingEngine(keepsAccounts: keepsAccounts)
            for c in prefix { engine.process(c, into: &events); events.removeAll(keepingCapacity: true) }
            let start = monotonicNanos()
            stream.withUnsafeBufferPointer { commands in
                engine.process(commands) { _, _ in }
            }
            return Double(stream.count) / (Double(monotonicNanos() - start) / 1e9)
        }
        // With accounts, passes with and without them alternate so that drift in the machine's speed
        // falls on both alike.
        var rates: [Double] = []
        var matchingRates: [Double] = []
        for _ in 0..<max(1, runs) {
            if keepsAccounts { matchingRates.append(pass(keepsAccounts: false)) }
            rates.append(pass(keepsAccounts: keepsAccounts))
        }
        // One more pass timing every command; counting trades happens outside the timed span.
        let engine = MatchingEngine(keepsAccounts: keepsAccounts)
        for c in prefix { engine.process(c, into: &events); events.removeAll(keepingCapacity: true) }
        var latencies = [Int64](repeating: 0, count: stream.count)
        var tally = TradeTally()
        stream.withUnsafeBufferPointer { commands in
            for i in commands.indices {
                let t0 = monotonicNanos()
                engine.process(commands[i], into: &events)
                latencies[i] = monotonicNanos() - t0
                tally.add(events)
                events.removeAll(keepingCapacity: true)
            }
        }
        let overhead = timerOverhead()
        let rate = median(rates)
        var accountsJSON = ""
        if keepsAccounts {
            let matching = median(matchingRates)
            accountsJSON = #","accounts":\#(accounts),"rejected":\#(tally.rejected),"ledger_transactions":\#(engine.ledgerTransactionCount),"matching_alone_ops_per_sec":\#(Int(matching)),"matching_alone_runs":[\#(matchingRates.map { String(Int($0)) }.joined(separator: ","))],"risk_and_ledger_cost_ratio":\#(String(format: "%.3f", matching / rate))"#
        }
        print(#"{"mode":"engine","flow":"\#(flowName)","ops":\#(stream.count),"runs":\#(rates.count),"seconds":\#(String(format: "%.4f", Double(stream.count) / rate)),"ops_per_sec":\#(Int(rate)),"ops_per_sec_runs":[\#(rates.map { String(Int($0)) }.joined(separator: ","))],"trades":\#(tally.trades),"traded_qty":\#(tally.quantity),"notional":"\#(tally.notionalDollars)","resting_orders":\#(engine.restingOrderCount),"mix":\#(mixJSON)\#(accountsJSON),"latency_ns":\#(LatencySummary(latencies).json),"timer_overhead_ns":\#(overhead)}"#)
    }

    private func runFullPath(directory: String, setup: [Command], measured: [Command], flowName: String, mixJSON: String) throws {
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw ValidationError("bench --journal needs a new or empty directory; \(directory) holds \(existing.count) files")
        }
        let writer = try JournalWriter(directory: directory, durability: durability, lastSequence: 0,
                                       keepsAccounts: accounts > 0)
        let engine = MatchingEngine(keepsAccounts: accounts > 0)
        let sequencer = Sequencer(engine: engine, journal: writer, lastSequence: 0,
                                  configuration: .init(snapshotEvery: snapshotEvery == 0 ? nil : snapshotEvery,
                                                       snapshotDirectory: durability == .none ? nil : directory))
        let marks = DurableMarks(capacity: measured.count / 64 + 1024)
        let report = reportDurable
        sequencer.onDurable { sequence in
            marks.record(sequence)
            if report {
                print("durable \(sequence)")
                fflush(nil)
            }
        }
        if kafka != nil, durability == .none { throw ValidationError("--kafka publishes the journal: it needs --durability fsync or os") }
        let publishing = try kafka.map { try BenchPublication.attach($0, journal: directory, keepsAccounts: accounts > 0, to: sequencer) }
        sequencer.start()
        let all = setup + measured
        var submitted = [Int64](repeating: 0, count: all.count)
        var overloaded = 0
        let start = monotonicNanos()
        let interval = rate > 0 ? 1e9 / Double(rate) : 0
        for i in all.indices {
            if rate > 0 {
                // The schedule, not the moment of sending, starts each latency: a stalled sender
                // cannot hide delay (no coordinated omission).
                let due = start + Int64(Double(i) * interval)
                while monotonicNanos() < due {}
                submitted[i] = due
            }
            while true {
                do {
                    if rate == 0 { submitted[i] = monotonicNanos() }
                    try sequencer.submit(all[i])
                    break
                } catch .overloaded {
                    overloaded += 1
                    sched_yield()
                } catch {
                    throw ValidationError("submit failed: \(error)")
                }
            }
        }
        if let failure = sequencer.stop() { throw ValidationError("\(failure)") }
        let publicationJSON = publishing.map { "," + $0.finish() } ?? ""
        let last = sequencer.lastSequence
        if let problem = sequencer.snapshotFailure { throw ValidationError(problem) }
        // Latency of each measured command: from its submit to the end of the batch that made it durable.
        let (sequences, times) = marks.values
        // Up to the last acknowledgement: the snapshot written at shutdown is not part of the flow.
        let seconds = Double(times.last! - start) / 1e9
        var latencies: [Int64] = []
        latencies.reserveCapacity(measured.count)
        var mark = 0
        for i in setup.count..<all.count {
            let sequence = UInt64(i + 1)
            while sequences[mark] < sequence { mark += 1 }
            latencies.append(times[mark] - submitted[i])
        }
        let throughput = Double(all.count) / seconds
        // Trades are counted from the journal afterwards, so counting costs the run nothing; with
        // durability none there is no journal to count from.
        var tally = TradeTally()
        var events: [Event] = []
        if durability != .none {
            _ = try JournalReader.read(directory) { (entry) throws(JournalError) in
                var reader = ByteReader(entry.eventBytes)
                events.removeAll(keepingCapacity: true)
                do throws(DecodeError) {
                    while reader.remaining > 0 { events.append(try reader.readEvent()) }
                } catch {
                    throw .undecodable(file: directory, offset: reader.offset, error)
                }
                tally.add(events)
            }
        }
        let tradesJSON = durability == .none ? #""trades":null,"traded_qty":null,"notional":null"#
            : #""trades":\#(tally.trades),"traded_qty":\#(tally.quantity),"notional":"\#(tally.notionalDollars)""#
        print(#"{"mode":"journal","durability":"\#(durability.rawValue)","rate":\#(rate),"flow":"\#(flowName)","ops":\#(all.count),"seconds":\#(String(format: "%.4f", seconds)),"ops_per_sec":\#(Int(throughput)),"batches":\#(sequences.count),"overloaded_retries":\#(overloaded),"last_sequence":\#(last),\#(tradesJSON),"resting_orders":\#(sequencer.stoppedEngine.restingOrderCount),"mix":\#(mixJSON),"latency_ns":\#(LatencySummary(latencies).json)\#(publicationJSON)}"#)
    }

    /// Builds a deep book of `orders` resting orders, snapshots it, and times recovery from the
    /// snapshot: reading, checksum, decoding, rebuilding the books and checking the state hash.
    private func measureRestart(orders: Int) throws {
        guard orders > 0 else { throw ValidationError("--restart needs at least one order") }
        var flow = OrderFlow(shape: .init(name: "restart", symbols: 1, restingTarget: orders, levels: 100,
                                          cancelPercent: 0, iocPercent: 0), seed: seed)
        let engine = MatchingEngine()
        var sequence: UInt64 = 0
        for command in flow.setup() + flow.fill() {
            sequence += 1
            _ = engine.process(SequencedCommand(sequence: sequence, time: Timestamp(nanos: Int64(sequence)), command: command))
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bourse-restart-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writeStart = monotonicNanos()
        try Snapshots.write(engine, sequence: sequence, directory: directory)
        let writeSeconds = Double(monotonicNanos() - writeStart) / 1e9
        let bytes = try Snapshots.list(directory).first.map { (try FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) ?? 0 } ?? 0
        var times: [Double] = []
        var resting = 0
        for _ in 0..<max(1, runs) {
            let start = monotonicNanos()
            let (restored, report) = try Recovery.recover(directory: directory, repair: false)
            times.append(Double(monotonicNanos() - start) / 1e9)
            guard report.snapshot?.sequence == sequence, restored.stateHash() == engine.stateHash() else {
                throw ValidationError("the restored state differs from the snapshotted one")
            }
            resting = restored.restingOrderCount
        }
        print(#"{"mode":"restart","resting_orders":\#(resting),"snapshot_bytes":\#(bytes),"write_seconds":\#(String(format: "%.3f", writeSeconds)),"restart_seconds":\#(String(format: "%.3f", median(times))),"restart_seconds_runs":[\#(times.map { String(format: "%.3f", $0) }.joined(separator: ","))]}"#)
    }

    private func timerOverhead() -> Int64 {
        var samples: [Int64] = []
        for _ in 0..<10_000 {
            let a = monotonicNanos()
            samples.append(monotonicNanos() - a)
        }
        return LatencySummary(samples).p50
    }
}

extension Durability: ExpressibleByArgument {}

/// Trades, quantity and notional (exact, in 1/10,000 dollar) counted from events.
struct TradeTally {
    var trades = 0
    var quantity: Int64 = 0
    var notionalUnits: Int128 = 0
    /// Orders rejected (by validation or risk).
    var rejected = 0

    mutating func add(_ events: [Event]) {
        for event in events {
            switch event {
            case .trade(let t):
                trades += 1
                quantity += t.quantity.shares
                notionalUnits += Int128(t.price.units) * Int128(t.quantity.shares)
            case .orderRejected:
                rejected += 1
            default:
                break
            }
        }
    }

    var notionalDollars: String {
        let whole = notionalUnits / 10_000
        var fraction = String(notionalUnits % 10_000)
        fraction = String(repeating: "0", count: 4 - fraction.count) + fraction
        return "\(whole).\(fraction)"
    }
}

/// Durable watermarks with the time each was reached, recorded on the sequencer thread.
final class DurableMarks: @unchecked Sendable {
    private let lock = NSLock()
    private var sequences: [UInt64] = []
    private var times: [Int64] = []

    init(capacity: Int) {
        sequences.reserveCapacity(capacity)
        times.reserveCapacity(capacity)
    }

    func record(_ sequence: UInt64) {
        let now = monotonicNanos()
        lock.lock()
        sequences.append(sequence)
        times.append(now)
        lock.unlock()
    }

    var values: ([UInt64], [Int64]) {
        lock.lock()
        defer { lock.unlock() }
        return (sequences, times)
    }
}
