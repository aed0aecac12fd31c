/// A JSON value to write, for messages built outside the server (a projection's stored events): the few
/// kinds they hold, written with their members in the order given.
public indirect enum JSONText: Sendable {
    case string(String)
    case int(Int64)
    case null
    case uuid(String)
    /// An instant, written in RFC 3339.
    case time(Int64)
    case object([(String, JSONText)])

    public var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .string(let s), .uuid(let s): Self.quote(s, to: &out)
        case .int(let v): out += String(v)
        case .null: out += "null"
        case .time(let nanos): Self.quote(Timestamp(nanos: nanos).rfc3339, to: &out)
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                Self.quote(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    static func quote(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = Array("0123456789abcdef")
                out += "\\u00" + String(hex[Int(scalar.value >> 4)]) + String(hex[Int(scalar.value & 15)])
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
