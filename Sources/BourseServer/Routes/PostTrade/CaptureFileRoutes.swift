import BourseCore
import BourseVenue
import Hummingbird

/// Trade files dropped into the data directory's `capture/inbox` (`/v1/admin/capture-files`): each file
/// with its counts, and each row's outcome, as its result file has them (risk, admin).
extension Routes {
    func addCaptureFiles(to table: RouteTable) {
        table.add(.get, "/v1/admin/capture-files", "Trade files taken from the inbox, newest first (risk, admin)", query: [
            Parameter("before", .integer(1...Int.max), "Only files with a smaller id"), .limit(default: 100, max: 1_000),
        ], answer: .list("CaptureFile")) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read the trade files")
                let query = Query(request)
                let files = try refusing { try node.files.files(before: query.integer("before").map(Int64.init), limit: query.integer("limit") ?? 100) }
                return Self.json(text: "[" + files.map(Self.file).joined(separator: ",") + "]")
            }
        }
        table.add(.get, "/v1/admin/capture-files/:id/rows", "What became of each row of a trade file, by line (risk, admin)", query: [
            Parameter("after_line", .integer(0...Int.max), "Only rows after this line"), .limit(default: 1_000, max: 10_000),
        ], answer: .list("CaptureFileRow")) { request, context in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read the trade files")
                let text = context.parameters.get("id") ?? ""
                guard let id = Int64(text), try refusing({ try node.files.file(id) }) != nil else { throw Failure.notFound("no trade file \(text)") }
                let query = Query(request)
                let rows = try refusing { try node.files.rows(of: id, afterLine: query.integer("after_line") ?? 0, limit: query.integer("limit") ?? 1_000) }
                return Self.json(text: "[" + rows.map { r in
                    #"{"line":\#(r.line),"trade_id":"# + API.quoted(r.tradeID) + #","status":"# + API.quoted(r.status)
                        + #","id":"# + API.quoted(r.id) + #","reason":"# + API.quoted(r.reason) + "}"
                }.joined(separator: ",") + "]")
            }
        }
    }

    static func file(_ f: FileCapture.FileRecord) -> String {
        #"{"id":\#(f.id),"name":"# + API.quoted(f.name) + #","digest":"# + API.quoted(f.digest) + #","bytes":\#(f.bytes),"state":"#
            + API.quoted(f.state) + #","reason":"# + API.quoted(f.reason)
            + #","rows":\#(f.rows),"captured":\#(f.captured),"queued":\#(f.queued),"refused":\#(f.refused),"received_at":"#
            + API.quoted(API.time(Timestamp(nanos: f.receivedAt))) + "}"
    }
}
