"""alpaca-py's BrokerClient, unchanged, against Bourse: a brokerage opens two accounts for its customers,
links a bank and funds one, trades for it, journals cash and shares between them (single, batch and
reverse batch), withdraws, closes an account, manages keys and reads the event streams. Every result is
read through the SDK's own models."""

import json
import time

from alpaca.broker.client import BrokerClient
from alpaca.broker.enums import (AgreementType, BankAccountType, JournalEntryType, TransferDirection, TransferStatus,
                                 TransferTiming)
from alpaca.broker.models import Agreement, Contact, Disclosures, Identity
from alpaca.broker.requests import (BatchJournalRequestEntry, CreateACHRelationshipRequest, CreateACHTransferRequest,
                                    CreateAccountRequest, CreateBatchJournalRequest, CreateJournalRequest,
                                    CreateReverseBatchJournalRequest, GetAccountActivitiesRequest, GetEventsRequest,
                                    GetJournalsRequest, GetTransfersRequest, LimitOrderRequest, ListAccountsRequest,
                                    ReverseBatchJournalRequestEntry, UpdatableContact, UpdateAccountRequest)
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AccountStatus, OrderSide, TimeInForce
from alpaca.trading.requests import CreateWatchlistRequest, GetOrdersRequest, LimitOrderRequest as TradingLimitOrder, ReplaceOrderRequest

from common import BROKER, MAKER, URL, Coverage, check, refused

client = BrokerClient(*BROKER, url_override=URL)
maker = TradingClient(*MAKER, url_override=URL)
cover = Coverage("BrokerClient")


def new_account(given, family):
    return CreateAccountRequest(
        contact=Contact(email_address=f"{given.lower()}@example.com", phone_number="+15555550100",
                        street_address=["20 N San Mateo Dr"], city="San Mateo", state="CA", postal_code="94401", country="USA"),
        identity=Identity(given_name=given, family_name=family, date_of_birth="1990-01-01", country_of_tax_residence="USA",
                          annual_income_min=50000.0),
        disclosures=Disclosures(is_control_person=False, is_affiliated_exchange_or_finra=False, is_politically_exposed=False,
                                immediate_family_exposed=False),
        agreements=[Agreement(agreement=AgreementType.CUSTOMER, signed_at="2026-01-01T00:00:00Z", ip_address="127.0.0.1")])


def wait_for(what, probe, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.25)
    check(False, f"{what} within {seconds} s")


# Accounts: opened with the customer's details, read back as given, listed, found and updated.
alice = client.create_account(new_account("Alice", "Ames"))
bob = client.create_account(new_account("Bob", "Burns"))
cover.covers("create_account")
check(alice.status == AccountStatus.ACTIVE and alice.identity.given_name == "Alice", f"alice opened: {alice}")
check(alice.contact.street_address == ["20 N San Mateo Dr"] and alice.identity.annual_income_min == 50000.0, "details kept as given")
listed = client.list_accounts(ListAccountsRequest(query="Alice"))
cover.covers("list_accounts")
check([a.id for a in listed] == [alice.id], f"query finds alice alone: {[a.account_number for a in listed]}")
check({alice.id, bob.id} <= {a.id for a in client.list_accounts()}, "the firm's list holds both")
check(client.get_account_by_id(bob.id).identity.family_name == "Burns", "get bob")
cover.covers("get_account_by_id")
updated = client.update_account(alice.id, UpdateAccountRequest(contact=UpdatableContact(phone_number="+15555550199")))
cover.covers("update_account")
check(updated.contact.phone_number == "+15555550199" and updated.contact.city == "San Mateo", "update changes only what is given")

# Funding: a bank relationship, a deposit that the simulated bank completes, a cancelled one.
ach = client.create_ach_relationship_for_account(alice.id, CreateACHRelationshipRequest(
    account_owner_name="Alice Ames", bank_account_type=BankAccountType.CHECKING, bank_account_number="123456789",
    bank_routing_number="121000358", nickname="Checking"))
cover.covers("create_ach_relationship_for_account")
check([r.id for r in client.get_ach_relationships_for_account(alice.id)] == [ach.id], "the relationship is listed")
cover.covers("get_ach_relationships_for_account")
deposit = client.create_transfer_for_account(alice.id, CreateACHTransferRequest(
    amount="25000", direction=TransferDirection.INCOMING, timing=TransferTiming.IMMEDIATE, relationship_id=ach.id))
cover.covers("create_transfer_for_account")
check(deposit.status == TransferStatus.QUEUED and deposit.amount == "25000.00", f"deposit queued: {deposit}")
doomed = client.create_transfer_for_account(alice.id, CreateACHTransferRequest(
    amount="5", direction=TransferDirection.INCOMING, timing=TransferTiming.IMMEDIATE, relationship_id=ach.id))
client.cancel_transfer_for_account(alice.id, doomed.id)
cover.covers("cancel_transfer_for_account")


def transfer(account, id):
    return next(t for t in client.get_transfers_for_account(account, GetTransfersRequest()) if t.id == id)


