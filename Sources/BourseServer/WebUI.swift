import Hummingbird
import NIOCore

/// The web UI: one page, its scripts (trading, the operator's accounts view, FIX sessions, post-trade) and its style sheet, compiled into the binary. The page signs in with
/// an API key for a bearer token and then uses the same REST and WebSocket APIs as any client.
enum WebUI {
    static func add(to table: RouteTable) {
        for (path, bytes, type) in [("/", PackageResources.index_html, "text/html; charset=utf-8"),
                                    ("/ui/app.js", PackageResources.app_js, "text/javascript; charset=utf-8"),
                                    ("/ui/accounts.js", PackageResources.accounts_js, "text/javascript; charset=utf-8"),
                                    ("/ui/sessions.js", PackageResources.sessions_js, "text/javascript; charset=utf-8"),
                                    ("/ui/posttrade.js", PackageResources.posttrade_js, "text/javascript; charset=utf-8"),
                                    ("/ui/risk.js", PackageResources.risk_js, "text/javascript; charset=utf-8"),
                                    ("/ui/app.css", PackageResources.app_css, "text/css; charset=utf-8")] {
            let body = ByteBuffer(bytes: bytes)
            table.add(.get, path, "The web UI", authenticated: false) { _, _ in
                Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"], body: ResponseBody(byteBuffer: body))
            }
        }
    }
}
