import BourseCore
@testable import BourseEngine
import Testing

@Suite("price levels of one side")
struct SideLevelsTests {
    /// Random inserts, removes and lookups against a sorted array, on both sides, at every size from
    /// empty to a few hundred levels: the branch-free search must find every level and no other.
    @Test("the search agrees with a sorted array", arguments: [true, false])
    func searchAgreesWithSortedArray(isBid: Bool) {
        var levels = SideLevels(isBid: isBid)
        defer { levels.deallocate() }
        var model: [Int64] = []  // prices present, in the side's key order
        var random = SplitMix64(seed: isBid ? 7 : 11)
        func key(_ price: Int64) -> Int64 { isBid ? price : -price }
        func draw(_ n: Int64) -> Int64 { Int64(random.next() % UInt64(n)) }
        for step in 0..<20_000 {
            // Extreme prices as well as near ones, so that keys of both signs and far apart are searched.
            let price = draw(20) == 0 ? draw(Price.max.units) + 1 : 10_000 + draw(400)
            let present = model.contains(price)
            // Grow to about 300 levels, then hover there.
            if !present, model.count < 300 || draw(2) == 0 {
                levels.insert(price: price, handle: Int32(truncatingIfNeeded: price & 0x7fff_ffff))
                model.append(price)
                model.sort { key($0) < key($1) }
            } else if present, draw(3) == 0 {
                levels.remove(price: price)
                model.removeAll { $0 == price }
            }
            #expect(levels.count == model.count)
            #expect(levels.keys.map { isBid ? $0 : -$0 } == model, "step \(step)")
            let probe = draw(2) == 0 && !model.isEmpty ? model[Int(draw(Int64(model.count)))] : 10_000 + draw(400)
            let expected = model.firstIndex { key($0) >= key(probe) } ?? model.count
            #expect(levels.lowerBound(key(probe)) == expected, "step \(step): lower bound of \(probe)")
            let found = levels.find(probe)
            #expect((found != nil) == model.contains(probe), "step \(step): find \(probe)")
            if let found { #expect(found == Int32(truncatingIfNeeded: probe & 0x7fff_ffff)) }
        }
    }
}
