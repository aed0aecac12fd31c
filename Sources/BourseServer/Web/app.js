// Bourse's web UI: plain JavaScript, no dependencies. Prices and money arrive as decimal strings and are
// shown from their digits (money with thousands separators and two decimals, through BigInt, never a
// float); numbers are parsed only to draw the chart.
"use strict";

const state = {
  token: sessionStorage.getItem("bourse.token"),
  account: sessionStorage.getItem("bourse.account"),
  role: sessionStorage.getItem("bourse.role"),
  symbol: localStorage.getItem("bourse.symbol"),
  timeframe: "1Min",
  bars: [],
  trading: null,
  market: null,
  bookTimer: null,
  closed: false,
  // The last print and whether it ticked up: a print at the same price keeps the tick before it.
  tick: { price: null, up: true },
};

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const headers = { "Authorization": "Bearer " + state.token };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 && state.token) { signOut("Your session ended; sign in again."); throw new Error("signed out"); }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok && response.status !== 207) throw new Error(data && data.message ? data.message : "HTTP " + response.status);
  return data;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function fill(tableId, rows) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren(...rows);
}

function shortTime(iso) { return iso ? iso.slice(11, 19) : ""; }

// A price from the market data stream (a JSON number, written exactly) with at least two decimals, by
// its digits rather than by floating-point formatting.
function price(value) {
  const text = String(value);
  const dot = text.indexOf(".");
  if (dot < 0) return text + ".00";
  return text.length - dot === 2 ? text + "0" : text;
}

// A decimal string as an integer of ten-thousandths, exactly.
function units(text) {
  const match = /^(-?)(\d+)(?:\.(\d{0,4}))?/.exec(String(text));
  if (!match) return null;
  const value = BigInt(match[2]) * 10000n + BigInt((match[3] || "").padEnd(4, "0"));
  return match[1] ? -value : value;
}

// Ten-thousandths as money: thousands separators and two decimals, rounded half away from zero.
function money(value) {
  if (value == null || value === "") return "";
  const u = typeof value === "bigint" ? value : units(value);
  if (u == null) return String(value);
  const negative = u < 0n, magnitude = negative ? -u : u;
  const cents = (magnitude + 50n) / 100n;
  const whole = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative && cents > 0n ? "-" : "") + whole + "." + (cents % 100n).toString().padStart(2, "0");
}

// An order as a trader names it: "Buy 7 MSFT at 420.00".
function describe(order) {
  const side = order.side === "buy" ? "Buy" : "Sell";
  return side + " " + order.qty + " " + order.symbol + (order.limit_price ? " at " + order.limit_price : order.type === "market" ? " at market" : "");
}

function notice(text) {
  $("notice").textContent = text;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { $("notice").textContent = ""; }, 6000);
}

// Sign in and out.

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  try {
    const response = await fetch("/v1/sessions", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ key_id: $("key-id").value.trim(), secret: $("secret").value.trim() }) });
    const data = await response.json();
    if (!response.ok) throw new Error(data.message);
    state.token = data.token; state.account = data.account; state.role = data.role;
    sessionStorage.setItem("bourse.token", data.token);
    sessionStorage.setItem("bourse.account", data.account);
    sessionStorage.setItem("bourse.role", data.role);
    $("secret").value = "";
    start();
  } catch (error) {
    $("signin-error").textContent = error.message;
  }
});

$("signout").addEventListener("click", async () => {
  try { await api("DELETE", "/v1/sessions"); } catch (_) {}
  signOut("");
});

function signOut(message) {
  state.token = null;
  state.closed = true;
  sessionStorage.removeItem("bourse.token");
  if (state.trading) state.trading.close();
  if (state.market) state.market.close();
  clearInterval(state.refreshTimer);
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
}

// The page.

async function start() {
  state.closed = false;
  $("signin").hidden = true;
  $("app").hidden = false;
  $("admin-tab").hidden = !(state.role === "admin" || state.role === "risk");
  $("post-trade-tab").hidden = $("admin-tab").hidden;
  $("risk-tab").hidden = $("admin-tab").hidden;
  const assets = await api("GET", "/v2/assets");
  const select = $("symbol");
  select.replaceChildren(...assets.map((a) => { const o = document.createElement("option"); o.value = o.textContent = a.symbol; return o; }));
  if (!assets.some((a) => a.symbol === state.symbol)) state.symbol = assets.length ? assets[0].symbol : null;
  select.value = state.symbol;
  connectTrading();
  connectMarket();
  await Promise.all([loadSymbol(), refreshAccount()]);
  state.refreshTimer = setInterval(() => { refreshAccount(); loadBook(); }, 5000);
}

