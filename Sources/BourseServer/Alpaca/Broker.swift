import BourseCore
import BourseProjections
import BourseVenue
import Foundation

/// Alpaca's Broker API shapes: an account with the details its broker gave, a bank (ACH) relationship, a
/// transfer and a journal.
extension API {
    /// The parts of an account's details Alpaca defines, each with the members it may hold; details are
    /// stored as given, and a member not listed is refused by name.
    static let detailMembers: [String: Set<String>] = [
        "contact": ["email_address", "phone_number", "street_address", "unit", "city", "state", "postal_code", "country"],
        "identity": ["given_name", "middle_name", "family_name", "date_of_birth", "tax_id", "tax_id_type", "country_of_citizenship",
                     "country_of_birth", "country_of_tax_residence", "visa_type", "visa_expiration_date", "date_of_departure_from_usa",
                     "permanent_resident", "funding_source", "annual_income_min", "annual_income_max", "liquid_net_worth_min",
                     "liquid_net_worth_max", "total_net_worth_min", "total_net_worth_max"],
        "disclosures": ["is_control_person", "is_affiliated_exchange_or_finra", "is_politically_exposed", "immediate_family_exposed",
                        "employment_status", "employer_name", "employer_address", "employment_position", "context"],
        "trusted_contact": ["given_name", "family_name", "email_address", "phone_number", "street_address", "city", "state",
                            "postal_code", "country"],
        "agreements": ["agreement", "signed_at", "ip_address", "revision"],
    ]

    /// Members the SDK's models need for an account to be read back.
    static let detailRequired: [String: [String]] = [
        "contact": ["email_address", "street_address", "city"], "identity": ["given_name", "family_name"],
        "agreements": ["agreement", "signed_at", "ip_address"],
    ]

    /// Why a part of an account's details is not acceptable, if it is not.
    static func detailProblem(_ part: String, _ value: JSONValue, requireAll: Bool) -> String? {
        guard let members = detailMembers[part] else { return "\(part) is not a field of this request" }
        let objects: [JSONValue]
        switch (part, value) {
        case ("agreements", .array(let items)): objects = items
        case ("agreements", _): return "agreements must be an array of objects"
        case (_, .object): objects = [value]
        default: return "\(part) must be an object"
        }
        for object in objects {
            guard case .object(let fields) = object else { return "\(part) must hold objects" }
            if let unknown = fields.first(where: { !members.contains($0.key) }) { return "\(part).\(unknown.key) is not a field of this request" }
            if requireAll, let missing = detailRequired[part]?.first(where: { name in !fields.contains { $0.key == name } }) {
                return "\(part).\(missing) is required"
            }
        }
        return nil
    }

    /// The Broker API's account: who it is (as given), its status, and Bourse's own account of how it trades.
    static func brokerAccount(_ profile: BrokerRecords.Profile, _ summary: AccountSummary, blockedBy: String?,
                              entities: Set<String>? = nil) -> String {
        var text = "{"
        text += #""id":"\#(summary.account.uuid)","account_number":"#
        appendQuoted(summary.number.text, to: &text)
        text += #","account_type":"#
        appendQuoted(profile.accountType, to: &text)
        text += #","status":"\#(status(summary.state))","crypto_status":null,"currency":"USD","#
        text += #""last_equity":"\#(summary.equity.map(decimal) ?? decimal(summary.cash))","#
        text += #""created_at":"\#(time(Timestamp(nanos: profile.createdAt)))","updated_at":"\#(time(Timestamp(nanos: profile.updatedAt)))","#
        text += #""enabled_assets":["us_equity"],"kind":"\#(summary.kind.name)","#
        text += #""trading_status":"\#(tradingStatus(summary.state, blockedBy: blockedBy))""#
        if case .object(let parts)? = try? JSONValue.parse(Array(profile.details.utf8)) {
            for (name, value) in parts where entities?.contains(name) ?? true {
                text += ","
                appendQuoted(name, to: &text)
                text += ":" + value.text
            }
        }
        return text + "}"
    }

