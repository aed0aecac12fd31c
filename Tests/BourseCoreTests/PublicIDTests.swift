import BourseCore
import Testing

@Suite("public ids")
struct PublicIDTests {
    @Test("an order's, an account's and an asset's UUID name it and nothing else, for any id")
    func roundTrip() throws {
        var random = SplitMix64(seed: 16)
        for value in [0, 1, UInt64(1) << 48, UInt64.max] + (0..<2_000).map({ _ in random.next() }) {
            let uuid = OrderID(value).uuid
            #expect(uuid.count == 36 && OrderID(uuid: uuid) == OrderID(value) && OrderID(uuid: uuid.uppercased()) == OrderID(value))
            // The form Alpaca's clients validate: 8-4-4-4-12 hex, version 8, RFC 9562's variant.
            let groups = uuid.split(separator: "-")
            #expect(groups.map(\.count) == [8, 4, 4, 4, 12] && groups[2].first == "8" && groups[3].first == "8")
            #expect(AccountID(uuid: uuid) == nil && Symbol(uuid: uuid) == nil)
        }
        #expect(OrderID(1234).uuid == "0b0a5e01-0000-8000-8000-0000000004d2")
        #expect(AccountID(7).uuid == "0b0a5e02-0000-8000-8000-000000000007" && AccountID(uuid: AccountID(7).uuid) == AccountID(7))
        let brk = try Symbol(validating: "BRK.B")
        #expect(Symbol(uuid: brk.uuid) == brk)
        for text in ["", "1234", "0b0a5e01-0000-8000-8000-0000000004d", "0b0a5e01-0000-8000-8000-0000000004dg",
                     "0b0a5e01-0000-4000-8000-0000000004d2", "0b0a5e01_0000-8000-8000-0000000004d2"] {
            #expect(OrderID(uuid: text) == nil, "\(text)")
        }
        // An account's id has 32 bits: a UUID beyond them names no account.
        #expect(AccountID(uuid: PublicID.uuid(.account, UInt64(UInt32.max) + 1)) == nil)
    }

    @Test("an account number is 1 to 20 letters, digits and hyphens, and reads back as given")
    func accountNumbers() {
        for text in ["1", "ACC1", "PA3KMSKP7U7Q", "901-852-049", String(repeating: "Z", count: 20)] {
            #expect(AccountNumber(text)?.text == text, "\(text)")
        }
        #expect(AccountNumber.problem("") == "an account number has 1 to 20 characters, this one has 0")
        #expect(AccountNumber.problem(String(repeating: "1", count: 21)) == "an account number has 1 to 20 characters, this one has 21")
        #expect(AccountNumber.problem("ACC 1") == "an account number holds only A-Z, a-z, 0-9 and '-', not \"ACC 1\"")
        #expect(AccountNumber(defaultFor: AccountID(42)).text == "42")
        #expect(AccountNumber("A")! < AccountNumber("AB")! && AccountNumber("AB")! < AccountNumber("B")!)
    }
}
