import BourseNode
import Foundation
import HTTPTypes
import Hummingbird

/// Registers the REST routes and keeps a description of each, from which `/openapi.json` is written: the
/// document and the routes come from the same calls, so they cannot drift apart. Each answer is counted and
/// timed under its route's pattern.
final class RouteTable {
    struct Route: Sendable {
        var method: HTTPRequest.Method
        /// In OpenAPI's form, `{id}` rather than the router's `:id`.
        var path: String
        var summary: String
        var authenticated: Bool
        var query: [Parameter]
        var body: Schema?
        var answer: Answer?
    }

    let router: Router<BasicRequestContext>
    let metrics: Metrics
    /// Where the routes are listed for the answer to a request no route takes.
    let known: UnknownRoutes.Known
    private(set) var routes: [Route] = []

    init(router: Router<BasicRequestContext>, metrics: Metrics, known: UnknownRoutes.Known) {
        self.router = router
        self.metrics = metrics
        self.known = known
    }

    /// Adds a route taking the `query` parameters and no others, and the `body` when it takes one; `answer`
    /// is what it answers with when it succeeds.
    func add(_ method: HTTPRequest.Method, _ path: String, _ summary: String, authenticated: Bool = true, query: [Parameter] = [],
             body: Schema? = nil, answer: Answer? = nil,
             _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        router.on(RouterPath(path), method: method) { [metrics] request, context in
            let started = monotonicNanos()
            let status: Int
            defer {
                metrics.countAnswer(method: method.rawValue, route: path, status: status)
                metrics.timeAnswer(method: method.rawValue, route: path, nanos: monotonicNanos() - started)
            }
            if let problem = Query.problem(request, query, route: "\(method.rawValue) \(path)") {
                status = 422
                return Routes.error(.unprocessable(problem))
            }
            do {
                let response = try await handler(request, context)
                status = response.status.code
                return response
            } catch {
                status = (error as? any HTTPResponseError)?.status.code ?? 500
                throw error
            }
        }
        let openAPIPath = path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
        known.add(method, path)
        routes.append(Route(method: method, path: openAPIPath, summary: summary, authenticated: authenticated, query: query,
                            body: body, answer: answer))
    }

    static func schema(_ kind: Parameter.Kind) -> [String: Any] {
        switch kind {
        case .text: ["type": "string", "maxLength": 1_024]
        case .integer(let range): ["type": "integer", "minimum": range.lowerBound, "maximum": range.upperBound]
        case .boolean: ["type": "boolean"]
        case .time: ["type": "string", "format": "date-time"]
        case .date: ["type": "string", "format": "date"]
        case .choice(let options): ["type": "string", "enum": options]
        case .list: ["type": "string", "description": "comma-separated, at most \(Parameter.listMax)"]
        case .unsupported(let reason): ["type": "string", "description": "refused: " + reason]
        }
    }

    /// An OpenAPI 3.0 document of the routes: each operation with its parameters, its summary, the API-key
    /// security it needs, and the error shape every failure answers with.
    func openAPI() -> Data {
        var paths: [String: [String: Any]] = [:]
        for route in routes {
            let parameters: [[String: Any]] = route.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { segment in
                ["name": String(segment.dropFirst().dropLast()), "in": "path", "required": true, "schema": ["type": "string"]]
            } + route.query.map { ["name": $0.name, "in": "query", "required": false, "description": $0.summary, "schema": Self.schema($0.kind)] }
            var responses: [String: Any] = [
                "default": ["description": "Failure", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]],
            ]
            let answer = route.answer ?? Answer(status: 200, schema: nil)
            responses[String(answer.status)] = answer.schema.map { ["description": "Success", "content": [answer.contentType: ["schema": $0.json]]] }
                ?? ["description": "Success"]
            for other in answer.others {
                responses[String(other.status)] = ["description": "Answered", "content": ["application/json": ["schema": other.schema.json]]]
            }
            var operation: [String: Any] = ["summary": route.summary, "parameters": parameters, "responses": responses]
            if let body = route.body {
                operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": body.json]]]
            }
            operation["security"] = route.authenticated ? [["keyID": [], "secret": []], ["session": []]] : []
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation
        }
        let document: [String: Any] = [
            "openapi": "3.0.3",
            "info": ["title": "Bourse", "version": "1", "description": "Alpaca's Trading API v2 shape, with Bourse's extensions."],
            "paths": paths,
            "components": [
                "securitySchemes": [
                    "keyID": ["type": "apiKey", "in": "header", "name": "APCA-API-KEY-ID"],
                    "secret": ["type": "apiKey", "in": "header", "name": "APCA-API-SECRET-KEY"],
                    "session": ["type": "http", "scheme": "bearer", "description": "A token from POST /v1/sessions"],
                ],
                "schemas": Schema.components.mapValues(\.json),
            ],
        ]
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data()
    }
}
