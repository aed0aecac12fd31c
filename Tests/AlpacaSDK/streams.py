"""alpaca-py's TradingStream (JSON) and StockDataStream (MessagePack), with their default settings,
against a running Bourse venue: an order placed while both listen arrives as the SDK's own models.
Run by AlpacaSDKTests with BOURSE_URL and the keys of accounts 1 and 3."""

import asyncio
from datetime import datetime, timedelta, timezone
from uuid import UUID

from alpaca.data.live.stock import StockDataStream
from alpaca.data.models import Quote, Trade
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.models import TradeUpdate
from alpaca.trading.requests import LimitOrderRequest
from alpaca.trading.stream import TradingStream

from common import MAKER, TRADER, URL, check

WS = URL.replace("http://", "ws://")
KEY, SECRET = TRADER
trader = TradingClient(*TRADER, paper=True, url_override=URL)
maker = TradingClient(*MAKER, paper=True, url_override=URL)


async def main():
    updates, trades, quotes = [], [], []

    async def on_update(update):
        updates.append(update)

    async def on_trade(trade):
        trades.append(trade)

    async def on_quote(quote):
        quotes.append(quote)

    trading = TradingStream(KEY, SECRET, paper=True, url_override=f"{WS}/stream")
    trading.subscribe_trade_updates(on_update)
    market = StockDataStream(KEY, SECRET, url_override=f"{WS}/v2/stream")
    market.subscribe_trades(on_trade, "TSLA")
    market.subscribe_quotes(on_quote, "TSLA")
    running = [asyncio.create_task(trading._run_forever()), asyncio.create_task(market._run_forever())]
    # Both are listening once the market stream has sent TSLA's first quote or a second has passed.
    for _ in range(50):
        if trading._running and market._running:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)

    offer = await asyncio.to_thread(maker.submit_order, LimitOrderRequest(symbol="TSLA", qty=6, side=OrderSide.SELL,
                                                                           time_in_force=TimeInForce.DAY, limit_price=250.0))
    bid = await asyncio.to_thread(trader.submit_order, LimitOrderRequest(symbol="TSLA", qty=4, side=OrderSide.BUY,
                                                                         time_in_force=TimeInForce.DAY, limit_price=250.0))
    # Until the quote after the trade (2 left on offer) has come, not only the one before it.
    for _ in range(400):
        if len(updates) >= 2 and trades and quotes and quotes[-1].ask_size == 2:
            break
        await asyncio.sleep(0.05)
    await trading.stop_ws()
    await market.stop_ws()
    for task in running:
        task.cancel()

    check(updates and updates[-1].event == "fill" and all(u.order.id == bid.id for u in updates), f"updates {updates}")
    fill = updates[-1]
    check(isinstance(fill, TradeUpdate) and fill.order.id == bid.id and isinstance(fill.execution_id, UUID), f"fill {fill}")
    check(fill.price == 250.0 and fill.qty == 4 and fill.order.filled_qty == "4", f"fill figures {fill}")
    print("covered TradingStream.subscribe_trade_updates", flush=True)
    check(len(trades) == 1 and isinstance(trades[0], Trade) and trades[0].price == 250.0 and trades[0].size == 4, f"trades {trades}")
    # The time came as MessagePack's timestamp extension, read by the SDK as a time.
    check(abs(trades[0].timestamp - datetime.now(timezone.utc)) < timedelta(minutes=1), f"trade time {trades[0].timestamp}")
    check(all(isinstance(q, Quote) for q in quotes) and quotes[-1].ask_price == 250.0 and quotes[-1].ask_size == 2, f"quotes {quotes}")
    print("covered StockDataStream.subscribe_trades, StockDataStream.subscribe_quotes", flush=True)


asyncio.run(main())
print("Stream methods covered: 3: TradingStream.subscribe_trade_updates, StockDataStream.subscribe_trades, StockDataStream.subscribe_quotes", flush=True)
