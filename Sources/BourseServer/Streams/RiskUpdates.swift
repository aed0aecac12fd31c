import BourseCore
import BourseRisk
import HummingbirdWebSocket

/// The `risk` stream of `/stream`: an account's figures pushed when they change, and for risk and admin
/// keys the firm's; conflated, so that a connection gets at most one message per account an interval,
/// with the figures as they then stand, however often the account traded or marks were taken.
struct RiskUpdates: Sendable {
    let risk: RiskProjection
    static let interval = Duration.milliseconds(250)
    /// Accounts one connection may follow.
    static let accountsMax = 1_000

    /// Writes until the connection ends or the task is cancelled.
    func run(accounts: [AccountID], firm: Bool, outbound: WebSocketOutboundWriter) async {
        var sent: [AccountID: UInt64] = [:]
        var firmSent: (RiskFigures, UInt64?)?
        while !Task.isCancelled {
            let messages = risk.read { book -> ([String], [AccountID: UInt64], (RiskFigures, UInt64?)?) in
                var out: [String] = [], now = sent, firmNow = firmSent
                for id in accounts {
                    guard let changed = book.figuresChangedAt(id), now[id] != changed, let (_, f) = book.account(id) else { continue }
                    out.append(#"{"stream":"risk","data":"# + RiskJSON.figures(f, of: book, account: id) + "}")
                    now[id] = changed
                }
                if firm {
                    let figures = book.firmFigures
                    if firmNow?.0 != figures || firmNow?.1 != book.mark?.sequence {
                        out.append(#"{"stream":"risk_firm","data":"# + RiskJSON.figures(figures, of: book) + "}")
                        firmNow = (figures, book.mark?.sequence)
                    }
                }
                return (out, now, firmNow)
            }
            (sent, firmSent) = (messages.1, messages.2)
            for message in messages.0 {
                do { try await outbound.write(.text(message)) } catch { return }
            }
            try? await Task.sleep(for: Self.interval)
        }
    }
}
