// The FIX sessions, in the admin tab: each session's state, sequence numbers and counts, read again every
// five seconds while the tab is open. `api`, `fill` and `cell` are app.js's.
"use strict";

async function loadSessions() {
  if ($("admin-tab").hidden || document.querySelector('[data-panel="admin"]').hidden) return;
  try {
    const sessions = await api("GET", "/v1/admin/fix/sessions");
    fill("fix-sessions", sessions.map((s) => {
      const tr = document.createElement("tr");
      tr.append(cell(s.session), cell(s.role.replaceAll("_", " ")), cell(s.accounts.join(", ")),
        cell(s.state.replaceAll("_", " ")), cell(String(s.next_sender_seq)),
        cell(String(s.next_target_seq)), cell(String(s.messages_in)), cell(String(s.messages_out)), cell(String(s.resent)),
        cell(String(s.rejected + s.garbled)), cell(s.last_problem || ""));
      return tr;
    }));
  } catch (error) {
    accountMessage(error.message, false);
  }
}

$("admin-tab").addEventListener("click", loadSessions);
setInterval(loadSessions, 5000);
