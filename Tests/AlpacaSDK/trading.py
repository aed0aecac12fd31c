"""alpaca-py's TradingClient, with its default settings, against a running Bourse venue (the demo
configuration): every call a trader makes, each result checked. Run by AlpacaSDKTests with
BOURSE_URL and the keys of accounts 1 (a cash account) and 3 (the market maker, margin).
Prints one line per SDK method covered; exits non-zero at the first failed check."""

from datetime import date, datetime, timedelta, timezone
from uuid import UUID

from alpaca.trading.client import TradingClient
from alpaca.trading.enums import (AssetExchange, OrderClass, OrderSide, OrderStatus, OrderType, QueryOrderStatus,
                                  TimeInForce)
from alpaca.trading.models import AccountConfiguration, Order
from alpaca.trading.requests import (ClosePositionRequest, CreateWatchlistRequest, GetAssetsRequest, GetCalendarRequest,
                                     GetOrdersRequest, GetPortfolioHistoryRequest, LimitOrderRequest, MarketOrderRequest,
                                     ReplaceOrderRequest, StopLimitOrderRequest, StopLossRequest, StopOrderRequest, TakeProfitRequest,
                                     TrailingStopOrderRequest, UpdateWatchlistRequest)

from common import MAKER, TRADER, URL, Coverage, check, refused

trader = TradingClient(*TRADER, paper=True, url_override=URL)
maker = TradingClient(*MAKER, paper=True, url_override=URL)
coverage = Coverage("TradingClient")
covers = coverage.covers


# The account, in the SDK's own model: a UUID id and the configured account number.
account = trader.get_account()
check(isinstance(account.id, UUID) and account.account_number == "1", f"account {account.id} {account.account_number}")
check(account.status == "ACTIVE" and float(account.cash) > 0 and account.currency == "USD", f"account {account}")
covers("get_account")

clock = trader.get_clock()
check(clock.next_open > clock.timestamp - timedelta(days=1) and clock.next_close > clock.timestamp - timedelta(days=1), f"clock {clock}")
covers("get_clock")
calendar = trader.get_calendar(GetCalendarRequest(start=date(2026, 12, 21), end=date(2026, 12, 31)))
check([d.date for d in calendar][:3] == [date(2026, 12, 21), date(2026, 12, 22), date(2026, 12, 23)], f"calendar {calendar[:3]}")
check(date(2026, 12, 25) not in [d.date for d in calendar], "Christmas is a holiday")
covers("get_calendar")

assets = trader.get_all_assets()
by_symbol = {a.symbol: a for a in assets}
check(set(by_symbol) == {"AAPL", "MSFT", "SPY", "TSLA", "BRK.B"}, f"assets {sorted(by_symbol)}")
check(by_symbol["AAPL"].exchange == AssetExchange.NASDAQ and by_symbol["SPY"].exchange == AssetExchange.ARCA, "listing exchanges")
check(all(isinstance(a.id, UUID) and a.tradable for a in assets), "asset ids are UUIDs")
arca = trader.get_all_assets(GetAssetsRequest(exchange=AssetExchange.ARCA))
check([a.symbol for a in arca] == ["SPY"], f"ARCA assets {arca}")
covers("get_all_assets")
check(trader.get_asset("AAPL").id == by_symbol["AAPL"].id and trader.get_asset(by_symbol["MSFT"].id).symbol == "MSFT", "asset by symbol and id")
refused(lambda: trader.get_asset("NOPE"), 404, "NOPE")
covers("get_asset")

positions = {p.symbol: p for p in trader.get_all_positions()}
check(positions["AAPL"].qty == "1000" and positions["AAPL"].asset_id == by_symbol["AAPL"].id, f"positions {positions.get('AAPL')}")
check(positions["AAPL"].exchange == AssetExchange.NASDAQ and positions["AAPL"].side == "long", "position exchange and side")
covers("get_all_positions")
check(trader.get_open_position("MSFT").qty == "1000" and trader.get_open_position(by_symbol["MSFT"].id).symbol == "MSFT", "one position")
covers("get_open_position")

