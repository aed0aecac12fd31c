import BourseCore
import BoursePostTrade
import Testing

@Suite("the audit chain")
struct AuditChainTests {
    let day = CivilDate("2026-10-09")!

    func chain(_ count: Int) -> [AuditChain.Record] {
        var records: [AuditChain.Record] = []
        for i in 0..<count {
            records.append(AuditChain.append(after: records.last, businessDate: day, kind: i % 2 == 0 ? "trade.captured" : "trade.settled",
                                             body: Array(#"{"trade":"T-\#(i)","qty":"100"}"#.utf8)))
        }
        return records
    }

    @Test("an unbroken chain verifies, whole or from a record on")
    func unbroken() {
        let records = chain(50)
        #expect(AuditChain.verify(records) == nil)
        #expect(AuditChain.verify(records[20...], from: 21, previous: records[19].hash) == nil)
        #expect(records[0].previous == AuditChain.genesis && records[1].previous == records[0].hash)
    }

    @Test("given a record whose body was changed, when the chain is verified, then that record is named")
    func changedBody() {
        var records = chain(50)
        records[17].body = Array(#"{"trade":"T-17","qty":"900"}"#.utf8)
        #expect(AuditChain.verify(records) == AuditChain.Break(number: 18, reason: "its hash does not match its contents (it was changed after it was written)"))
    }

    @Test("a record changed and resealed breaks the link of the next one, which is named")
    func resealed() {
        var records = chain(50)
        records[17] = AuditChain.append(after: records[16], businessDate: day, kind: "trade.captured", body: Array("forged".utf8))
        #expect(AuditChain.verify(records)?.number == 19)
        #expect(AuditChain.verify(records)?.reason == "it names a previous hash the record before it does not have (one of them was changed)")
    }

    @Test("a record removed, two swapped, a date or a kind changed: each is found at the first record affected")
    func otherTampering() {
        var removed = chain(10)
        removed.remove(at: 4)
        #expect(AuditChain.verify(removed) == AuditChain.Break(number: 6, reason: "record 5 is missing before it"))
        var swapped = chain(10)
        swapped.swapAt(3, 4)
        #expect(AuditChain.verify(swapped) == AuditChain.Break(number: 5, reason: "record 4 is missing before it"))
        var redated = chain(10)
        redated[6].businessDate = CivilDate("2026-10-13")!
        #expect(AuditChain.verify(redated)?.number == 7)
        var rekinded = chain(10)
        rekinded[2].kind = "trade.cancelled"
        #expect(AuditChain.verify(rekinded)?.number == 3)
    }

    @Test("fields are length-prefixed: moving bytes between kind and body changes the hash")
    func unambiguous() {
        let one = AuditChain.append(after: nil, businessDate: day, kind: "ab", body: Array("c".utf8))
        let two = AuditChain.append(after: nil, businessDate: day, kind: "a", body: Array("bc".utf8))
        #expect(one.hash != two.hash)
    }
}
