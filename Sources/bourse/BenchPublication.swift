import ArgumentParser
import BourseKafka
import BourseNode
import CoreMetrics
import Foundation
import Synchronization

/// `bench --journal --kafka`: the journal publisher on the benchmark's sequencer, its lag kept sample by
/// sample (the node keeps it as a histogram).
final class BenchPublication {
    let publisher: JournalPublisher
    let lags: LagSamples

    private init(publisher: JournalPublisher, lags: LagSamples) {
        self.publisher = publisher
        self.lags = lags
    }

    static func attach(_ url: String, journal: String, keepsAccounts: Bool, to sequencer: Sequencer) throws -> BenchPublication {
        let location: KafkaLocation
        switch KafkaLocation.parse(url) {
        case .success(let l): location = l
        case .failure(let invalid): throw ValidationError("--kafka: \(invalid)")
        }
        let lags = LagSamples()
        let publisher = JournalPublisher(location: location, journal: journal, keepsAccounts: keepsAccounts,
                                         log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }, metrics: lags)
        do { try publisher.open() } catch { throw ValidationError("--kafka \(location): \(error)") }
        sequencer.add(publisher.consumer)
        publisher.start()
        return BenchPublication(publisher: publisher, lags: lags)
    }

    /// Waits for the publisher to send what the stopped sequencer gave it; the JSON members to report.
    func finish() -> String {
        let waited = monotonicNanos()
        publisher.waitUntilFinished()
        let status = publisher.currentStatus
        let drain = Double(monotonicNanos() - waited) / 1e6
        return #""kafka":{"published":\#(status.published),"transactions":\#(status.transactions),"failures":\#(status.failures),"drain_ms":\#(String(format: "%.1f", drain)),"lag_ns":\#(LatencySummary(lags.samples).json)}"#
    }
}

/// A metrics factory that keeps every value of `bourse_kafka_lag_seconds` and drops the rest.
final class LagSamples: MetricsFactory, @unchecked Sendable {
    private let values = Mutex<[Int64]>([])
    var samples: [Int64] { values.withLock { $0 } }

    final class Kept: TimerHandler, @unchecked Sendable {
        let owner: LagSamples?
        init(_ owner: LagSamples?) { self.owner = owner }
        func recordNanoseconds(_ duration: Int64) { owner?.values.withLock { $0.append(duration) } }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { NOOPMetricsHandler.instance }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler { NOOPMetricsHandler.instance }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { NOOPMetricsHandler.instance }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        Kept(label == "bourse_kafka_lag_seconds" ? self : nil)
    }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
