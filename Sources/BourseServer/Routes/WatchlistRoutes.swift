import BourseCore
import BourseNode
import BourseVenue
import Hummingbird

/// The key's account's watchlists, by id or by name, as Alpaca's API keeps them.
extension Routes {
    func addWatchlists(to table: RouteTable, at mount: Mount) {
        table.add(.get, mount.prefix + "/watchlists", "The account's watchlists (without their assets)", answer: .list("Watchlist")) { request, context in
            try await handle(request, mount, context) { key in
                let lists = try watchlists.list(account: key.account)
                return Self.json(text: "[" + lists.map { API.watchlist($0, assets: nil) }.joined(separator: ",") + "]")
            }
        }
        table.add(.post, mount.prefix + "/watchlists", "Create a watchlist", body: Schema.watchlist, answer: .ok("Watchlist")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request, mount, context) { key in
                let change: WatchlistBody = try Self.decode(body)
                guard let name = change.name else { throw Failure.unprocessable("name is required") }
                let symbols = try await listed(change.symbols ?? [])
                return try await answer { try watchlists.create(account: key.account, name: name, symbols: symbols, now: wallClockNanos()) }
            }
        }
        for byName in [false, true] {
            let path = mount.prefix + (byName ? "/watchlists:by_name" : "/watchlists/:watchlist_id")
            let query = byName ? [Parameter("name", .text, "The watchlist's name (required)")] : []
            table.add(.get, path, "One watchlist with its assets", query: query, answer: .ok("Watchlist")) { request, context in
                try await handle(request, mount, context) { key in try await answer { try watchlist(key, request, context, byName) } }
            }
            table.add(.put, path, "Rename a watchlist or replace its symbols", query: query, body: Schema.watchlist,
                      answer: .ok("Watchlist")) { request, context in
                var request = request
                let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
                return try await handle(request, mount, context) { key in
                    let change: WatchlistBody = try Self.decode(body)
                    var symbols: [Symbol]?
                    if let names = change.symbols { symbols = try await listed(names) }
                    let id = try watchlist(key, request, context, byName).id
                    return try await answer { try watchlists.update(id, account: key.account, name: change.name, symbols: symbols, now: wallClockNanos()) }
                }
            }
            table.add(.post, path, "Add a symbol", query: query, body: .object([("symbol", .string)]), answer: .ok("Watchlist")) { request, context in
                var request = request
                let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
                return try await handle(request, mount, context) { key in
                    let change: SymbolBody = try Self.decode(body)
                    let symbol = try await listed([change.symbol])[0]
                    let id = try watchlist(key, request, context, byName).id
                    return try await answer { try watchlists.add(symbol, to: id, account: key.account, now: wallClockNanos()) }
                }
            }
            table.add(.delete, path, "Delete a watchlist", query: query, answer: .noContent) { request, context in
                try await handle(request, mount, context) { key in
                    let id = try watchlist(key, request, context, byName).id
                    try refusing { try watchlists.delete(id, account: key.account) }
                    return Response(status: .noContent)
                }
            }
        }
        table.add(.delete, mount.prefix + "/watchlists/:watchlist_id/:symbol", "Remove a symbol from a watchlist", answer: .ok("Watchlist")) { request, context in
            try await handle(request, mount, context) { key in
                let id = try watchlist(key, request, context, false).id
                guard let symbol = try? Symbol(validating: context.parameters.get("symbol") ?? "") else {
                    throw Failure.notFound("\(context.parameters.get("symbol") ?? "") is not in the watchlist")
                }
                return try await answer { try watchlists.remove(symbol, from: id, account: key.account, now: wallClockNanos()) }
            }
        }
    }

    struct WatchlistBody: Decodable {
        var name: String?
        var symbols: [String]?
    }

    struct SymbolBody: Decodable {
        var symbol: String
    }

    private var watchlists: Watchlists { node.watchlists }

    /// The watchlist a path names by id, or a query by name.
    private func watchlist(_ key: StoredKey, _ request: Request, _ context: BasicRequestContext, _ byName: Bool) throws -> Watchlists.Watchlist {
        if byName {
            guard let name = Query(request)["name"] else { throw Failure.unprocessable("name is required") }
            guard let found = try watchlists.watchlist(named: name, account: key.account) else { throw Failure.notFound("no watchlist is named \(name)") }
            return found
        }
        let text = context.parameters.get("watchlist_id") ?? ""
        guard let id = PublicID.value(.watchlist, text), let found = try watchlists.watchlist(id, account: key.account) else {
            throw Failure.notFound("watchlist \(text) not found")
        }
        return found
    }

    /// Each name as a listed symbol; the first that is not is refused by name.
    private func listed(_ names: [String]) async throws -> [Symbol] {
        let listed = Set(try await venue.symbols().map(\.symbol))
        return try names.map { name in
            guard let symbol = try? Symbol(validating: name), listed.contains(symbol) else { throw Failure.unprocessable("\(name) is not a listed symbol") }
            return symbol
        }
    }

    /// The watchlist a change left, with its assets.
    private func answer(_ body: () throws -> Watchlists.Watchlist) async throws -> Response {
        let watchlist = try refusing(body)
        let summaries = Dictionary(try await venue.symbols().map { ($0.symbol, $0) }) { first, _ in first }
        let assets = watchlist.symbols.compactMap { summaries[$0].map(asset) }
        return Self.json(text: API.watchlist(watchlist, assets: assets))
    }
}
