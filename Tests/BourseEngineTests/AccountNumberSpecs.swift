import BourseCore
import BourseEngine
import Testing

@Suite("account numbers")
struct AccountNumberSpecs {
    @Test("given an account numbered ACC1, when another opens with that number, then it is refused and nothing changes")
    func numbersAreUnique() throws {
        let engine = MatchingEngine(keepsAccounts: true)
        var sequence: UInt64 = 0
        func run(_ command: Command) -> [Event] {
            sequence += 1
            return engine.process(SequencedCommand(sequence: sequence, time: Timestamp(nanos: Int64(sequence)), command: command))
        }
        let acc1 = try #require(AccountNumber("ACC1"))
        #expect(run(.openAccount(AccountID(5), acc1, AccountTerms(kind: .cash))) == [.accountOpened(AccountID(5), acc1, AccountTerms(kind: .cash))])
        #expect(run(.openAccount(AccountID(6), acc1, AccountTerms(kind: .margin))) == [.commandRejected(.accountNumberTaken(acc1))])
        #expect(engine.account(number: acc1) == AccountID(5) && engine.accountSummary(AccountID(6)) == nil)
        #expect(engine.accountSummary(AccountID(5))?.number == acc1)

        // The number is part of the state: a snapshot carries it, and the restored engine refuses it too.
        let restored = try restored(engine)
        #expect(restored.account(number: acc1) == AccountID(5) && restored.accountSummary(AccountID(5))?.number == acc1)
        #expect(restored.process(SequencedCommand(sequence: 9, time: Timestamp(nanos: 9), command: .openAccount(AccountID(7), acc1, AccountTerms(kind: .cash))))
                == [.commandRejected(.accountNumberTaken(acc1))])
    }
}
