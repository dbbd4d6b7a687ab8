// The browser sessions list and one session's page (its card: live viewer, then replay).
import * as api from "./api.js";
import { SessionCard } from "./replay.js";
import { esc, h, when } from "./ui.js";

export async function sessionsPage() {
  const page = await api.call("GET", "/sessions?only_active=False&page_size=50");
  const rows = page.items.map((s) =>
    '<tr><td><a class="mono" href="#/sessions/' + esc(s.session_id) + '">' + esc(s.session_id.slice(0, 8)) + "</a></td><td>" +
    esc(s.status) + "</td><td>" + esc(when(s.created_at)) + "</td><td>" + esc(s.close_reason || "–") + "</td></tr>").join("");
  h("<h1>Browser sessions</h1>" + (rows ? '<div class="scroll"><table><thead><tr><th>Session</th><th>Status</th><th>Created</th>' +
    "<th>Closed because</th></tr></thead><tbody>" + rows + "</tbody></table></div>" : '<div class="card muted">No sessions.</div>'));
}

export async function sessionPage(sid, query, signal) {
  h('<p><a href="#/sessions">← Sessions</a></p><h1>Session <span class="mono">' + esc(sid.slice(0, 8)) +
    '</span></h1><div id="sessions" class="card"></div>');
  await new SessionCard(document.getElementById("sessions"), sid, signal).load();
}