# Orders: prices go as JSON numbers, exactly as the SDK sends them.
offer = maker.submit_order(LimitOrderRequest(symbol="AAPL", qty=10, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, limit_price=190.0))
check(isinstance(offer.id, UUID) and offer.status == OrderStatus.NEW and float(offer.limit_price) == 190.0 and offer.asset_id == by_symbol["AAPL"].id, f"offer {offer}")
bought = trader.submit_order(MarketOrderRequest(symbol="AAPL", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
check(bought.status == OrderStatus.FILLED and bought.filled_qty == "5" and float(bought.filled_avg_price) == 190.0, f"market buy {bought}")
bid = trader.submit_order(LimitOrderRequest(symbol="MSFT", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=400.5,
                                            client_order_id="sdk-bid"))
check(bid.status == OrderStatus.NEW and float(bid.limit_price) == 400.5 and bid.client_order_id == "sdk-bid", f"limit bid {bid}")
check(bid.created_at is not None and bid.submitted_at is not None and bid.updated_at is not None, "an open order has its times")
stop = trader.submit_order(StopOrderRequest(symbol="TSLA", qty=2, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, stop_price=200.0))
stop_limit = trader.submit_order(StopLimitOrderRequest(symbol="TSLA", qty=2, side=OrderSide.SELL, time_in_force=TimeInForce.DAY,
                                                       stop_price=200.0, limit_price=199.5))
trailing = trader.submit_order(TrailingStopOrderRequest(symbol="SPY", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
                                                        trail_percent=5.0))
check(stop.type == OrderType.STOP and stop_limit.type == OrderType.STOP_LIMIT and trailing.type == OrderType.TRAILING_STOP,
      "stop, stop-limit and trailing stop")
check(float(trailing.trail_percent) == 5.0 and trailing.trail_price is None and stop.order_class == OrderClass.SIMPLE, f"trailing {trailing}")
# A partial fill: the open order shows what filled and at what average price.
maker.submit_order(LimitOrderRequest(symbol="BRK.B", qty=4, side=OrderSide.SELL, time_in_force=TimeInForce.DAY, limit_price=470.0))
partial = trader.submit_order(LimitOrderRequest(symbol="BRK.B", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=470.0))
check(partial.status == OrderStatus.PARTIALLY_FILLED and partial.filled_qty == "4" and float(partial.filled_avg_price) == 470.0, f"partial {partial}")
refused(lambda: trader.submit_order(MarketOrderRequest(symbol="AAPL", qty=0.5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)),
        422, "fractional")
refused(lambda: trader.submit_order(MarketOrderRequest(symbol="AAPL", notional=100, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)),
        422, "notional")
refused(lambda: trader.submit_order(LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                                      limit_price=180.0, extended_hours=True)), 422, "extended_hours")
refused(lambda: trader.submit_order(LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                                      limit_price=180.12345)), 422, "at most four decimals")
covers("submit_order")

check(trader.get_order_by_id(bid.id).id == bid.id and trader.get_order_by_id(str(bid.id)).client_order_id == "sdk-bid", "order by id")
check(trader.get_order_by_id(bought.id).status == OrderStatus.FILLED, "an ended order by id")
covers("get_order_by_id")
check(trader.get_order_by_client_id("sdk-bid").id == bid.id, "order by client id")
covers("get_order_by_client_id")

replaced = trader.replace_order_by_id(bid.id, ReplaceOrderRequest(qty=4, limit_price=401.0))
check(replaced.id != bid.id and replaced.replaces == bid.id and replaced.qty == "4" and float(replaced.limit_price) == 401.0, f"replace {replaced}")
check(trader.get_order_by_id(bid.id).status == OrderStatus.REPLACED, "the replaced order ended as replaced")
refused(lambda: trader.replace_order_by_id(replaced.id, ReplaceOrderRequest()), 422, "replace_changes_nothing")
covers("replace_order_by_id")

open_msft = trader.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=["MSFT"], side=OrderSide.BUY))
check([o.id for o in open_msft] == [replaced.id], f"open MSFT buys {open_msft}")
check(trader.get_orders(GetOrdersRequest(symbols=["MSFT"], side=OrderSide.SELL)) == [], "no MSFT sells")
everything = trader.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, direction="asc", limit=500))
check([o.id for o in everything][:2] == [bought.id, bid.id], f"all, oldest first: {[o.symbol for o in everything]}")
# Python's times have microseconds, Bourse's nanoseconds: one microsecond on is past the second order.
after = trader.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, after=everything[1].submitted_at + timedelta(microseconds=1), nested=True))
check(bought.id not in [o.id for o in after] and bid.id not in [o.id for o in after] and len(after) == len(everything) - 2, "after a time")
covers("get_orders")

trader.cancel_order_by_id(stop.id)
check(trader.get_order_by_id(stop.id).status == OrderStatus.CANCELED, "cancelled by id")
covers("cancel_order_by_id")

# Closing part of a position: a quantity, then a percentage rounded down to whole shares.
maker.submit_order(LimitOrderRequest(symbol="AAPL", qty=500, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=189.0))
one = trader.close_position("AAPL", ClosePositionRequest(qty="1"))
check(one.qty == "1" and one.side == OrderSide.SELL and one.status == OrderStatus.FILLED, f"close 1 {one}")
check(trader.get_open_position("AAPL").qty == "1004", "1,005 less 1")
tenth = trader.close_position(by_symbol["AAPL"].id, ClosePositionRequest(percentage="10"))
check(tenth.qty == "100" and trader.get_open_position("AAPL").qty == "904", f"close 10% {tenth}")
refused(lambda: trader.close_position("AAPL", ClosePositionRequest(qty="5000")), 403, "insufficient qty")
covers("close_position")