$("symbol").addEventListener("change", () => {
  const previous = state.symbol;
  state.symbol = $("symbol").value;
  localStorage.setItem("bourse.symbol", state.symbol);
  subscribe(previous, state.symbol);
  loadSymbol();
});

$("timeframe").addEventListener("change", () => { state.timeframe = $("timeframe").value; loadBars(); });

async function loadSymbol() {
  fill("tape", []);
  $("last").textContent = "";
  state.tick = { price: null, up: true };
  await Promise.all([loadBook(), loadBars(), loadTape()]);
}

// The tape starts with the symbol's latest prints, then follows the stream.
async function loadTape() {
  if (!state.symbol) return;
  const symbol = state.symbol;
  const data = await api("GET", "/v2/stocks/" + encodeURIComponent(symbol) + "/trades?sort=desc&limit=50");
  if (symbol !== state.symbol || $("tape").tBodies[0].rows.length > 0) return;
  for (const trade of data.trades.reverse()) addPrint(trade);
}

async function loadBook() {
  if (!state.symbol) return;
  const book = await api("GET", "/v1/book/" + encodeURIComponent(state.symbol) + "?depth=10");
  const rows = [];
  for (const level of [...book.asks].reverse()) {
    const tr = document.createElement("tr");
    tr.append(cell(""), cell(""), ladderPrice(level.price), cell(level.size, "ask"), cell(level.orders));
    rows.push(tr);
  }
  for (const level of book.bids) {
    const tr = document.createElement("tr");
    tr.append(cell(level.orders), cell(level.size, "bid"), ladderPrice(level.price), cell(""), cell(""));
    rows.push(tr);
  }
  fill("ladder", rows);
  if (book.last_trade && !$("last").textContent) $("last").textContent = book.last_trade;
  if (book.state !== "open") notice(state.symbol + " is " + book.state);
}

// A ladder price: a click puts it in the ticket as the limit price (a market order becomes a limit one).
function ladderPrice(text) {
  const td = cell(text, "price");
  td.title = "Use this price";
  td.addEventListener("click", () => {
    if (!["limit", "stop_limit"].includes($("type").value)) { $("type").value = "limit"; showFieldsFor("limit"); }
    $("limit-price").value = text;
    $("limit-price").focus();
  });
  return td;
}

// Re-read the book at most every 200 ms, whatever the rate of quotes.
function bookChanged() {
  if (state.bookTimer) return;
  state.bookTimer = setTimeout(() => { state.bookTimer = null; loadBook().catch(() => {}); }, 200);
}

async function refreshAccount() {
  const account = await api("GET", "/v2/account");
  $("account-line").textContent = "Account " + account.account_number + " · equity " + (money(account.equity) || "–") + " · buying power " +
    (money(account.buying_power) || "–") + " · cash " + money(account.cash);
  await Promise.all([loadOpenOrders(), loadOrders(), loadPositions(), loadActivity()]);
}

async function loadOpenOrders() {
  const orders = await api("GET", "/v2/orders?status=open&limit=200");
  fill("open-orders", orders.map((o) => {
    const tr = document.createElement("tr");
    tr.dataset.orderId = o.id;
    tr.dataset.orderStatus = o.status;
    const actions = document.createElement("td");
    const cancel = document.createElement("button");
    cancel.className = "small"; cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => cancelOrder(o.id));
    const replace = document.createElement("button");
    replace.className = "small"; replace.textContent = "Replace";
    replace.addEventListener("click", () => replaceOrder(o));
    actions.append(cancel, " ", replace);
    tr.append(cell(o.symbol), cell(o.side, o.side), cell(o.type), cell(o.qty), cell(o.filled_qty), cell(o.limit_price),
      cell(o.stop_price), cell(o.status), actions);
    return tr;
  }));
}

