// Risk, in its own tab (risk and admin keys): the firm at the last mark, the accounts with the most
// exposure, open margin calls, and the configured scenarios' results; a button takes a mark. Read again
// every five seconds while the tab is open. `api`, `fill` and `cell` are app.js's.
"use strict";

function riskMessage(text, good) {
  const message = $("risk-message");
  message.className = "message " + (good ? "good" : "bad");
  message.textContent = text;
}

function dollars(text) {
  return text == null ? "–" : Number(text).toLocaleString(undefined, { style: "currency", currency: "USD" });
}

async function loadRisk() {
  if ($("risk-tab").hidden || document.querySelector('[data-panel="risk"]').hidden) return;
  try {
    const risk = await api("GET", "/v1/risk/firm?limit=10");
    const f = risk.firm;
    $("risk-mark").textContent = f.mark
      ? "Mark " + f.mark.sequence + " (" + f.mark.method.replaceAll("_", " ") + (f.mark.close ? ", close" : "") + ") at " + new Date(f.mark.at).toLocaleTimeString()
      : "No mark yet.";
    fill("risk-firm", [["Equity", f.equity], ["Day P&L", f.day_pl], ["Total P&L", f.total_pl], ["Gross exposure", f.gross_exposure],
      ["Net exposure", f.net_exposure], ["House requirement", f.house_requirement], ["Excess", f.excess]].map(([name, value]) => {
      const tr = document.createElement("tr");
      tr.append(cell(name), cell(dollars(value), Number(value) < 0 ? "sell" : ""));
      return tr;
    }));
    $("risk-deficits").textContent = risk.accounts_in_deficit + " account(s) below their requirement";
    fill("risk-top", risk.top_exposures.map((a) => {
      const tr = document.createElement("tr");
      tr.append(cell(a.account_id.slice(-12)), cell(dollars(a.gross_exposure)), cell(dollars(a.equity)), cell(dollars(a.day_pl)),
        cell(dollars(a.excess), Number(a.excess) < 0 ? "sell" : ""), cell(a.margin_call ? "call " + a.margin_call.id : ""));
      return tr;
    }));
    const calls = await api("GET", "/v1/risk/margin-calls?state=open&limit=100");
    fill("risk-calls", calls.map((c) => {
      const tr = document.createElement("tr");
      tr.append(cell(String(c.id)), cell(c.account_id.slice(-12)), cell(dollars(c.deficit)), cell(new Date(c.deadline).toLocaleString()),
        cell(c.reduce_only ? "reduce only" : ""), cell(String(c.liquidation_rounds)));
      return tr;
    }));
    const scenarios = await api("GET", "/v1/risk/scenarios?limit=1");
    fill("risk-scenarios", scenarios.map((s) => {
      const tr = document.createElement("tr");
      tr.append(cell(s.scenario.name), cell(dollars(s.firm.pnl), Number(s.firm.pnl) < 0 ? "sell" : ""), cell(dollars(s.firm.equity_after)),
        cell(dollars(s.firm.excess_after)), cell(s.accounts.length ? s.accounts[0].account_id.slice(-12) + " " + dollars(s.accounts[0].pnl) : ""));
      return tr;
    }));
  } catch (error) {
    riskMessage(error.message, false);
  }
}

$("take-mark").addEventListener("click", async () => {
  try {
    const mark = await api("POST", "/v1/risk/marks", {});
    riskMessage("Took mark " + mark.sequence, true);
  } catch (error) {
    riskMessage(error.message, false);
  }
  loadRisk();
});
$("risk-tab").addEventListener("click", loadRisk);
setInterval(loadRisk, 5000);
