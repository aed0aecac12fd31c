import BourseCore
import BourseNode
import BourseProjections
import BourseVenue
import Hummingbird

/// Funding an account, as Alpaca's Broker API does it: bank (ACH) relationships the account funds from, and
/// transfers in and out through them. A transfer is a command through the sequencer: an outgoing one takes
/// its cash from the account when queued, within what it may withdraw. The firm's simulated bank moves it
/// on (queued, sent, complete) on the scheduler's journaled clock, or an operator does; the requester may
/// cancel it while it is queued.
extension Routes {
    func addFunding(to table: RouteTable) {
        table.add(.post, "/v1/accounts/:account_id/ach_relationships", "Record a bank account the account funds from",
                  body: Schema.achRequest, answer: .ok("BankRelationship")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in
                let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                let ach: ACHRequest = try Self.decode(body)
                if ach.processor_token != nil { throw Failure.unprocessable("processor_token is not supported: Bourse links no Plaid accounts") }
                guard ["CHECKING", "SAVINGS"].contains(ach.bank_account_type) else {
                    throw Failure.unprocessable("bank_account_type must be CHECKING or SAVINGS, not \"\(ach.bank_account_type)\"")
                }
                for (name, text, range) in [("account_owner_name", ach.account_owner_name, 1...100), ("bank_account_number", ach.bank_account_number, 4...34),
                                            ("bank_routing_number", ach.bank_routing_number, 9...9), ("nickname", ach.nickname ?? "x", 1...100)] {
                    guard range.contains(text.count) else { throw Failure.unprocessable("\(name) must be \(range.lowerBound) to \(range.upperBound) characters") }
                }
                let now = wallClockNanos()
                let made = try refusing {
                    try node.broker.add(BrokerRecords.BankRelationship(
                        account: id.rawValue, ownerName: ach.account_owner_name, bankAccountType: ach.bank_account_type,
                        bankAccountNumber: ach.bank_account_number, bankRoutingNumber: ach.bank_routing_number, nickname: ach.nickname,
                        status: "APPROVED", createdAt: now, updatedAt: now))
                }
                try audit(key, action: "add_bank_relationship", target: id.uuid, detail: "relationship \(made.id)")
                return Self.json(text: API.bankRelationship(made))
            }
        }
        table.add(.get, "/v1/accounts/:account_id/ach_relationships", "The account's bank relationships",
                  query: [Parameter("statuses", .list, "Only these statuses (APPROVED, CANCELED); by default the live ones")],
                  answer: .list("BankRelationship")) { request, context in
            try await handle(request) { key in
                let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                let statuses = Query(request).list("statuses").map(Set.init) ?? ["APPROVED"]
                let rows = try refusing { try node.broker.bankRelationships(of: id.rawValue) }.filter { statuses.contains($0.status) }
                return Self.json(text: "[" + rows.map(API.bankRelationship).joined(separator: ",") + "]")
            }
        }
        table.add(.delete, "/v1/accounts/:account_id/ach_relationships/:relationship_id", "Cancel a bank relationship", answer: .noContent) { request, context in
            try await handle(request) { key in
                let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                let text = context.parameters.get("relationship_id") ?? ""
                guard let relationship = PublicID.value(.bankRelationship, text),
                      try refusing({ try node.broker.cancelBankRelationship(relationship, of: id.rawValue, now: wallClockNanos()) }) else {
                    throw Failure.notFound("account \(id.uuid) has no live bank relationship \(text)")
                }
                try audit(key, action: "cancel_bank_relationship", target: id.uuid, detail: "relationship \(relationship)")
                return Response(status: .noContent)
            }
        }
        table.add(.post, "/v1/accounts/:account_id/transfers", "Move cash between the account and its bank: queued, sent, then complete",
                  body: Schema.transferRequest, answer: .ok("Transfer")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in try await requestTransfer(key, context.parameters.get("account_id") ?? "", body) }
        }
        table.add(.get, "/v1/accounts/:account_id/transfers", "The account's transfers, newest first", query: [
            Parameter("direction", .choice(["INCOMING", "OUTGOING"]), "Only one direction"),
            .limit(default: 100, max: 500), Parameter("offset", .integer(0...1_000_000), "Skip this many"),
        ], answer: .list("Transfer")) { request, context in
            try await handle(request) { key in
                let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                let query = Query(request)
                try await requireBroker()
                var sql = "SELECT * FROM broker_transfers WHERE account = ?"
                var values: [SQLValue] = [.int(Int64(id.rawValue))]
                if let direction = query["direction"] {
                    sql += " AND direction = ?"
                    values.append(.text(direction))
                }
                values += [.int(Int64(query.integer("limit") ?? 100)), .int(Int64(query.integer("offset") ?? 0))]
                let rows = try await projections.store.query(sql + " ORDER BY id DESC LIMIT ? OFFSET ?", values)
                return Self.json(text: "[" + rows.map(API.transfer).joined(separator: ",") + "]")
            }
        }
        table.add(.delete, "/v1/accounts/:account_id/transfers/:transfer_id", "Cancel a transfer while it is queued", answer: .noContent) { request, context in
            try await handle(request) { key in
                let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                let transfer = try await transferOf(id, context.parameters.get("transfer_id") ?? "")
                try await runBroker(.advanceTransfer(transfer, .canceled), key, action: "cancel_transfer", target: PublicID.transfer(transfer))
                return Response(status: .noContent)
            }
        }
        table.add(.post, "/v1/admin/transfers/:transfer_id", "Move a transfer on as its bank answered: sent, complete or rejected (admin)",
                  body: .object([("status", .choice(["SENT_TO_CLEARING", "COMPLETE", "REJECTED", "CANCELED"]))]), answer: .ok("Transfer")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in
                try Admin.require(key, [.admin], to: "move transfers on")
                let step: TransferStep = try Self.decode(body)
                guard let status = TransferStatus.allCases.first(where: { $0.name == step.status }), status != .queued else {
                    throw Failure.unprocessable("status must be SENT_TO_CLEARING, COMPLETE, REJECTED or CANCELED, not \"\(step.status)\"")
                }
                let text = context.parameters.get("transfer_id") ?? ""
                guard let transfer = PublicID.value(.transfer, text) ?? UInt64(text) else { throw Failure.notFound("no transfer \(text)") }
                let ack = try await runBroker(.advanceTransfer(transfer, status), key, action: "advance_transfer", target: PublicID.transfer(transfer))
                return Self.json(text: try await transferJSON(transfer, after: ack.command.sequence))
            }
        }
    }

    struct ACHRequest: Decodable {
        var account_owner_name: String
        var bank_account_type: String
        var bank_account_number: String
        var bank_routing_number: String
        var nickname: String?
        var processor_token: String?
    }

    struct TransferRequestBody: Decodable {
        var transfer_type: String?
        var relationship_id: String?
        var bank_id: String?
        var amount: String
        var direction: String
        var timing: String?
        var fee_payment_method: String?
        var additional_information: String?
    }

    struct TransferStep: Decodable {
        var status: String
    }

    private func requestTransfer(_ key: StoredKey, _ text: String, _ body: ByteBuffer?) async throws -> Response {
        let id = try await accountOnBehalf(key, text)
        let request: TransferRequestBody = try Self.decode(body)
        if let type = request.transfer_type, type != "ach" { throw Failure.unprocessable("transfer_type \(type) is not supported: Bourse moves cash by ACH") }
        if request.bank_id != nil || request.additional_information != nil {
            throw Failure.unprocessable("wire transfers (bank_id, additional_information) are not supported: Bourse moves cash by ACH")
        }
        if let timing = request.timing, timing != "immediate" { throw Failure.unprocessable("timing \(timing) is not supported: transfers start at once") }
        if let method = request.fee_payment_method { throw Failure.unprocessable("fee_payment_method \(method) is not supported: Bourse charges no transfer fees") }
        guard let direction: TransferDirection = ["INCOMING": .incoming, "OUTGOING": .outgoing][request.direction] else {
            throw Failure.unprocessable("direction must be INCOMING or OUTGOING, not \"\(request.direction)\"")
        }
        guard let amount = Money(dollars: request.amount), amount.units > 0 else {
            throw Failure.unprocessable("amount \"\(request.amount)\" must be a positive decimal with at most four decimals")
        }
        guard let relationshipText = request.relationship_id else { throw Failure.unprocessable("relationship_id is required") }
        guard let relationship = PublicID.value(.bankRelationship, relationshipText),
              let bank = try refusing({ try node.broker.bankRelationship(relationship, of: id.rawValue) }), bank.status == "APPROVED" else {
            throw Failure.unprocessable("relationship_id \(relationshipText) is not an approved bank relationship of the account")
        }
        let step = try firmEntry(of: id)?.bank_step_seconds ?? 0
        let ack = try await runBroker(.requestTransfer(TransferRequest(account: id, direction: direction, amount: amount, bankStepSeconds: step)),
                                      key, note: BrokerNote(actor: key.keyID, relationship: relationship), action: "request_transfer", target: id.uuid)
        guard case .transferChanged(let transfer, _, _, _)? = ack.events.first else { throw Failure.unavailable("the transfer was not queued") }
        return Self.json(text: try await transferJSON(transfer, after: ack.command.sequence))
    }

    /// The transfer as the broker projection holds it once it has applied `sequence`.
    private func transferJSON(_ transfer: UInt64, after sequence: UInt64) async throws -> String {
        if let problem = await projections.wait("broker", for: sequence) { throw Failure.unavailable(problem) }
        guard let row = try await projections.store.query("SELECT * FROM broker_transfers WHERE id = ?", [.int(Int64(bitPattern: transfer))]).first else {
            throw Failure.notFound("no transfer \(PublicID.transfer(transfer))")
        }
        return API.transfer(row)
    }

    /// The transfer a path names, if it is the account's.
    private func transferOf(_ account: AccountID, _ text: String) async throws -> UInt64 {
        try await requireBroker()
        guard let id = PublicID.value(.transfer, text),
              try await !projections.store.query("SELECT id FROM broker_transfers WHERE id = ? AND account = ?",
                                                 [.int(Int64(bitPattern: id)), .int(Int64(account.rawValue))]).isEmpty else {
            throw Failure.notFound("account \(account.uuid) has no transfer \(text)")
        }
        return id
    }

    /// Waits until the broker projection holds everything acknowledged before the request.
    func requireBroker() async throws {
        if let problem = await projections.wait("broker", for: try await venue.lastSequence()) {
            throw Failure(status: .serviceUnavailable, code: 50310000, message: problem)
        }
    }
}
