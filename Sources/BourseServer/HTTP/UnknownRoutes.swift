import Hummingbird
import Synchronization

/// Answers what no route takes in Alpaca's error shape instead of an empty 404: a path no route has is
/// 404 naming it; a path that exists under other methods is 405 with `Allow` listing them.
struct UnknownRoutes: RouterMiddleware {
    typealias Context = BasicRequestContext

    /// The routes, as method and path segments (`:id` matches any one segment); filled in once the routes
    /// are added, before the server takes a request.
    final class Known: Sendable {
        let routes = Mutex<[(method: HTTPRequest.Method, segments: [Substring])]>([])

        func add(_ method: HTTPRequest.Method, _ path: String) {
            routes.withLock { $0.append((method, path.split(separator: "/"))) }
        }

        /// The methods of the routes whose path matches.
        func methods(for path: String) -> [HTTPRequest.Method] {
            let segments = path.split(separator: "/")
            return routes.withLock { routes in
                routes.filter { route in
                    route.segments.count == segments.count
                        && zip(route.segments, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
                }.map(\.method)
            }
        }
    }

    let known: Known

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            let methods = known.methods(for: path)
            guard !methods.isEmpty else {
                return Routes.error(.notFound("no route is \(request.method.rawValue) \(path)"))
            }
            let names = Array(Set(methods.map(\.rawValue))).sorted()
            var response = Routes.error(Routes.Failure(status: .methodNotAllowed, code: 40510000,
                                                       message: "\(path) takes \(Parameter.either(names)), not \(request.method.rawValue)"))
            response.headers[.allow] = names.joined(separator: ", ")
            return response
        }
    }
}