cover.covers("get_transfers_for_account")
check(transfer(alice.id, doomed.id).status == TransferStatus.CANCELED, "the cancelled deposit says so")
wait_for("the deposit completes", lambda: transfer(alice.id, deposit.id).status == TransferStatus.COMPLETE)
trade_account = client.get_trade_account_by_id(alice.id)
cover.covers("get_trade_account_by_id")
check(trade_account.cash == "25000.00" and trade_account.cash_withdrawable == "25000.00", f"funded: {trade_account.cash}")

# Trading for alice: the maker offers AAPL, the broker buys for her.
maker.submit_order(TradingLimitOrder(symbol="AAPL", qty=10, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, limit_price=190))
order = client.submit_order_for_account(alice.id, LimitOrderRequest(symbol="AAPL", qty=10, side=OrderSide.BUY,
                                                                    time_in_force=TimeInForce.GTC, limit_price=190))
cover.covers("submit_order_for_account")
check(client.get_order_for_account_by_id(alice.id, order.id).filled_qty == "10", "the buy filled")
cover.covers("get_order_for_account_by_id")
check(order.id in [o.id for o in client.get_orders_for_account(alice.id, GetOrdersRequest(status="all"))], "the order is listed")
cover.covers("get_orders_for_account")
resting = client.submit_order_for_account(alice.id, LimitOrderRequest(symbol="MSFT", qty=1, side=OrderSide.BUY,
                                                                      time_in_force=TimeInForce.GTC, limit_price=1,
                                                                      client_order_id="alice-msft-1"))
check(client.get_order_for_account_by_client_id(alice.id, "alice-msft-1").id == resting.id, "an order by its client order id")
cover.covers("get_order_for_account_by_client_id")
replaced = client.replace_order_for_account_by_id(alice.id, resting.id, ReplaceOrderRequest(qty=2, limit_price=2))
cover.covers("replace_order_for_account_by_id")
check(replaced.qty == "2" and replaced.limit_price == "2.00", f"replaced: {replaced.qty} at {replaced.limit_price}")
client.cancel_order_for_account_by_id(alice.id, replaced.id)
cover.covers("cancel_order_for_account_by_id")
client.submit_order_for_account(alice.id, LimitOrderRequest(symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=1))
cancelled = client.cancel_orders_for_account(alice.id)
cover.covers("cancel_orders_for_account")
check(len(cancelled) == 1 and cancelled[0].status == 200, f"cancel all: {cancelled}")
configuration = client.get_trade_configuration_for_account(alice.id)
cover.covers("get_trade_configuration_for_account")
check(configuration.no_shorting is True and configuration.max_margin_multiplier == "1", f"a cash account does not short: {configuration}")
positions = client.get_all_positions_for_account(alice.id)
cover.covers("get_all_positions_for_account")
check([(p.symbol, p.qty) for p in positions] == [("AAPL", "10")], f"alice holds 10 AAPL: {positions}")
check(client.get_open_position_for_account(alice.id, "AAPL").qty == "10", "one position")
cover.covers("get_open_position_for_account")

# Journals: cash and shares, single, batch and reverse batch; the firm's books balance.
cash = client.create_journal(CreateJournalRequest(from_account=alice.id, to_account=bob.id, entry_type=JournalEntryType.CASH, amount=1000))
cover.covers("create_journal")
check(cash.status == "executed" and float(cash.net_amount) == 1000.0, f"cash journal: {cash}")
shares = client.create_journal(CreateJournalRequest(from_account=alice.id, to_account=bob.id, entry_type=JournalEntryType.SECURITY,
                                                    symbol="AAPL", qty=4))
check(shares.status == "executed" and shares.symbol == "AAPL" and float(shares.qty) == 4, f"shares journal: {shares}")
check(client.get_open_position_for_account(bob.id, "AAPL").qty == "4", "bob holds the 4 AAPL")
refused(lambda: client.create_journal(CreateJournalRequest(from_account=bob.id, to_account=alice.id, entry_type=JournalEntryType.CASH,
                                                           amount=1000.01)), 422, "insufficient_cash")
refused(lambda: client.create_journal(CreateJournalRequest(from_account=alice.id, to_account=bob.id, entry_type=JournalEntryType.CASH,
                                                           amount=50000.01)), 422, "journal_limit")
batch = client.create_batch_journal(CreateBatchJournalRequest(entry_type=JournalEntryType.CASH, from_account=alice.id, entries=[
    BatchJournalRequestEntry(to_account=bob.id, amount="10.50"), BatchJournalRequestEntry(to_account=bob.id, amount="40000")]))
cover.covers("create_batch_journal")
check([j.status for j in batch] == ["executed", "rejected"] and "insufficient_cash" in batch[1].error_message, f"batch: {batch}")
reverse = client.create_reverse_batch_journal(CreateReverseBatchJournalRequest(entry_type=JournalEntryType.CASH, to_account=alice.id, entries=[
    ReverseBatchJournalRequestEntry(from_account=bob.id, amount="0.50")]))
