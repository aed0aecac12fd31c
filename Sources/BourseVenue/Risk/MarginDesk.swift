import BourseCore
import BourseNode
import BourseProjections
import BourseRisk

/// The risk desk's margin calls: after each mark it reads the figures (once the risk projection has
/// applied everything the venue has journaled) and sends what they call for through the sequencer: a
/// call opened for an account below its house requirement, with its deadline; a call met once covered;
/// and, when calls are enforced, a liquidation after the deadline: the account's open orders cancelled
/// and closing market orders sent, largest positions first, each order noted with its call.
public struct MarginDesk: Sendable {
    let venue: Venue
    let risk: RiskProjection
    let projections: Projections
    let rules: VenueConfiguration.RiskRules
    let now: @Sendable () -> Int64

    public init(node: DataDirectory.Node, now: @escaping @Sendable () -> Int64 = wallClockNanos) {
        venue = node.venue
        risk = node.risk
        projections = node.projections
        rules = node.riskRules
        self.now = now
    }

    public func run() async {
        while !Task.isCancelled {
            _ = try? await tick()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// One pass; returns what it did, a line each.
    @discardableResult
    public func tick() async throws -> [String] {
        if let problem = await projections.wait("risk", for: try await venue.lastSequence()) { throw Failure(description: problem) }
        let t = now()
        let (actions, mark) = risk.read { ($0.marginActions(now: Timestamp(nanos: t), liquidate: rules.enforceMarginCalls), $0.mark?.sequence ?? 0) }
        var done: [String] = []
        for action in actions {
            switch action {
            case .open(let account, let deficit):
                let deadline = Timestamp(nanos: t + Int64(rules.marginCallDeadlineMinutes) * 60_000_000_000)
                let step = MarginCallStep(kind: .open, account: account, deficit: Money(units: deficit), mark: mark, deadline: deadline,
                                          reduceOnly: rules.enforceMarginCalls)
                if try await accepted(.marginCall(step)) { done.append("opened a margin call on account \(account.rawValue) for \(Money(units: deficit).grouped)") }
            case .met(let account):
                if try await accepted(.marginCall(MarginCallStep(kind: .met, account: account, mark: mark))) {
                    done.append("account \(account.rawValue) met its margin call")
                }
            case .liquidate(let account, let call, let closing):
                guard try await accepted(.marginCall(MarginCallStep(kind: .liquidating, account: account, mark: mark))) else { continue }
                let note = BrokerNote(actor: "risk", description: "liquidation for margin call \(call)").note
                for order in try await venue.openOrders(of: account) {
                    _ = try await venue.execute(.cancel(CancelOrder(orderID: order.orderID, account: account)), note: note)
                }
                for position in closing {
                    let order = NewOrder(orderID: venue.newOrderID(), account: account, symbol: position.symbol,
                                         side: position.quantity > 0 ? .sell : .buy, type: .market, timeInForce: .ioc,
                                         quantity: Quantity(abs(position.quantity)))
                    _ = try await venue.execute(.newOrder(order), note: note)
                }
                done.append("liquidating account \(account.rawValue) for margin call \(call): \(closing.count) closing order(s)")
            }
        }
        return done
    }

    /// Sends a step; false when the engine refused it (a call met meanwhile, say).
    private func accepted(_ command: Command) async throws -> Bool {
        let ack = try await venue.execute(command)
        if case .commandRejected? = ack.events.first { return false }
        return true
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }
}
