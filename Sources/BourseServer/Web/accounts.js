// The operator's accounts view, in the admin tab: find an account by its number, id or a name, see its
// status, balances and keys, fund it, journal cash from it, revoke a key and unblock it. Everything goes
// through the Broker API like any client's request; `api`, `fill`, `cell` and `money` are app.js's.
"use strict";

const accounts = { viewed: null };

function accountMessage(text, good) {
  const message = $("admin-message");
  message.className = "message " + (good ? "good" : "bad");
  message.textContent = text;
}

async function findAccount(text) {
  // A number or an id names an account; other words search the details given when it was opened.
  try {
    return await api("GET", "/v1/accounts/" + encodeURIComponent(text));
  } catch (error) {
    const found = await api("GET", "/v1/accounts?query=" + encodeURIComponent(text));
    if (found.length === 1) return found[0];
    throw new Error(found.length ? found.length + " accounts match " + text + "; give its number" : "no account matches " + text);
  }
}

async function showAccount(account) {
  const trading = await api("GET", "/v1/trading/accounts/" + account.id + "/account");
  const keys = await api("GET", "/v1/accounts/" + account.id + "/api_keys");
  accounts.viewed = account;
  $("account-view").hidden = false;
  $("account-summary").textContent = "Account " + account.account_number + " (" + account.kind + ") · " + account.status
    + " · " + account.trading_status.replaceAll("_", " ") + " · cash " + money(trading.cash)
    + " · withdrawable " + money(trading.cash_withdrawable) + (trading.equity ? " · equity " + money(trading.equity) : "");
  $("unblock").hidden = account.trading_status === "active" || account.trading_status === "closed";
  fill("account-keys", keys.map((key) => {
    const tr = document.createElement("tr");
    tr.append(cell(key.key_id), cell(key.role), cell(key.status));
    const actions = cell("");
    if (key.status === "active") {
      const revoke = document.createElement("button");
      revoke.textContent = "Revoke";
      revoke.className = "danger";
      revoke.addEventListener("click", () => accountAction("DELETE", "/api_keys/" + key.key_id, undefined, "Key " + key.key_id + " is revoked",
        "Revoke key " + key.key_id + "? Its sessions and streams end at once."));
      actions.append(revoke);
    }
    tr.append(actions);
    return tr;
  }));
}

async function accountAction(method, path, body, done, question) {
  if (question && !confirm(question)) return;
  try {
    const base = path.startsWith("/v1/") ? "" : "/v1/accounts/" + accounts.viewed.id;
    await api(method, base + path, body);
    accountMessage(done, true);
    await showAccount(await api("GET", "/v1/accounts/" + accounts.viewed.id));
  } catch (error) {
    accountMessage(error.message, false);
  }
}

$("find-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await showAccount(await findAccount($("find-account").value.trim()));
    accountMessage("", true);
  } catch (error) {
    $("account-view").hidden = true;
    accountMessage(error.message, false);
  }
});

$("unblock").addEventListener("click", () =>
  accountAction("POST", "/actions/unblock", undefined, "Account " + accounts.viewed.account_number + " is active again"));

$("fund-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const amount = $("fund-amount").value.trim();
  accountAction("POST", "/v1/admin/accounts/" + accounts.viewed.id + "/deposits", { amount }, "Deposited " + money(amount));
});

$("journal-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const amount = $("journal-amount").value.trim();
  try {
    const to = await findAccount($("journal-to").value.trim());
    await accountAction("POST", "/v1/journals", { from_account: accounts.viewed.id, to_account: to.id, entry_type: "JNLC", amount },
      "Journaled " + money(amount) + " to account " + to.account_number);
  } catch (error) {
    accountMessage(error.message, false);
  }
});
