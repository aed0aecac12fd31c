import BourseCore
import BourseEngine

/// The risk platform's clock, outside the engine: every interval it asks the engine whether a mark would
/// fix any price other than the last mark's, and if so sends a mark through the sequencer, so that marks
/// follow a moving market and a quiet one adds nothing to the journal. Close marks come from the
/// scheduler (at the session's close and before each rollover) and from operators.
public struct MarkClock: Sendable {
    let marks: MarkSource
    let interval: Duration

    public init(node: DataDirectory.Node) {
        marks = node.marks
        interval = .milliseconds(node.riskRules.markIntervalMilliseconds)
    }

    public func run() async {
        while !Task.isCancelled {
            _ = try? await tick()
            try? await Task.sleep(for: interval)
        }
    }

    /// Marks if prices moved; returns whether it did.
    @discardableResult
    public func tick() async throws -> Bool { try await marks.markIfMoved() }
}
