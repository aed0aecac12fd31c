import BourseCore
import Testing

@Suite("short texts")
struct ShortTextTests {
    @Test("the order of words is the order of bytes, over random texts of 1 to 64 bytes sharing prefixes")
    func orderIsByteOrder() {
        var random = SplitMix64(seed: 5)
        let alphabet = Array("ABZaz09-_.~!".utf8)
        var texts: [ShortText] = []
        for _ in 0..<2_000 {
            // Short texts from a small alphabet, so that many share prefixes and lengths differ by a byte.
            let length = Int.random(in: 1...(Bool.random(using: &random) ? 3 : ShortText.bytesMax), using: &random)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &random)! }
            texts.append(ShortText(String(decoding: bytes, as: UTF8.self))!)
        }
        for _ in 0..<20_000 {
            let (a, b) = (texts.randomElement(using: &random)!, texts.randomElement(using: &random)!)
            #expect(a.precedes(b) == a.bytes.lexicographicallyPrecedes(b.bytes), "\(a) \(b)")
        }
        #expect(ShortText("AB")!.precedes(ShortText("AB!")!) && !ShortText("AB!")!.precedes(ShortText("AB")!))
    }
}
