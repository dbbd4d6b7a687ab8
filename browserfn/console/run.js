// One run: summary, live logs, result, variables, and its browser session. Logs and the
// session's replay share one timeline: a log line's click shows the page at that moment, and
// the frame on screen marks the last line whose click shows it or an earlier one.
import * as api from "./api.js";
import { SessionCard, stampMs } from "./replay.js";
import { badge, duration, esc, h, when } from "./ui.js";

function logLine(line) {
  const text = line.replace(/\n$/, "");
  const parts = text.split(" | ");
  const at = parts.length >= 4 ? stampMs(parts[0]) : NaN;
  const open = '<span class="line" data-testid="log-line"' + (Number.isNaN(at) ? "" : ' data-at="' + at + '" title="Show the browser at this moment"') + ">";
  if (parts.length < 4) return open + esc(text) + "</span>";
  const level = parts[1].trim();
  return open + '<span class="ts">' + esc(parts[0]) + '</span> | <span class="lvl-' + esc(level) + '">' + esc(parts[1]) + "</span> | " +
    esc(parts[2]) + " | " + esc(parts.slice(3).join(" | ")) + "</span>";
}

// A stamp has whole seconds: a line stands for the page as it was by the end of its second.
function lineMoment(line) { return Number(line.dataset.at) + 999; }

export async function runPage(fid, rid, query, signal) {
  const base = "/functions/" + encodeURIComponent(fid) + "/runs/" + encodeURIComponent(rid);
  const run = await api.call("GET", base);
  h('<p><a href="#/functions/' + esc(fid) + '">← Function</a></p><h1>Run <span class="mono">' + esc(rid.slice(0, 8)) + "</span></h1>" +
    '<p class="muted mono id">' + esc(rid) + '</p><div class="card grid" id="summary"></div>' +
    '<div class="timeline"><section><h2>Logs</h2><pre class="logs" data-testid="logs" id="logs"></pre></section>' +
    '<section><h2>Browser session</h2><div id="sessions" class="card muted">None.</div></section></div>' +
    '<h2>Result</h2><pre data-testid="result" id="result"></pre>' +
    '<h2>Variables</h2><pre id="variables"></pre>');
  const page = { card: null, sessionId: null, signal };
  const logs = document.getElementById("logs");
  logs.addEventListener("click", (e) => {
    const line = e.target.closest("[data-at]");
    if (!line || !page.card) return;
    for (const other of logs.querySelectorAll(".picked")) other.classList.remove("picked");
    line.classList.add("picked");
    page.card.showAt(lineMoment(line));
  });
  renderRun(run, page);
  let refreshed = run.state === "running";
  api.stream(base + "/stream", (event) => {
    if (event.type === "log") {
      logs.insertAdjacentHTML("beforeend", logLine(event.message) + "\n");
      if (!refreshed) { refreshed = true; api.call("GET", base).then((r) => renderRun(r, page)); } // now running: state, variables
    } else if (event.type === "session_start") showSession(event.message, page);
    else if (event.type === "result") api.call("GET", base).then((r) => renderRun(r, page));
  }, signal).catch((error) => { if (error.name !== "AbortError") logs.insertAdjacentText("beforeend", "stream: " + error.message); });
}

function renderRun(run, page) {
  const summary = document.getElementById("summary");
  if (!summary) return;
  summary.dataset.status = run.status;
  summary.innerHTML = "<div><span>Status</span>" + badge(run.status) + ' <span data-testid="state">' + esc(run.state || "") + "</span></div>" +
    "<div><span>Duration</span>" + esc(duration(run.started_at, run.stopped_at)) + "</div>" +
    "<div><span>Started</span>" + esc(when(run.started_at || run.created_at)) + "</div>" +
    "<div><span>Origin</span>" + esc(run.origin || "–") + "</div>" +
    "<div><span>Version</span>" + esc(run.function_version || "–") + "</div>" +
    (run.reason ? '<div class="wide"><span>Reason</span><div class="reason" data-testid="reason">' + esc(run.reason) + "</div></div>" : "");
  document.getElementById("variables").textContent = JSON.stringify(run.variables || {}, null, 2);
  const result = document.getElementById("result");
  if (run.status === "active") result.textContent = "(running…)";
  else {
    let text = run.result;
    try { text = JSON.stringify(JSON.parse(run.result), null, 2); } catch (e) { /* plain text result */ }
    result.textContent = text === null ? "null" : text;
  }
  if (run.session_id) showSession(run.session_id, page);
}

// The card follows the session itself (open → closed → replay), so it is made once per session.
function showSession(sessionId, page) {
  const box = document.getElementById("sessions");
  if (!box || page.sessionId === sessionId) return;
  page.sessionId = sessionId;
  box.classList.remove("muted");
  const card = page.card = new SessionCard(box, sessionId, page.signal);
  const logs = document.getElementById("logs");
  card.onFrame((index) => {
    // The last line whose click shows this frame or an earlier one: the two ways agree.
    let last = null;
    for (const line of logs.querySelectorAll("[data-at]")) { if (card.indexAt(lineMoment(line)) <= index) last = line; }
    for (const other of logs.querySelectorAll(".now")) if (other !== last) other.classList.remove("now");
    if (last) last.classList.add("now");
  });
  card.load().catch((error) => { box.insertAdjacentHTML("beforeend", '<p class="muted">' + esc(error.message) + "</p>"); });
}
