import BourseCore
import BourseEngine
import BourseJournal
import BourseTestSupport
import Foundation

/// A journal written from a seeded stream, with what the writing engine knew at each step.
struct JournalFixture {
    let directory: String
    /// The state hash of the writing engine after each sequence (index 0: before the first).
    var hashes: [UInt64] = []
    var commands: [SequencedCommand] = []
    /// For each sequence, the end offset of its entry in the segment that holds it, and that segment.
    var entryEnds: [(segment: String, offset: Int)] = []

    /// Journals `count` commands of a seeded stream in batches of 1 to 16.
    init(seed: UInt64, count: Int, segmentBytesMax: Int = 64 << 20, durability: Durability = .os) throws {
        directory = makeTemporaryDirectory()
        var stream = CommandStream(seed: seed)
        let engine = MatchingEngine()
        let writer = try JournalWriter(directory: directory, durability: durability, lastSequence: 0,
                                       segmentBytesMax: segmentBytesMax)
        hashes.append(engine.stateHash())
        var rng = SplitMix64(seed: seed ^ 0xBA7C)
        var pending = stream.opening()
        var events: [Event] = []
        while commands.count < count {
            let batch = Int.random(in: 1...16, using: &rng)
            for _ in 0..<batch where commands.count < count {
                let command = pending.isEmpty ? stream.next() : pending.removeFirst()
                events.removeAll()
                engine.process(command, into: &events)
                writer.append(command, events)
                commands.append(command)
                hashes.append(engine.stateHash())
            }
            try writer.commit(through: commands.last!.sequence)
        }
        try locateEntries()
    }

    /// Finds where each entry ends by reading the segments' frames.
    private mutating func locateEntries() throws {
        for segment in try JournalReader.segments(in: directory) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: segment.path))
            var offset = 20
            while offset + 12 <= bytes.count {
                let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
                offset += 12 + length
                entryEnds.append((segment.path, offset))
            }
        }
    }

    var lastSegment: String { entryEnds.last!.segment }

    func copy() throws -> String {
        let target = makeTemporaryDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            try FileManager.default.copyItem(atPath: directory + "/" + name, toPath: target + "/" + name)
        }
        return target
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

func fileSize(_ path: String) -> Int {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
}

func truncateFile(_ path: String, to length: Int) {
    let handle = FileHandle(forWritingAtPath: path)!
    try! handle.truncate(atOffset: UInt64(length))
    try! handle.close()
}

func flipByte(_ path: String, at offset: Int) {
    var bytes = try! Data(contentsOf: URL(fileURLWithPath: path))
    bytes[offset] ^= 0x5A
    try! bytes.write(to: URL(fileURLWithPath: path))
}
