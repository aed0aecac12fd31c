"""alpaca-py's StockHistoricalDataClient, with its default settings, against a running Bourse venue:
every request type, for several symbols and for one, checked against the trades made here. Run by
AlpacaSDKTests with BOURSE_URL and the keys of accounts 1 and 3."""

from datetime import datetime, timedelta, timezone

from alpaca.data.enums import DataFeed
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.models import Bar, BarSet, Quote, QuoteSet, Snapshot, Trade, TradeSet
from alpaca.data.requests import (StockBarsRequest, StockLatestBarRequest, StockLatestQuoteRequest, StockLatestTradeRequest,
                                  StockQuotesRequest, StockSnapshotRequest, StockTradesRequest)
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest

from common import MAKER, TRADER, URL, Coverage, check, refused

trader = TradingClient(*TRADER, paper=True, url_override=URL)
maker = TradingClient(*MAKER, paper=True, url_override=URL)
data = StockHistoricalDataClient(*TRADER, url_override=URL)
coverage = Coverage("StockHistoricalDataClient")
covers = coverage.covers


started = datetime.now(timezone.utc) - timedelta(seconds=1)
# Three trades in AAPL and two in MSFT; the MSFT bid stays, so its book has a top.
for symbol, price, qty in [("AAPL", 190.0, 1), ("AAPL", 190.25, 2), ("AAPL", 189.75, 3), ("MSFT", 420.0, 4), ("MSFT", 420.5, 5)]:
    maker.submit_order(LimitOrderRequest(symbol=symbol, qty=qty, side=OrderSide.SELL, time_in_force=TimeInForce.DAY, limit_price=price))
    trader.submit_order(LimitOrderRequest(symbol=symbol, qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=price))
trader.submit_order(LimitOrderRequest(symbol="MSFT", qty=7, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=419.0))
maker.submit_order(LimitOrderRequest(symbol="MSFT", qty=9, side=OrderSide.SELL, time_in_force=TimeInForce.DAY, limit_price=421.0))

trades = data.get_stock_trades(StockTradesRequest(symbol_or_symbols=["AAPL", "MSFT"], start=started))
check(isinstance(trades, TradeSet) and [t.price for t in trades["AAPL"]] == [190.0, 190.25, 189.75], f"AAPL trades {trades}")
check([t.size for t in trades["MSFT"]] == [4, 5] and all(t.exchange == "BOURSE" for t in trades["MSFT"]), "MSFT trades")
one = data.get_stock_trades(StockTradesRequest(symbol_or_symbols="AAPL", start=started, limit=2))
check([t.size for t in one["AAPL"]] == [1, 2], f"limit 2 {one}")
# Other venues' feeds are not Bourse's to serve: asked for by name, refused by name.
refused(lambda: data.get_stock_trades(StockTradesRequest(symbol_or_symbols="AAPL", feed=DataFeed.IEX)), 422, "feed is not supported")
covers("get_stock_trades")

quotes = data.get_stock_quotes(StockQuotesRequest(symbol_or_symbols=["MSFT"], start=started))
check(isinstance(quotes, QuoteSet) and quotes["MSFT"][-1].ask_price == 421.0 and quotes["MSFT"][-1].bid_price == 419.0, f"quotes {quotes}")
covers("get_stock_quotes")

bars = data.get_stock_bars(StockBarsRequest(symbol_or_symbols=["AAPL", "MSFT"], timeframe=TimeFrame.Minute, start=started - timedelta(minutes=1)))
check(isinstance(bars, BarSet) and sum(b.volume for b in bars["AAPL"]) == 6 and sum(b.volume for b in bars["MSFT"]) == 9, f"bars {bars}")
day = data.get_stock_bars(StockBarsRequest(symbol_or_symbols="AAPL", timeframe=TimeFrame.Day))
check(day["AAPL"][-1].high == 190.25 and day["AAPL"][-1].low == 189.75, f"day bar {day}")
covers("get_stock_bars")

latest_trades = data.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols=["AAPL", "MSFT", "TSLA"]))
check(latest_trades["AAPL"].price == 189.75 and latest_trades["MSFT"].size == 5 and "TSLA" not in latest_trades, f"latest trades {latest_trades}")
covers("get_stock_latest_trade")
latest_quotes = data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols="MSFT"))
check(isinstance(latest_quotes["MSFT"], Quote) and latest_quotes["MSFT"].bid_size == 7 and latest_quotes["MSFT"].ask_size == 9, f"latest quote {latest_quotes}")
covers("get_stock_latest_quote")
latest_bars = data.get_stock_latest_bar(StockLatestBarRequest(symbol_or_symbols=["AAPL"]))
check(isinstance(latest_bars["AAPL"], Bar) and latest_bars["AAPL"].close == 189.75, f"latest bar {latest_bars}")
covers("get_stock_latest_bar")
snapshots = data.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols=["AAPL", "MSFT"]))
check(isinstance(snapshots["MSFT"], Snapshot) and snapshots["MSFT"].latest_trade.price == 420.5 and snapshots["MSFT"].latest_quote.bid_price == 419.0,
      f"snapshot {snapshots}")
check(snapshots["AAPL"].daily_bar.volume == 6 and snapshots["AAPL"].minute_bar is not None, "snapshot bars")
covers("get_stock_snapshot")

# Paging, through the SDK's REST layer: two trades a page until the token runs out, nothing repeated.
pages, token = [], None
while True:
    page = data.get("/stocks/trades", {"symbols": "AAPL,MSFT", "start": started.isoformat(), "limit": 2, "page_token": token})
    pages.append(page["trades"])
    token = page["next_page_token"]
    if token is None:
        break
flat = [(symbol, t["i"]) for p in pages for symbol, ts in p.items() for t in ts]
check(len(pages) == 3 and len(flat) == 5 and len(set(flat)) == 5, f"pages {pages}")

coverage.summary()
