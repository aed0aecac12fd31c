import BourseCore
import Foundation
import BourseNode
import Hummingbird

/// Web sessions: a bearer token for the page, in exchange for a key and its secret.
extension Routes {
    func addSessions(to table: RouteTable) {
        table.add(.post, "/v1/sessions", "Sign in: a bearer token for the web UI", authenticated: false,
                  body: .object([("key_id", .string), ("secret", .string)]),
                  answer: .ok(.object([("token", .string), ("account", .string), ("role", .string), ("expires_at", .time)]))) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return startSession(body)
        }
        table.add(.delete, "/v1/sessions", "Sign out: ends the bearer token's session", answer: .noContent) { request, _ in
            try await handle(request) { _ in
                if let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") {
                    keys.endSession(token: String(authorization.dropFirst(7)))
                }
                return Response(status: .noContent)
            }
        }
    }

    struct SessionRequest: Decodable {
        var key_id: String
        var secret: String
    }

    /// Signs in: answers the token, its key's account and role, and when it expires. Wrong keys are
    /// limited like any request of that key id, so a secret cannot be guessed at speed.
    private func startSession(_ body: ByteBuffer?) -> Response {
        let response: Response
        do {
            let request: SessionRequest = try Self.decode(body)
            // Key ids that do not exist share one bucket: the limiter's table holds only the store's keys.
            if let wait = limiter.take(keys.contains(keyID: request.key_id) ? request.key_id : RateLimiter.unknownKey) {
                var limited = Self.error(Failure(status: .tooManyRequests, code: 42910000, message: "too many sign-ins for this key"))
                limited.headers[.retryAfter] = String(wait)
                response = limited
            } else if let session = keys.startSession(keyID: request.key_id, secret: request.secret, now: wallClockNanos()) {
                response = Self.json(text: #"{"token":"\#(session.token)","account":"\#(session.key.account)","role":"\#(session.key.role.rawValue)","expires_at":"\#(API.time(Timestamp(nanos: session.expires)))"}"#)
            } else {
                response = Self.error(Failure(status: .unauthorized, code: 40110000, message: "the key or its secret is wrong"))
            }
        } catch let failure as Failure {
            response = Self.error(failure)
        } catch {
            response = Self.error(Failure.unprocessable("\(error)"))
        }
        return response
    }
}