cancelled = trader.cancel_orders()
check(len(cancelled) >= 3 and all(c.status == 200 and isinstance(c.id, UUID) for c in cancelled), f"cancel all {cancelled}")
check(trader.get_orders() == [], "nothing open")
covers("cancel_orders")

# Order classes. A bracket: its exits are held while the entry works, placed when it fills, and the first
# to trade cancels the other.
bracket = trader.submit_order(LimitOrderRequest(symbol="MSFT", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
                                                limit_price=420.0, order_class=OrderClass.BRACKET,
                                                take_profit=TakeProfitRequest(limit_price=440.0), stop_loss=StopLossRequest(stop_price=400.0)))
check(bracket.order_class == OrderClass.BRACKET and bracket.status == OrderStatus.NEW and len(bracket.legs) == 2, f"bracket {bracket}")
profit, loss = bracket.legs
check(profit.status == loss.status == OrderStatus.HELD and profit.side == loss.side == OrderSide.SELL, f"held legs {bracket.legs}")
check(profit.type == OrderType.LIMIT and float(profit.limit_price) == 440.0 and loss.type == OrderType.STOP, "leg terms")
maker.submit_order(LimitOrderRequest(symbol="MSFT", qty=10, side=OrderSide.SELL, time_in_force=TimeInForce.DAY, limit_price=420.0))
check(trader.get_order_by_id(bracket.id).status == OrderStatus.FILLED, "the entry filled")
nested = trader.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True))
check([o.id for o in nested] == [bracket.id] and [leg.status for leg in nested[0].legs] == [OrderStatus.NEW, OrderStatus.NEW],
      f"nested: the filled entry with its working legs {nested}")
flat = trader.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))
check(sorted(str(o.id) for o in flat) == sorted([str(profit.id), str(loss.id)]), f"not nested, the legs are orders {flat}")
maker.submit_order(LimitOrderRequest(symbol="MSFT", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=440.0))
check(trader.get_order_by_id(profit.id).status == OrderStatus.FILLED and trader.get_order_by_id(loss.id).status == OrderStatus.CANCELED,
      "the take-profit filled and the stop-loss was cancelled")
refused(lambda: trader.submit_order(LimitOrderRequest(symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
                                                      limit_price=420.0, order_class=OrderClass.BRACKET,
                                                      take_profit=TakeProfitRequest(limit_price=410.0),
                                                      stop_loss=StopLossRequest(stop_price=400.0))), 422, "exit_price_out_of_order")

# An oco on shares held: both exits work at once; cancelling one cancels both.
oco = trader.submit_order(LimitOrderRequest(symbol="AAPL", qty=100, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
                                            order_class=OrderClass.OCO, take_profit=TakeProfitRequest(limit_price=200.0),
                                            stop_loss=StopLossRequest(stop_price=150.0, limit_price=149.0)))
check(oco.order_class == OrderClass.OCO and oco.status == OrderStatus.NEW and float(oco.limit_price) == 200.0, f"oco {oco}")
check(len(oco.legs) == 1 and oco.legs[0].type == OrderType.STOP_LIMIT and oco.legs[0].status == OrderStatus.NEW, f"oco leg {oco.legs}")
trader.cancel_order_by_id(oco.legs[0].id)
check(trader.get_order_by_id(oco.id).status == OrderStatus.CANCELED, "cancelling the stop-loss cancelled the take-profit")
refused(lambda: trader.submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.DAY,
                                                       order_class=OrderClass.OCO, take_profit=TakeProfitRequest(limit_price=200.0),
                                                       stop_loss=StopLossRequest(stop_price=150.0))), 422, "type must be limit")

# An oto: one exit, placed for what the entry filled.
oto = trader.submit_order(LimitOrderRequest(symbol="TSLA", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=250.0,
                                            order_class=OrderClass.OTO, stop_loss=StopLossRequest(stop_price=240.0)))
check(oto.order_class == OrderClass.OTO and len(oto.legs) == 1 and oto.legs[0].status == OrderStatus.HELD, f"oto {oto}")
maker.submit_order(LimitOrderRequest(symbol="TSLA", qty=5, side=OrderSide.SELL, time_in_force=TimeInForce.DAY, limit_price=250.0))
placed = trader.get_order_by_id(oto.legs[0].id)
check(placed.status == OrderStatus.NEW and placed.qty == "5" and placed.order_class == OrderClass.OTO, f"oto exit {placed}")
trader.cancel_order_by_id(placed.id)