cover.covers("create_reverse_batch_journal")
check([j.status for j in reverse] == ["executed"], f"reverse batch: {reverse}")
journals = client.get_journals(GetJournalsRequest(entry_type=JournalEntryType.CASH))
cover.covers("get_journals")
check({cash.id, batch[0].id, reverse[0].id} <= {j.id for j in journals} and shares.id not in {j.id for j in journals}, "cash journals listed")
check(client.get_journal_by_id(shares.id).entry_type == JournalEntryType.SECURITY, "a journal by id")
cover.covers("get_journal_by_id")
bob_account = client.get_trade_account_by_id(bob.id)
check(bob_account.cash == "1010.00", f"bob received 1,000 + 10.50 - 0.50: {bob_account.cash}")

# Withdrawing: more than may leave is refused; a withdrawal the bank completes.
alice_cash = client.get_trade_account_by_id(alice.id).cash_withdrawable
refused(lambda: client.create_transfer_for_account(alice.id, CreateACHTransferRequest(
    amount=f"{float(alice_cash) + 0.01:.2f}", direction=TransferDirection.OUTGOING, timing=TransferTiming.IMMEDIATE,
    relationship_id=ach.id)), 422, "insufficient_cash")
withdrawal = client.create_transfer_for_account(alice.id, CreateACHTransferRequest(
    amount="100", direction=TransferDirection.OUTGOING, timing=TransferTiming.IMMEDIATE, relationship_id=ach.id))
wait_for("the withdrawal completes", lambda: transfer(alice.id, withdrawal.id).status == TransferStatus.COMPLETE)
check(float(client.get_trade_account_by_id(alice.id).cash) == float(alice_cash) - 100, "the withdrawal left the account")

# Every account's positions, activities, history and watchlists.
everyone = client.get_all_accounts_positions()
cover.covers("get_all_accounts_positions")
check([p.qty for p in everyone.positions[str(bob.id)]] == ["4"], f"all accounts' positions: {everyone.positions.keys()}")
activities = client.get_account_activities(GetAccountActivitiesRequest(account_id=alice.id))
cover.covers("get_account_activities")
kinds = {a.activity_type.value for a in activities}
check({"FILL", "CSD", "CSW", "JNLC", "JNLS"} <= kinds, f"alice's activities: {kinds}")
history = client.get_portfolio_history_for_account(alice.id)
cover.covers("get_portfolio_history_for_account")
check(len(history.equity) > 0, "a portfolio history")
watchlist = client.create_watchlist_for_account(alice.id, CreateWatchlistRequest(name="Tech", symbols=["AAPL", "MSFT"]))
cover.covers("create_watchlist_for_account")
check([w.id for w in client.get_watchlists_for_account(alice.id)] == [watchlist.id], "alice's watchlist")
cover.covers("get_watchlists_for_account")
client.delete_watchlist_from_account_by_id(alice.id, watchlist.id)
cover.covers("delete_watchlist_from_account_by_id")
check(client.get_watchlists_for_account(alice.id) == [], "the watchlist is gone")
spare = client.create_ach_relationship_for_account(bob.id, CreateACHRelationshipRequest(
    account_owner_name="Bob Burns", bank_account_type=BankAccountType.SAVINGS, bank_account_number="987654321",
    bank_routing_number="121000358"))
client.delete_ach_relationship_for_account(bob.id, spare.id)
cover.covers("delete_ach_relationship_for_account")
check(client.get_ach_relationships_for_account(bob.id) == [], "a cancelled relationship is no longer listed")

# Closing: an account with a position is refused; bob sells to the maker, moves his cash out, and closes.
refused(lambda: client.close_account(bob.id), 422, "account_not_empty")
maker.submit_order(TradingLimitOrder(symbol="AAPL", qty=4, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=190))
client.close_position_for_account(bob.id, "AAPL")
cover.covers("close_position_for_account")
wait_for("bob's position closes", lambda: client.get_all_positions_for_account(bob.id) == [])
bob_cash = client.get_trade_account_by_id(bob.id).cash
client.create_journal(CreateJournalRequest(from_account=bob.id, to_account=alice.id, entry_type=JournalEntryType.CASH, amount=bob_cash))
client.close_account(bob.id)
cover.covers("close_account")
check(client.get_account_by_id(bob.id).status == AccountStatus.ACCOUNT_CLOSED, "bob is closed")

# Events: each stream replays from the first event and names what happened.
for name, stream, wanted in [
    ("get_account_status_events", client.get_account_status_events, lambda e: e.get("account_id") == str(bob.id) and e["status_to"] == "closed"),
    ("get_transfer_events", client.get_transfer_events, lambda e: e.get("transfer_id") == str(withdrawal.id) and e["status_to"] == "COMPLETE"),
    ("get_journal_events", client.get_journal_events, lambda e: e.get("journal_id") == str(shares.id) and e["status_to"] == "executed"),
    ("get_trade_events", client.get_trade_events, lambda e: e.get("account_id") == str(alice.id) and e["event"] == "fill"),
]:
    seen = False
    for data in stream(GetEventsRequest(since_id=0)):
        if wanted(json.loads(data)):
            seen = True
            break
    check(seen, f"{name} names the event")
    cover.covers(name)

cover.summary()
