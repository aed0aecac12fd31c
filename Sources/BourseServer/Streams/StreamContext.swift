import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of the WebSocket routes: Hummingbird's, plus the connection's channel, whose
/// writability shows a client that has stopped reading. (Writes are accepted into NIO's buffers whatever
/// the client does, so without it a slow client's backlog would grow there, outside every bound.)
struct StreamRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

extension Channel {
    /// Waits, polling every `interval`, until the channel takes writes again; false when `givingUp` says
    /// to stop waiting (the subscriber was cut off) or the channel closed.
    func writable(every interval: Duration = .milliseconds(2), givingUp: () -> Bool) async -> Bool {
        while !isWritable {
            guard isActive, !givingUp() else { return false }
            try? await Task.sleep(for: interval)
        }
        return true
    }
}
