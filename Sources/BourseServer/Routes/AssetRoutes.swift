import BourseCore
import BourseVenue
import Hummingbird

/// The listed symbols, as Alpaca's assets.
extension Routes {
    func addAssets(to table: RouteTable) {
        table.add(.get, "/v2/assets", "Listed symbols", query: [
            Parameter("status", .choice(["active", "inactive"]), "Listed symbols are active; Bourse keeps no inactive ones"),
            Parameter("asset_class", .choice(["us_equity", "us_option", "crypto"]), "Bourse lists us_equity only"),
            Parameter("exchange", .choice(VenueConfiguration.listingExchanges.sorted()), "Only assets with this primary listing market"),
            Parameter("attributes", .list, "Only assets with all of these attributes (Bourse's assets have none)"),
        ], answer: .list("Asset")) { request, _ in
            try await handle(request) { _ in try await assets(Query(request)) }
        }
        table.add(.get, "/v2/assets/:symbol_or_asset_id", "One listed symbol, by symbol or asset id", answer: .ok("Asset")) { request, context in
            try await handle(request) { _ in
                let text = context.parameters.get("symbol_or_asset_id") ?? ""
                guard let symbol = Self.symbol(text), let summary = try await venue.symbols().first(where: { $0.symbol == symbol }) else {
                    throw Failure.notFound("asset not found for \(text)")
                }
                return Self.json(asset(summary))
            }
        }
    }

    func asset(_ s: BookSummary) -> API.Asset {
        API.Asset(id: s.symbol.uuid, exchange: exchanges[s.symbol] ?? "", symbol: s.symbol.description, name: s.symbol.description,
                  tradable: s.state == .open || s.state == .preOpen, shortable: s.easyToBorrow, easy_to_borrow: s.easyToBorrow)
    }

    private func assets(_ query: Query) async throws -> Response {
        let none = query["status"] == "inactive" || (query["asset_class"].map { $0 != "us_equity" } ?? false)
            || (query.list("attributes").map { !$0.isEmpty } ?? false)
        let assets = none ? [] : try await venue.symbols().map(asset).filter { query["exchange"].map($0.exchange.elementsEqual) ?? true }
        return Self.json(assets)
    }
}
