/// Where a venue's log lives on Kafka, as given on the command line:
/// `kafka://HOST:PORT[,HOST:PORT…][/PREFIX][?partitions=N&replication=N&retention_ms=N]`.
/// The prefix names the venue's topics (`bourse` when none is given); the options are used when a topic is
/// created and checked against one that exists. Any other option is refused by name.
public struct KafkaLocation: Sendable, Equatable, CustomStringConvertible {
    public static let partitionsMax: Int32 = 1_024
    public static let prefixBytesMax = 100

    public var brokers: String
    public var prefix = "bourse"
    public var partitions: Int32 = 8
    /// -1: the broker's default.
    public var replication: Int16 = -1
    public var retentionMs: Int64?

    public var description: String { "kafka://\(brokers)/\(prefix)" }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String) -> Result<KafkaLocation, Invalid> {
        func invalid(_ why: String) -> Result<KafkaLocation, Invalid> { .failure(Invalid(description: "\(text): \(why)")) }
        guard text.hasPrefix("kafka://") else { return invalid("a Kafka log is named kafka://HOST:PORT[/PREFIX]") }
        var rest = Substring(text.dropFirst("kafka://".count))
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        let brokers = rest.split(separator: ",", omittingEmptySubsequences: false)
        guard !brokers.isEmpty else { return invalid("no broker") }
        for broker in brokers {
            guard let colon = broker.lastIndex(of: ":"), !broker[..<colon].isEmpty,
                  let port = Int(broker[broker.index(after: colon)...]), (1...65_535).contains(port) else {
                return invalid("broker \"\(broker)\" is not HOST:PORT")
            }
        }
        var location = KafkaLocation(brokers: String(rest))
        if !path.isEmpty {
            guard path.count <= prefixBytesMax, path.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                return invalid("the topic prefix may hold at most \(prefixBytesMax) letters, digits, '-', '_' and '.'")
            }
            location.prefix = String(path)
        }
        for option in query.split(separator: "&") {
            let parts = option.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return invalid("option \"\(option)\" is not NAME=VALUE") }
            switch parts[0] {
            case "partitions":
                guard let n = Int32(parts[1]), (1...partitionsMax).contains(n) else { return invalid("partitions must be from 1 to \(partitionsMax)") }
                location.partitions = n
            case "replication":
                guard let n = Int16(parts[1]), n >= 1 else { return invalid("replication must be a positive count") }
                location.replication = n
            case "retention_ms":
                guard let n = Int64(parts[1]), n >= -1 else { return invalid("retention_ms must be -1 (forever) or a count of milliseconds") }
                location.retentionMs = n
            default:
                return invalid("unknown option \(parts[0]); known: partitions, replication, retention_ms")
            }
        }
        return .success(location)
    }

    /// Settings of the topics the venue creates.
    var topicSettings: [(String, String)] {
        retentionMs.map { [("retention.ms", String($0))] } ?? []
    }
}