async function loadOrders() {
  const orders = await api("GET", "/v2/orders?status=all&limit=50");
  fill("orders", orders.map((o) => {
    const tr = document.createElement("tr");
    tr.dataset.orderId = o.id;
    tr.dataset.orderStatus = o.status;
    tr.append(cell(shortTime(o.updated_at)), cell(o.symbol), cell(o.side, o.side), cell(o.type), cell(o.qty), cell(o.filled_qty),
      cell(o.filled_avg_price), cell(o.status));
    return tr;
  }));
}

async function loadPositions() {
  const positions = await api("GET", "/v2/positions");
  fill("positions", positions.map((p) => {
    const tr = document.createElement("tr");
    const pl = p.unrealized_pl || "";
    tr.append(cell(p.symbol), cell(p.qty), cell(p.avg_entry_price), cell(p.current_price), cell(money(p.market_value)),
      cell(money(pl), pl.startsWith("-") ? "sell" : "buy"), cell(money(p.realized_pl)));
    return tr;
  }));
}

async function loadActivity() {
  const activities = await api("GET", "/v2/account/activities?page_size=100");
  fill("activity", activities.map((a) => {
    const tr = document.createElement("tr");
    // A fill's amount is what it moved: the price times the quantity, paid on a buy, received on a sell.
    let amount = a.net_amount;
    if (a.activity_type === "FILL") {
      const gross = units(a.price) * BigInt(a.qty);
      amount = a.side === "buy" ? -gross : gross;
    }
    const side = a.side || (a.activity_type === "CSD" ? "deposit" : a.activity_type === "CSW" ? "withdrawal" : "");
    tr.append(cell(shortTime(a.transaction_time)), cell(a.activity_type === "FILL" ? a.type : a.activity_type), cell(a.symbol),
      cell(side, a.side), cell(a.qty), cell(a.price), cell(money(amount)));
    return tr;
  }));
}

// Orders.

function showFieldsFor(type) {
  for (const label of document.querySelectorAll("#order-form [data-for]")) {
    label.hidden = !label.dataset.for.split(" ").includes(type);
  }
}
$("type").addEventListener("change", () => showFieldsFor($("type").value));
showFieldsFor($("type").value);

$("order-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const type = form.get("type");
  const order = { symbol: state.symbol, qty: String(form.get("qty")).trim(), side: form.get("side"), type, time_in_force: form.get("time_in_force") };
  for (const field of ["limit_price", "stop_price", "trail_price", "trail_percent", "display_qty", "client_order_id"]) {
    const input = event.target.elements[field];
    const value = String(form.get(field) || "").trim();
    if (value && !input.closest("label").hidden) order[field] = value;
  }
  if ($("post-only").checked && !$("post-only").closest("label").hidden) order.post_only = true;
  if (form.get("stp") !== "none") order.stp = form.get("stp");
  const message = $("order-message");
  message.className = "message";
  message.textContent = "Sending…";
  try {
    const placed = await api("POST", "/v2/orders", order);
    message.className = "message good";
    // Orders are named as a trader reads them; the id is kept on the element and in the order lists.
    message.textContent = describe(placed) + ": " + placed.status.replace("_", " ") +
      (placed.filled_qty !== "0" ? " " + placed.filled_qty + " at " + placed.filled_avg_price : "") +
      (placed.cancel_message ? " (" + placed.cancel_message + ")" : "");
    message.dataset.orderId = placed.id;
    $("client-order-id").value = "";
    refreshAccount();
  } catch (error) {
    message.className = "message bad";
    message.textContent = error.message;
  }
});

async function cancelOrder(id) {
  try { await api("DELETE", "/v2/orders/" + id); } catch (error) { notice(error.message); }
  refreshAccount();
}

async function replaceOrder(order) {
  const qty = prompt("New total quantity for order " + order.id, order.qty);
  if (qty === null) return;
  const change = { qty: qty.trim() };
  if (order.limit_price) {
    const limit = prompt("New limit price", order.limit_price);
    if (limit === null) return;
    change.limit_price = limit.trim();
  }
  if (order.stop_price) {
    const stop = prompt("New stop price", order.stop_price);
    if (stop === null) return;
    change.stop_price = stop.trim();
  }
  try {
    const replaced = await api("PATCH", "/v2/orders/" + order.id, change);
    notice(describe(order) + " replaced: now " + replaced.qty + (replaced.limit_price ? " at " + replaced.limit_price : ""));
  } catch (error) {
    notice(error.message);
  }
  refreshAccount();
}

