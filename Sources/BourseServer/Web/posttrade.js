// Post-trade, in its own tab (risk and admin keys): the business date and a rollover by hand, the trades
// with their lifecycle, the capture retry queue and its dead letters (replay, discard), and the
// reconciliation breaks waiting for review (resolve, saying how). Read again every five seconds while the
// tab is open; every action goes through the API like any client's. `api`, `fill`, `cell` and `price` are app.js's.
"use strict";

function postTradeMessage(text, good) {
  const message = $("post-trade-message");
  message.className = "message " + (good ? "good" : "bad");
  message.textContent = text;
}

function button(text, action) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", action);
  return b;
}

async function loadPostTrade() {
  if ($("post-trade-tab").hidden || document.querySelector('[data-panel="post-trade"]').hidden) return;
  try {
    const day = await api("GET", "/v1/admin/business-date");
    $("business-date").textContent = day.business_date
      ? "Business date " + day.business_date + " · its trades settle " + day.settles_on + " · closes " + day.cutoff + " New York · rollover " + day.rollover
      : "No business date is open yet.";
    const filter = $("trade-state").value;
    const page = await api("GET", "/v1/trades?limit=50" + (filter ? "&state=" + filter : ""));
    fill("trades", page.trades.map((t) => {
      const tr = document.createElement("tr");
      tr.append(cell(t.id), cell(t.reference), cell(t.symbol), cell(t.side), cell(t.qty), cell(price(t.price)),
        cell(t.trade_date), cell(t.settlement_date), cell(t.state, "state-" + t.state), cell(t.reason));
      return tr;
    }));
    const queue = (await api("GET", "/v1/admin/capture-queue?limit=50")).filter((e) => e.state === "waiting" || e.state === "dead");
    fill("capture-queue", queue.map((e) => {
      const tr = document.createElement("tr");
      const actions = cell("");
      actions.append(button("Replay", () => queueAction("POST", "/v1/admin/capture-queue/" + e.id + "/replay", "Replayed " + e.trade_id)),
        button("Discard", () => queueAction("DELETE", "/v1/admin/capture-queue/" + e.id, "Discarded " + e.trade_id)));
      tr.append(cell(e.trade_id), cell(e.account), cell(e.symbol), cell(e.side + " " + e.qty + " at " + price(e.price)), cell(e.state),
        cell(String(e.attempts)), cell(e.reason), actions);
      return tr;
    }));
    const breaks = await api("GET", "/v1/admin/reconciliation-breaks?state=open&limit=100");
    fill("breaks", breaks.map((b) => {
      const tr = document.createElement("tr");
      const resolution = document.createElement("input");
      resolution.placeholder = "how it was resolved";
      resolution.className = "resolution";
      const actions = cell("");
      actions.append(resolution, button("Resolve", () => resolveBreak(b, resolution.value)));
      tr.append(cell(b.trade_id), cell(b.kind.replaceAll("_", " ")), cell(b.house), cell(b.street), actions);
      return tr;
    }));
  } catch (error) {
    postTradeMessage(error.message, false);
  }
}

async function queueAction(method, path, done) {
  try {
    const entry = await api(method, path);
    postTradeMessage(done + ": " + entry.state + (entry.trade ? " as " + entry.trade : ""), true);
  } catch (error) {
    postTradeMessage(error.message, false);
  }
  loadPostTrade();
}

async function resolveBreak(b, text) {
  try {
    await api("POST", "/v1/admin/reconciliation-breaks/" + b.id + "/resolve", { resolution: text });
    postTradeMessage("Resolved the " + b.kind.replaceAll("_", " ") + " break of " + b.trade_id, true);
  } catch (error) {
    postTradeMessage(error.message, false);
  }
  loadPostTrade();
}

$("rollover").addEventListener("click", async () => {
  if (!window.confirm("Close the business day and settle what is due?")) return;
  try {
    const day = await api("POST", "/v1/admin/business-date/rollover");
    postTradeMessage("Rolled over to " + day.business_date, true);
  } catch (error) {
    postTradeMessage(error.message, false);
  }
  loadPostTrade();
});
$("trade-state").addEventListener("change", loadPostTrade);
$("post-trade-tab").addEventListener("click", loadPostTrade);
setInterval(loadPostTrade, 5000);