    static func bankRelationship(_ r: BrokerRecords.BankRelationship) -> String {
        var text = #"{"id":"\#(PublicID.uuid(.bankRelationship, r.id))","account_id":"\#(AccountID(r.account).uuid)","#
        text += #""created_at":"\#(time(Timestamp(nanos: r.createdAt)))","updated_at":"\#(time(Timestamp(nanos: r.updatedAt)))","#
        text += #""status":"\#(r.status)","account_owner_name":"#
        appendQuoted(r.ownerName, to: &text)
        text += #","bank_account_type":"\#(r.bankAccountType)","bank_account_number":"#
        appendQuoted(r.bankAccountNumber, to: &text)
        text += #","bank_routing_number":"#
        appendQuoted(r.bankRoutingNumber, to: &text)
        text += #","nickname":"#
        if let nickname = r.nickname { appendQuoted(nickname, to: &text) } else { text += "null" }
        return text + "}"
    }

    /// A transfer as the broker projection holds it.
    static func transfer(_ row: SQLRow) -> String {
        let id = UInt64(bitPattern: row.int("id")!)
        let relationship = UInt64(bitPattern: row.int("relationship")!)
        var text = #"{"id":"\#(PublicID.transfer(id))","account_id":"\#(AccountID(UInt32(row.int("account")!)).uuid)","#
        text += #""created_at":"\#(time(Timestamp(nanos: row.int("created_at")!)))","updated_at":"\#(time(Timestamp(nanos: row.int("updated_at")!)))","#
        text += #""expires_at":null,"relationship_id":"#
        text += relationship == 0 ? "null" : #""\#(PublicID.uuid(.bankRelationship, relationship))""#
        let amount = decimal(Money(units: row.int("amount")!))
        text += #","amount":"\#(amount)","requested_amount":"\#(amount)","fee":"0","type":"ach","#
        text += #""status":"\#(row.text("status")!)","direction":"\#(row.text("direction")!)","reason":"#
        let reason = row.text("reason")!
        if reason.isEmpty { text += "null" } else { appendQuoted(reason, to: &text) }
        return text + "}"
    }

    /// A journal as the broker projection holds it; `error` for one of a batch that was refused.
    static func journal(_ row: SQLRow) -> String {
        let id = UInt64(bitPattern: row.int("id")!)
        let date = CivilDate(daysSinceEpoch: Int(row.int("created_at")! / 86_400_000_000_000))
        var text = #"{"id":"\#(PublicID.journal(id))","entry_type":"\#(row.text("entry_type")!)","#
        text += #""from_account":"\#(AccountID(UInt32(row.int("from_account")!)).uuid)","to_account":"\#(AccountID(UInt32(row.int("to_account")!)).uuid)","#
        text += #""symbol":\#(row.text("symbol").map(quoted) ?? "null"),"qty":\#(row.int("qty").map { quoted(String($0)) } ?? "null"),"#
        text += #""price":\#(row.int("price").map { quoted(decimal(Money(units: $0))) } ?? "null"),"#
        text += #""net_amount":\#(row.int("amount").map { quoted(decimal(Money(units: $0))) } ?? "null"),"currency":"USD","#
        text += #""description":"#
        appendQuoted(row.text("description")!, to: &text)
        text += #","settle_date":"\#(date)","system_date":"\#(date)","status":"\#(row.text("status")!)","#
        text += #""created_at":"\#(time(Timestamp(nanos: row.int("created_at")!)))","error_message":"#
        let reason = row.text("reason")!
        if reason.isEmpty { text += "null" } else { appendQuoted(reason, to: &text) }
        return text + "}"
    }
}

extension JSONValue {
    /// The value written back as JSON; numbers keep the text they came with.
    var text: String {
        switch self {
        case .object(let members):
            return "{" + members.map { API.quoted($0.key) + ":" + $0.value.text }.joined(separator: ",") + "}"
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .string(let s): return API.quoted(s)
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }
}