configuration = trader.get_account_configurations()
check(isinstance(configuration, AccountConfiguration) and configuration.no_shorting and not configuration.fractional_trading, f"{configuration}")
covers("get_account_configurations")
check(trader.set_account_configurations(configuration) == configuration, "setting what is, is accepted")
configuration.no_shorting = False
refused(lambda: trader.set_account_configurations(configuration), 422, "no_shorting")
covers("set_account_configurations")

# Activities, through the SDK's REST layer (TradingClient has no method for them): filtered and paged.
fills = trader.get("/account/activities/FILL", {"page_size": 2})
check(len(fills) == 2 and all(f["activity_type"] == "FILL" and UUID(f["order_id"]) for f in fills), f"fills {fills}")
more = trader.get("/account/activities", {"activity_types": "FILL", "page_size": 2, "page_token": fills[-1]["id"]})
check(len(more) >= 1 and more[0]["id"] != fills[-1]["id"] and more[0]["transaction_time"] <= fills[-1]["transaction_time"], f"next page {more}")
refused(lambda: trader.get("/account/activities", {"activity_types": "NOPE"}), 422, "NOPE")
refused(lambda: trader.get("/orders", {"color": "blue"}), 422, "color is not a parameter")

# Watchlists: created, read, renamed, grown and shrunk, deleted; kept per account.
tech = trader.create_watchlist(CreateWatchlistRequest(name="tech", symbols=["AAPL", "MSFT"]))
check(isinstance(tech.id, UUID) and tech.account_id == account.id and [a.symbol for a in tech.assets] == ["AAPL", "MSFT"], f"create {tech}")
covers("create_watchlist")
check([w.name for w in trader.get_watchlists()] == ["tech"] and maker.get_watchlists() == [], "listed for its account only")
covers("get_watchlists")
check(trader.get_watchlist_by_id(tech.id).assets[1].symbol == "MSFT", "by id")
covers("get_watchlist_by_id")
renamed = trader.update_watchlist_by_id(tech.id, UpdateWatchlistRequest(name="mega", symbols=["TSLA"]))
check(renamed.name == "mega" and [a.symbol for a in renamed.assets] == ["TSLA"], f"update {renamed}")
covers("update_watchlist_by_id")
grown = trader.add_asset_to_watchlist_by_id(tech.id, "SPY")
check([a.symbol for a in grown.assets] == ["TSLA", "SPY"], f"add {grown}")
refused(lambda: trader.add_asset_to_watchlist_by_id(tech.id, "SPY"), 422, "already")
refused(lambda: trader.add_asset_to_watchlist_by_id(tech.id, "NOPE"), 422, "not a listed symbol")
covers("add_asset_to_watchlist_by_id")
shrunk = trader.remove_asset_from_watchlist_by_id(tech.id, "TSLA")
check([a.symbol for a in shrunk.assets] == ["SPY"], f"remove {shrunk}")
covers("remove_asset_from_watchlist_by_id")
check(trader.get("/watchlists:by_name", {"name": "mega"})["id"] == str(tech.id), "by name")
trader.delete_watchlist_by_id(tech.id)
check(trader.get_watchlists() == [], "deleted")
refused(lambda: trader.get_watchlist_by_id(tech.id), 404, "not found")
covers("delete_watchlist_by_id")

# Portfolio history: the equity now matches the account's, and a deposit-free day's profit is equity less its start.
history = trader.get_portfolio_history(GetPortfolioHistoryRequest(period="1D", timeframe="1Min"))
check(len(history.timestamp) == len(history.equity) and history.timeframe == "1Min" and len(history.timestamp) >= 1440, f"history {len(history.timestamp)}")
now_account = trader.get_account()
check(abs(history.equity[-1] - float(now_account.equity)) < 0.01, f"equity {history.equity[-1]} against {now_account.equity}")
# The account was opened with $1,000,000 and 1,000 shares of each symbol at its previous close: brought in,
# not profit. What is left is what trading made.
brought_in = 1_000_000 + 1_000 * (190 + 420 + 560 + 250 + 470)
check(abs(history.profit_loss[-1] - (float(now_account.equity) - brought_in)) < 0.01, f"profit {history.profit_loss[-1]} against {float(now_account.equity) - brought_in}")
daily = trader.get_portfolio_history(GetPortfolioHistoryRequest(period="1W"))
check(daily.timeframe == "15Min" and daily.equity[-1] == history.equity[-1], f"a week in 15 minutes {daily.timeframe}")
refused(lambda: trader.get_portfolio_history(GetPortfolioHistoryRequest(period="1A", timeframe="1Min")), 422, "intervals of 1Min")
covers("get_portfolio_history")

closed = trader.close_all_positions(cancel_orders=True)
check(len(closed) == 5 and all(c.status in (200, 403) for c in closed), f"close all {closed}")
check(any(c.status == 200 and isinstance(c.body, Order) for c in closed), "at least one close order")
covers("close_all_positions")

coverage.summary()
