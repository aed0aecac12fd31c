import BourseCore
import Hummingbird

/// A query parameter a route takes: its name, what its value may be, and what it does. The route table
/// refuses a request with any other parameter, a repeated one or a value of the wrong kind, naming it,
/// before the handler runs; the same list describes the parameter in `/openapi.json`.
struct Parameter: Sendable {
    enum Kind: Sendable {
        case text
        case integer(ClosedRange<Int>)
        /// `true` or `false` (Python's `True` and `False` too, as `requests` writes them).
        case boolean
        /// An RFC 3339 time or a date (`API.parseTime`).
        case time
        /// A date as YYYY-MM-DD.
        case date
        case choice([String])
        /// Comma-separated words, at most `listMax`.
        case list
        /// A parameter Alpaca defines that Bourse does not support: any value is refused with this reason.
        case unsupported(String)
    }

    var name: String
    var kind: Kind
    var summary: String

    init(_ name: String, _ kind: Kind, _ summary: String) {
        self.name = name
        self.kind = kind
        self.summary = summary
    }

    /// Words a list may hold; more is refused.
    static let listMax = 200

    static func limit(default value: Int, max: Int) -> Parameter {
        Parameter("limit", .integer(1...max), "At most this many, from 1 to \(max) (default \(value))")
    }

    /// What is wrong with `value` for this parameter, as a sentence; nil when it is fine.
    func problem(_ value: String) -> String? {
        switch kind {
        case .text:
            return value.utf8.count <= 1_024 ? nil : "\(name) is longer than 1,024 bytes"
        case .integer(let range):
            guard let n = Int(value), range.contains(n), value.utf8.allSatisfy({ (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-") }) else {
                return "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(value)\""
            }
            return nil
        case .boolean:
            return Query.boolean(value) != nil ? nil : "\(name) must be true or false, not \"\(value)\""
        case .time:
            return API.parseTime(value) != nil ? nil : "\(name) must be \(API.timeDescription), not \"\(value)\""
        case .date:
            return CivilDate(value) != nil ? nil : "\(name) must be \(CivilDate.supportedDescription), not \"\(value)\""
        case .choice(let options):
            return options.contains(value) ? nil : "\(name) must be \(Self.either(options)), not \"\(value)\""
        case .list:
            let words = value.split(separator: ",", omittingEmptySubsequences: false)
            guard words.count <= Self.listMax else { return "\(name) lists \(words.count) values; at most \(Self.listMax)" }
            return words.contains(where: \.isEmpty) ? "\(name) has an empty value in \"\(value)\"" : nil
        case .unsupported(let reason):
            return "\(name) is not supported: \(reason)"
        }
    }

    /// "a, b or c".
    static func either(_ options: [String]) -> String {
        options.count < 2 ? options.joined() : options.dropLast().joined(separator: ", ") + " or " + options.last!
    }
}

/// A request's query, once the route table has checked it against the route's parameters: each
/// accessor reads a value that is known to be of its kind.
struct Query: Sendable {
    let values: [String: String]

    init(_ request: Request) {
        var values: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { values[String(key)] = String(value) }
        self.values = values
    }

    /// The first thing wrong with the request's query for a route taking `parameters`: an unknown or
    /// repeated parameter, or a value of the wrong kind.
    static func problem(_ request: Request, _ parameters: [Parameter], route: String) -> String? {
        var seen = Set<String>()
        for (key, value) in request.uri.queryParameters {
            let name = String(key)
            guard let parameter = parameters.first(where: { $0.name == name }) else {
                let known = parameters.isEmpty ? "it takes none" : "it takes " + Parameter.either(parameters.map(\.name))
                return "\(name) is not a parameter of \(route): \(known)"
            }
            guard seen.insert(name).inserted else { return "\(name) is given more than once" }
            if let problem = parameter.problem(String(value)) { return problem }
        }
        return nil
    }

    subscript(_ name: String) -> String? { values[name] }
    func integer(_ name: String) -> Int? { values[name].flatMap { Int($0) } }
    func boolean(_ name: String) -> Bool? { values[name].flatMap(Self.boolean) }
    func time(_ name: String) -> Int64? { values[name].flatMap(API.parseTime) }
    func date(_ name: String) -> CivilDate? { values[name].flatMap { CivilDate($0) } }
    func list(_ name: String) -> [String]? { values[name].map { $0.split(separator: ",").map(String.init) } }

    static func boolean(_ text: String) -> Bool? {
        switch text {
        case "true", "True": true
        case "false", "False": false
        default: nil
        }
    }
}
