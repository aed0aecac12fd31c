/// Cash and shares moved between two accounts of the venue (a broker's journal: JNLC for cash, JNLS for
/// shares). Both sides post in one command, so a journal is whole or not at all; the outside world's
/// balances do not move. A journal's id is the sequence of its command.
public struct Journal: Hashable, Sendable {
    public enum Asset: Hashable, Sendable {
        case cash(Money)
        case shares(Symbol, Quantity)
    }

    public var from: AccountID
    public var to: AccountID
    public var asset: Asset

    public init(from: AccountID, to: AccountID, asset: Asset) {
        self.from = from
        self.to = to
        self.asset = asset
    }
}

public enum TransferDirection: UInt8, Sendable, CaseIterable {
    /// From the bank into the account: credited when complete.
    case incoming = 0
    /// From the account to the bank: taken from the account when queued, so it cannot be spent while it
    /// travels, and returned if the bank rejects it or it is cancelled.
    case outgoing = 1
}

/// A transfer of cash between an account and its bank, as requested. The engine numbers transfers from 1
/// as it queues them.
public struct TransferRequest: Hashable, Sendable {
    /// Transfers one account may have queued or sent at once.
    public static let pendingPerAccountMax = 100

    public var account: AccountID
    public var direction: TransferDirection
    public var amount: Money
    /// How long the simulated bank takes for each step (queued to sent, sent to complete); zero when an
    /// operator advances the transfer.
    public var bankStepSeconds: UInt32

    public init(account: AccountID, direction: TransferDirection, amount: Money, bankStepSeconds: UInt32 = 0) {
        self.account = account
        self.direction = direction
        self.amount = amount
        self.bankStepSeconds = bankStepSeconds
    }
}

/// Where a transfer is: queued, sent to the bank, then complete, or ended rejected or cancelled.
public enum TransferStatus: UInt8, Sendable, CaseIterable {
    case queued = 0
    case sent = 1
    case complete = 2
    case rejected = 3
    case canceled = 4

    /// As Alpaca's API names it.
    public var name: String {
        switch self {
        case .queued: "QUEUED"
        case .sent: "SENT_TO_CLEARING"
        case .complete: "COMPLETE"
        case .rejected: "REJECTED"
        case .canceled: "CANCELED"
        }
    }

    public var isFinal: Bool { self == .complete || self == .rejected || self == .canceled }

    /// Whether a transfer may go from this status to `next`: forward only, cancelled only while queued.
    public func mayBecome(_ next: TransferStatus) -> Bool {
        switch (self, next) {
        case (.queued, .sent), (.queued, .complete), (.queued, .rejected), (.queued, .canceled): true
        case (.sent, .complete), (.sent, .rejected): true
        default: false
        }
    }
}

/// Why a transfer ended without completing.
public enum TransferReason: UInt8, Sendable, CaseIterable {
    case none = 0
    /// The bank (or the operator acting for it) refused or returned it.
    case bank = 1
    /// Its requester cancelled it while it was queued.
    case requester = 2
    /// Crediting it would take the account past the venue's balance limit.
    case balanceLimit = 3

    public var code: String {
        switch self {
        case .none: ""
        case .bank: "bank_rejected"
        case .requester: "canceled_by_requester"
        case .balanceLimit: "balance_limit"
        }
    }

    public var message: String {
        switch self {
        case .none: ""
        case .bank: "the bank rejected or returned the transfer"
        case .requester: "cancelled while queued"
        case .balanceLimit: "crediting it would take the account past the venue's limit of \(Money.balanceLimit.grouped)"
        }
    }
}
