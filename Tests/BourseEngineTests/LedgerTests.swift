import BourseCore
import BourseEngine
import Testing

@Suite("the ledger")
struct LedgerTests {
    @Test("a fill posts one balanced transaction per side; statements carry running balances")
    func postingsAndStatements() {
        let v = Given(rules: referenced, accounts: true)
        v.when(.setFees(v.symbol, FeeSchedule(makerPerShare: Money(units: -20), takerPerShare: Money(units: 30))))
        var ledger = Ledger()
        func run(_ command: Command) { for e in v.when(command) { ledger.apply(e) } }
        run(.openAccount(AccountID(1), AccountNumber(defaultFor: AccountID(1)), AccountTerms(kind: .cash)))
        run(.openAccount(AccountID(2), AccountNumber(defaultFor: AccountID(2)), AccountTerms(kind: .cash)))
        run(.deposit(AccountID(1), money("1000")))
        run(.transferIn(AccountID(2), v.symbol, Quantity(100), costPerShare: Price(dollars: "9")!))
        run(.newOrder(v.sell(1, "10.00", qty: 50, account: 2)))
        let fill = v.when(.newOrder(v.buy(2, "10.00", qty: 50, account: 1)))
        let posted = fill.flatMap { ledger.apply($0) }
        #expect(posted.count == 2 && posted.allSatisfy(\.isBalanced))
        #expect(posted.map(\.kind) == [.fill(ExecutionID(1), .buy), .fill(ExecutionID(1), .sell)])
        run(.withdraw(AccountID(1), money("100")))

        // Buyer: 1,000 in, 500 + 0.15 taker fee out, 100 withdrawn.
        #expect(ledger.statement(AccountID(1), asset: .usd).map(\.balance)
                == [money("1000").units, money("499.85").units, money("399.85").units])
        #expect(ledger.statement(AccountID(1), asset: .shares(v.symbol)).map(\.balance) == [50])
        // Seller: shares in, 50 out; cash 500 plus the 0.10 rebate.
        #expect(ledger.statement(AccountID(2), asset: .shares(v.symbol)).map(\.balance) == [100, 50])
        #expect(ledger.balance(.customer(AccountID(2)), .usd) == money("500.10").units)
        #expect(ledger.balance(.venueFees, .usd) == money("0.05").units)
        #expect(ledger.balance(.clearing, .usd) == 0 && ledger.balance(.clearing, .shares(v.symbol)) == 0)
        #expect(ledger.assetTotals.values.allSatisfy { $0 == 0 })
        #expect(ledger.transactionCount == v.engine.ledgerTransactionCount)
        #expect(ledger.balance(.customer(AccountID(1)), .usd) == v.account(1).cash.units)
    }

    @Test("a statement keeps its newest lines past its limit and counts what it dropped")
    func boundedStatements() {
        var ledger = Ledger(linesPerAccountMax: 3)
        for i in 1...5 { ledger.apply(.cashDeposited(AccountID(7), Money(units: Int64(i)))) }
        #expect(ledger.statement(AccountID(7)).map(\.balance) == [6, 10, 15])
        #expect(ledger.droppedLines[AccountID(7)] == 2)
    }
}
