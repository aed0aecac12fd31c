import BourseCore
import BourseEngine
import BourseTestSupport
import Testing

/// Journals between accounts and bank transfers: what may leave an account, the steps of a transfer, and
/// conservation of every asset.
@Suite("journals and transfers")
struct FundingSpecs {
    let a1 = AccountID(1), a2 = AccountID(2)

    /// Account 1 with $1,000 and a resting buy of 10 XYZ at $10 holding $100 (and its fee estimate, none here).
    func withHold() -> Given {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "1000")
        v.open(2)
        v.when(.newOrder(v.buy(1, "10.00", qty: 10)))
        #expect(v.account(1).cashHold == money("100"))
        return v
    }

    @Test("given $900 free of holds, a withdrawal of $900.0001 is refused and changes nothing; one of $900 is queued")
    func withdrawalAtTheEdge() {
        let v = withHold()
        let above = v.when(.requestTransfer(TransferRequest(account: a1, direction: .outgoing, amount: money("900.0001"))))
        #expect(above == [.commandRejected(.insufficientCash(needs: money("900.0001"), available: money("900")))])
        #expect(v.account(1).cash == money("1000"))
        let at = v.when(.requestTransfer(TransferRequest(account: a1, direction: .outgoing, amount: money("900"))))
        #expect(at == [.transferChanged(1, TransferRequest(account: a1, direction: .outgoing, amount: money("900")), .queued, .none)])
        #expect(v.account(1).cash == money("100") && v.engine.transitCashBalance == money("900"))
        // The immediate withdrawal an operator makes follows the same rule.
        #expect(v.when(.withdraw(a1, money("0.0001"))) == [.commandRejected(.insufficientCash(needs: money("0.0001"), available: .zero))])
    }

    @Test("given a queued withdrawal, cancelling returns its cash; a sent one cannot be cancelled, and completing sends it out")
    func outgoingSteps() {
        let v = Given(accounts: true)
        v.open(1, cash: "500")
        let request = TransferRequest(account: a1, direction: .outgoing, amount: money("200"))
        v.when(.requestTransfer(request))
        let first: UInt64 = 1
        #expect(v.when(.advanceTransfer(first, .canceled)) == [.transferChanged(first, request, .canceled, .requester)])
        #expect(v.account(1).cash == money("500") && v.engine.transitCashBalance == .zero)
        #expect(v.when(.advanceTransfer(first, .complete)) == [.commandRejected(.unknownTransfer(first))])

        v.when(.requestTransfer(request))
        let second: UInt64 = 2
        #expect(v.when(.advanceTransfer(second, .sent)) == [.transferChanged(second, request, .sent, .none)])
        #expect(v.when(.advanceTransfer(second, .canceled)) == [.commandRejected(.transferStatus(second, from: .sent, to: .canceled))])
        #expect(v.when(.advanceTransfer(second, .complete)) == [.transferChanged(second, request, .complete, .none)])
        #expect(v.account(1).cash == money("300") && v.engine.outsideCashBalance.units == -money("300").units)
    }

    @Test("given an incoming transfer, the account is credited only when it completes, and not at all when the bank rejects it")
    func incomingSteps() {
        let v = Given(accounts: true)
        v.open(1)
        let request = TransferRequest(account: a1, direction: .incoming, amount: money("250.5"))
        v.when(.requestTransfer(request))
        let first: UInt64 = 1
        #expect(v.account(1).cash == .zero)
        v.when(.advanceTransfer(first, .sent))
        #expect(v.account(1).cash == .zero)
        #expect(v.when(.advanceTransfer(first, .complete)) == [.transferChanged(first, request, .complete, .none)])
        #expect(v.account(1).cash == money("250.5"))
        v.when(.requestTransfer(request))
        #expect(v.when(.advanceTransfer(2, .rejected)) == [.transferChanged(2, request, .rejected, .bank)])
        #expect(v.account(1).cash == money("250.5"))
    }

    @Test("the simulated bank moves a transfer one step per delay on its clock, and a restored engine carries pending transfers on")
    func simulatedBank() throws {
        let v = Given(accounts: true)
        v.open(1, cash: "100")
        let request = TransferRequest(account: a1, direction: .outgoing, amount: money("40"), bankStepSeconds: 2)
        v.when(.requestTransfer(request), at: 10_000_000_000)
        let id: UInt64 = 1
        #expect(v.engine.nextTransferDue == Timestamp(nanos: 12_000_000_000))
        #expect(v.when(.advanceTransfers, at: 11_999_999_999).isEmpty)
        #expect(v.when(.advanceTransfers, at: 12_000_000_000) == [.transferChanged(id, request, .sent, .none)])
        let restored = try restored(v.engine)
        #expect(restored.stateHash() == v.engine.stateHash())
        #expect(restored.pendingTransfer(id)?.status == .sent)
        #expect(v.when(.advanceTransfers, at: 14_000_000_000) == [.transferChanged(id, request, .complete, .none)])
        #expect(v.engine.nextTransferDue == nil && v.account(1).cash == money("60"))
    }

    @Test("an account with a pending transfer, or holding a position, cannot close; the reason says which")
    func closing() {
        let v = Given(accounts: true)
        v.open(1, shares: 5)
        #expect(v.when(.closeAccount(a1)) == [.commandRejected(.accountNotEmpty(a1))])
        v.open(2)
        v.when(.requestTransfer(TransferRequest(account: a2, direction: .incoming, amount: money("1"))))
        #expect(v.when(.closeAccount(a2)) == [.commandRejected(.transfersPending(a2))])
        v.when(.advanceTransfer(1, .rejected))
        #expect(v.when(.closeAccount(a2)) == [.accountClosed(a2)])
    }

    @Test("a cash journal moves exactly what is free of holds: a hundredth of a cent more is refused")
    func cashJournal() {
        let v = withHold()
        let above = Journal(from: a1, to: a2, asset: .cash(money("900.0001")))
        #expect(v.when(.journal(above)) == [.commandRejected(.insufficientCash(needs: money("900.0001"), available: money("900")))])
        let at = Journal(from: a1, to: a2, asset: .cash(money("900")))
        #expect(v.when(.journal(at)) == [.journalPosted(at, basis: .zero)])
        #expect(v.account(1).cash == money("100") && v.account(2).cash == money("900"))
        #expect(v.when(.journal(Journal(from: a2, to: a2, asset: .cash(money("1"))))) == [.commandRejected(.journalToSelf(a2))])
    }

    @Test("a journal of shares an open sell order holds is refused; once cancelled, the shares move with their share of the basis")
    func sharesJournal() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, shares: 30)
        v.open(2)
        v.when(.newOrder(v.sell(1, "12.00", qty: 30)))
        let journal = Journal(from: a1, to: a2, asset: .shares(v.symbol, Quantity(10)))
        #expect(v.when(.journal(journal)) == [.commandRejected(.insufficientPosition(v.symbol, needs: Quantity(10), available: .zero))])
        v.when(v.cancel(1))
        #expect(v.when(.journal(journal)) == [.journalPosted(journal, basis: money("100"))])
        #expect(v.position(1)?.quantity == Quantity(20) && v.position(2)?.quantity == Quantity(10))
        #expect(v.position(2)?.costBasis == money("100") && v.position(1)?.costBasis == money("200"))
    }

    @Test("given a kill switch, the account is blocked until an operator makes it active again")
    func killSwitchUntilUnblocked() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "1000")
        v.when(.killSwitch(a1))
        #expect(v.account(1).state == .blocked)
        #expect(rejection(v.when(.newOrder(v.buy(1, "10.00", qty: 1))))?.code == "account_blocked")
        #expect(v.when(.setAccountState(a1, .active)) == [.accountStateChanged(a1, .active)])
        #expect(v.when(.newOrder(v.buy(2, "10.00", qty: 1))).first.map { if case .orderAccepted = $0 { true } else { false } } == true)
    }

    /// Over random streams of orders, fills, deposits, withdrawals, transfers and journals across six
    /// accounts: what the accounts, the venue's fees and the cash in transit hold together changes only by
    /// what crosses the venue's edge (completed transfers, deposits, withdrawals, shares moved in or out),
    /// and a journal changes no total and moves exactly its amount from one account to the other.
    @Test("every asset is conserved: journals change no total, and totals move only by completed transfers", arguments: [UInt64(1), 2, 3, 4])
    func conservation(seed: UInt64) {
        var stream = AccountStream(seed: seed)
        let engine = MatchingEngine(keepsAccounts: true)
        let symbols = stream.orders.symbols
        var journals = 0, completed = 0
        for command in stream.opening() + (0..<3_000).map({ _ in stream.next() }) {
            let before = Holdings(engine, symbols)
            let events = engine.process(command)
            let after = Holdings(engine, symbols)
            var crossed = Holdings.zero(symbols)
            for event in events {
                switch event {
                case .cashDeposited(_, let m): crossed.cash += Int128(m.units)
                case .cashWithdrawn(_, let m): crossed.cash -= Int128(m.units)
                case .securitiesTransferredIn(_, let s, let q, _): crossed.shares[s]! += Int128(q.shares)
                case .securitiesTransferredOut(_, let s, let q): crossed.shares[s]! -= Int128(q.shares)
                case .transferChanged(_, let request, .complete, _):
                    completed += 1
                    crossed.cash += Int128(request.direction == .incoming ? request.amount.units : -request.amount.units)
                case .journalPosted(let journal, _):
                    journals += 1
                    let (from, to) = (journal.from, journal.to)
                    switch journal.asset {
                    case .cash(let m):
                        #expect(after.accountCash[from]! == before.accountCash[from]! - m.units)
                        #expect(after.accountCash[to]! == before.accountCash[to]! + m.units)
                    case .shares(let s, let q):
                        #expect(after.accountShares[from]![s]! == before.accountShares[from]![s]! - q.shares)
                        #expect(after.accountShares[to]![s]! == before.accountShares[to]![s]! + q.shares)
                    }
                default: break
                }
            }
            #expect(after.cash - before.cash == crossed.cash, "cash at command \(command.sequence) \(command.command)")
            for s in symbols { #expect(after.shares[s]! - before.shares[s]! == crossed.shares[s]!, "\(s) at command \(command.sequence)") }
            // With the outside world, every asset sums to zero.
            #expect(after.cash + Int128(engine.outsideCashBalance.units) == 0)
            for s in symbols { #expect(after.shares[s]! + Int128(engine.outsideShares(s)?.shares ?? 0) == 0) }
        }
        #expect(journals > 20 && completed > 5, "the stream posted \(journals) journals and completed \(completed) transfers")
    }

    /// What the venue holds: every account's cash and shares, its fees and the cash in transit to banks.
    struct Holdings {
        var cash: Int128
        var shares: [Symbol: Int128]
        var accountCash: [AccountID: Int64] = [:]
        var accountShares: [AccountID: [Symbol: Int64]] = [:]

        static func zero(_ symbols: [Symbol]) -> Holdings {
            Holdings(cash: 0, shares: Dictionary(uniqueKeysWithValues: symbols.map { ($0, 0) }))
        }

        init(cash: Int128, shares: [Symbol: Int128]) {
            self.cash = cash
            self.shares = shares
        }

        init(_ engine: MatchingEngine, _ symbols: [Symbol]) {
            self = .zero(symbols)
            cash = Int128(engine.venueFeeBalance.units) + Int128(engine.transitCashBalance.units)
            for id in engine.accountIDs {
                let summary = engine.accountSummary(id)!
                cash += Int128(summary.cash.units)
                accountCash[id] = summary.cash.units
                accountShares[id] = Dictionary(uniqueKeysWithValues: symbols.map { ($0, 0) })
                for position in engine.positions(of: id) {
                    shares[position.symbol]! += Int128(position.quantity.shares)
                    accountShares[id]![position.symbol] = position.quantity.shares
                }
            }
        }
    }
}