// Admin.

$("halt-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const symbol = $("admin-symbol").value.trim().toUpperCase();
  await adminAction("/v1/admin/symbols/" + encodeURIComponent(symbol) + "/state", { state: $("admin-state").value },
    symbol + " is now " + $("admin-state").value);
  if (symbol === state.symbol) loadBook();
});

$("kill-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const account = $("kill-account").value.trim();
  if (!confirm("Cancel every order of account " + account + " and block it?")) return;
  await adminAction("/v1/admin/accounts/" + encodeURIComponent(account) + "/kill", undefined, "Account " + account + " is blocked and its orders cancelled");
});

async function adminAction(path, body, done) {
  const message = $("admin-message");
  try {
    await api("POST", path, body);
    message.className = "message good";
    message.textContent = done;
  } catch (error) {
    message.className = "message bad";
    message.textContent = error.message;
  }
}

for (const tab of document.querySelectorAll(".tabs button")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll(".tabs button")) other.classList.toggle("active", other === tab);
    for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== tab.dataset.tab;
  });
}

// Streams. Both reconnect after a drop, a second later.

function socketURL(path) { return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path; }

function connectTrading() {
  const socket = new WebSocket(socketURL("/stream"));
  state.trading = socket;
  socket.onopen = () => socket.send(JSON.stringify({ action: "authenticate", data: { token: state.token } }));
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.stream === "authorization" && message.data.status === "authorized") {
      socket.send(JSON.stringify({ action: "listen", data: { streams: ["trade_updates"] } }));
    } else if (message.stream === "trade_updates") {
      const update = message.data, order = update.order;
      notice(describe(order) + ": " + update.event +
        (update.price ? " " + update.qty + " at " + update.price : ""));
      clearTimeout(connectTrading.refresh);
      connectTrading.refresh = setTimeout(refreshAccount, 100);
      if (order.symbol === state.symbol) bookChanged();
    }
  };
  socket.onclose = () => { if (!state.closed) setTimeout(connectTrading, 1000); };
}

function connectMarket() {
  const socket = new WebSocket(socketURL("/v2/stream"));
  state.market = socket;
  socket.onopen = () => socket.send(JSON.stringify({ action: "auth", token: state.token }));
  socket.onmessage = (event) => {
    for (const m of JSON.parse(event.data)) {
      if (m.T === "success" && m.msg === "authenticated") subscribe(null, state.symbol);
      else if (m.S !== state.symbol) continue;
      else if (m.T === "t") onTrade(m);
      else if (m.T === "q") bookChanged();
      else if (m.T === "b" && state.timeframe === "1Min") onBar(m);
    }
  };
  socket.onclose = () => { if (!state.closed) setTimeout(connectMarket, 1000); };
}

function subscribe(previous, symbol) {
  const socket = state.market;
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  if (previous) socket.send(JSON.stringify({ action: "unsubscribe", trades: [previous], quotes: [previous], bars: [previous] }));
  if (symbol) socket.send(JSON.stringify({ action: "subscribe", trades: [symbol], quotes: [symbol], bars: [symbol] }));
}

// A print on the tape, green when it ticked up from the last, red when down, as the last when level.
function addPrint(trade) {
  const text = price(trade.p), value = units(text);
  if (state.tick.price !== null && value !== state.tick.price) state.tick.up = value > state.tick.price;
  state.tick.price = value;
  const tr = document.createElement("tr");
  tr.append(cell(shortTime(trade.t)), cell(text, state.tick.up ? "buy" : "sell"), cell(trade.s));
  const body = $("tape").tBodies[0];
  body.prepend(tr);
  while (body.rows.length > 100) body.deleteRow(body.rows.length - 1);
  $("last").textContent = text;
  $("last").className = "last " + (state.tick.up ? "buy" : "sell");
}

function onTrade(trade) {
  addPrint(trade);
  // The live bar follows the tape; the server's closed bar replaces it when it comes.
  const start = bucket(Date.parse(trade.t));
  const last = state.bars[state.bars.length - 1];
  if (last && last.start === start) {
    last.h = Math.max(last.h, trade.p); last.l = Math.min(last.l, trade.p); last.c = trade.p; last.v += trade.s;
  } else if (!last || start > last.start) {
    state.bars.push({ start, o: trade.p, h: trade.p, l: trade.p, c: trade.p, v: trade.s });
  }
  drawChart();
}

