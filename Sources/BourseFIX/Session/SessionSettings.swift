import BourseCore
import BourseVenue

/// One configured session as the gateway runs it.
public struct SessionSettings: Sendable {
    public enum Role: String, Sendable {
        case orderEntry = "order_entry", dropCopy = "drop_copy", clearing
    }

    /// The counterparty's CompID, which names the session.
    public var name: String
    public var venueCompID: String
    public var role: Role
    public var accounts: [UInt32]
    public var requiresPassword: Bool
    public var heartbeatSeconds: ClosedRange<Int>
    public var messagesPerSecondMax: Int
    /// The daily window in seconds of the UTC day; nil for always.
    public var window: (start: Int, end: Int)?
    /// How far SendingTime may be from the venue's clock.
    public var sendingTimeToleranceNanos: Int64 = 120_000_000_000
    /// A connection that has not logged on by then is closed.
    public var logonTimeoutNanos: Int64 = 10_000_000_000
    /// A session over its rate this long without a pause is logged out.
    public var throttledNanosMax: Int64 = 5_000_000_000

    public init(name: String, venueCompID: String, role: Role, accounts: [UInt32], requiresPassword: Bool = false,
                heartbeatSeconds: ClosedRange<Int> = 1...300, messagesPerSecondMax: Int = 10_000, window: (start: Int, end: Int)? = nil) {
        self.name = name
        self.venueCompID = venueCompID
        self.role = role
        self.accounts = accounts
        self.requiresPassword = requiresPassword
        self.heartbeatSeconds = heartbeatSeconds
        self.messagesPerSecondMax = messagesPerSecondMax
        self.window = window
    }

    /// The sessions a configuration names.
    public static func all(_ configuration: VenueConfiguration.FIXEntry) -> [SessionSettings] {
        configuration.sessions.map { entry in
            SessionSettings(
                name: entry.comp_id, venueCompID: configuration.compID, role: Role(rawValue: entry.role) ?? .orderEntry,
                accounts: entry.accounts, requiresPassword: entry.password ?? false,
                heartbeatSeconds: (entry.heartbeat_seconds_min ?? 1)...(entry.heartbeat_seconds_max ?? 300),
                messagesPerSecondMax: entry.messages_per_second_max ?? 10_000,
                window: entry.start_time.flatMap(VenueConfiguration.secondsOfDay).flatMap { start in
                    entry.end_time.flatMap(VenueConfiguration.secondsOfDay).map { (start, $0) }
                })
        }
    }

    /// Whether `now` is inside the window, and the day the window opened (days since 1970); always inside
    /// without a window.
    func windowDay(at now: Int64) -> (inside: Bool, day: Int?) {
        guard let window else { return (true, nil) }
        let seconds = Int(now / 1_000_000_000)
        let (day, second) = (seconds / 86_400, seconds % 86_400)
        if window.start <= window.end { return (second >= window.start && second < window.end, day) }
        // A window across midnight belongs to the day it opened.
        if second >= window.start { return (true, day) }
        return (second < window.end, day - 1)
    }
}