function onBar(bar) {
  const start = Date.parse(bar.t);
  const index = state.bars.findIndex((b) => b.start === start);
  const value = { start, o: bar.o, h: bar.h, l: bar.l, c: bar.c, v: bar.v };
  if (index >= 0) state.bars[index] = value; else state.bars.push(value);
  state.bars.sort((a, b) => a.start - b.start);
  drawChart();
}

const timeframeMillis = { "1Min": 60e3, "5Min": 300e3, "15Min": 900e3, "1Hour": 3600e3, "1Day": 86400e3 };
function bucket(millis) { const step = timeframeMillis[state.timeframe]; return Math.floor(millis / step) * step; }

async function loadBars() {
  if (!state.symbol) return;
  const data = await api("GET", "/v2/stocks/" + encodeURIComponent(state.symbol) + "/bars?timeframe=" + state.timeframe + "&limit=120&sort=desc");
  state.bars = data.bars.reverse().map((b) => ({ start: Date.parse(b.t), o: b.o, h: b.h, l: b.l, c: b.c, v: b.v }));
  drawChart();
}

// The candlestick chart, drawn on a canvas sized to the device's pixels.
function drawChart() {
  const canvas = $("candles");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const bars = state.bars.slice(-Math.max(10, Math.floor((width - 60) / 7)));
  g.fillStyle = "#8a97a6";
  g.font = "11px system-ui, sans-serif";
  if (bars.length === 0) { g.fillText("No trades yet", 12, 20); return; }
  let low = Math.min(...bars.map((b) => b.l)), high = Math.max(...bars.map((b) => b.h));
  if (high === low) { high += 0.5; low -= 0.5; }
  const pad = (high - low) * 0.08; high += pad; low -= pad;
  // Candles above, each bar's volume in the bottom fifth.
  const plotWidth = width - 60, plotTop = 8, volumeHeight = Math.round((height - 28) / 5), plotHeight = height - 28 - volumeHeight - 4;
  const y = (value) => plotTop + (high - value) / (high - low) * plotHeight;
  const step = plotWidth / bars.length;
  const body = Math.max(1, Math.min(12, step * 0.7));
  g.strokeStyle = "#2a3440"; g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const level = low + (high - low) * i / 4, py = Math.round(y(level)) + 0.5;
    g.beginPath(); g.moveTo(0, py); g.lineTo(plotWidth, py); g.stroke();
    g.fillText(level.toFixed(2), plotWidth + 6, py + 4);
  }
  bars.forEach((b, i) => {
    const x = i * step + step / 2;
    const up = b.c >= b.o;
    g.strokeStyle = g.fillStyle = up ? "#2fb36b" : "#e5534b";
    g.beginPath(); g.moveTo(Math.round(x) + 0.5, y(b.h)); g.lineTo(Math.round(x) + 0.5, y(b.l)); g.stroke();
    const top = y(Math.max(b.o, b.c)), bottom = y(Math.min(b.o, b.c));
    g.fillRect(x - body / 2, top, body, Math.max(1, bottom - top));
  });
  const volumeMax = Math.max(...bars.map((b) => b.v), 1), volumeBottom = height - 20;
  bars.forEach((b, i) => {
    const x = i * step + step / 2, tall = Math.max(1, b.v / volumeMax * volumeHeight);
    g.fillStyle = b.c >= b.o ? "rgba(47, 179, 107, 0.5)" : "rgba(229, 83, 75, 0.5)";
    g.fillRect(x - body / 2, volumeBottom - tall, body, tall);
  });
  g.fillStyle = "#8a97a6";
  g.fillText("vol " + volumeMax, plotWidth + 6, volumeBottom);
  const labels = Math.max(1, Math.floor(bars.length / 5));
  bars.forEach((b, i) => {
    if (i % labels !== 0) return;
    const text = state.timeframe === "1Day" ? new Date(b.start).toISOString().slice(5, 10) : new Date(b.start).toISOString().slice(11, 16);
    g.fillText(text, i * step, height - 4);
  });
}
window.addEventListener("resize", drawChart);

if (state.token) start().catch(() => signOut("Sign in again."));
