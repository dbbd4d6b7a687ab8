// The functions list, one function (code, versions, the run form) and its runs table.
import * as api from "./api.js";
import { badge, duration, esc, h, when } from "./ui.js";

export async function functionsPage() {
  const page = await api.call("GET", "/functions/?page_size=100");
  const rows = page.items.map((f) =>
    '<tr><td><a href="#/functions/' + esc(f.function_id) + '" data-testid="function-link">' +
    esc(f.name || f.function_id) + '</a><div class="muted mono id">' + esc(f.function_id) + "</div></td><td>" +
    esc(f.latest_version) + "</td><td>" + (f.variables || []).map((v) => "<code>" + esc(v.name) + "</code>").join(" ") +
    "</td><td>" + esc(when(f.updated_at)) + "</td></tr>").join("");
  h('<h1>Functions</h1><p class="muted">' + page.items.length + " deployed</p>" +
    (rows ? '<div class="scroll"><table data-testid="functions"><thead><tr><th>Function</th><th>Latest version</th><th>Variables</th>' +
      "<th>Updated</th></tr></thead><tbody>" + rows + "</tbody></table></div>"
      : '<div class="card">No functions yet: <code>browserfn deploy script.py</code>.</div>'));
}

// A default as the server describes it is Python source (`'x'`, `None`, `True`): show the value.
export function plainDefault(source) {
  if (source === null || source === undefined || source === "None") return "";
  const quoted = /^[rbu]?(['"])(.*)\1$/s.exec(source);
  if (quoted) return quoted[2].replace(/\\(['"\\])/g, "$1");
  if (source === "True" || source === "False") return source.toLowerCase();
  return source;
}

function inputFor(v) {
  const type = (v.type || "").replace(/\s/g, "");
  const id = "var-" + v.name, shown = plainDefault(v.default);
  const hint = (v.type || "any") + (v.default !== null ? " = " + shown : " (required)");
  const label = '<label for="' + esc(id) + '">' + esc(v.name) + ' <span class="hint">' + esc(hint) + "</span></label>";
  const attrs = ' id="' + esc(id) + '" name="' + esc(v.name) + '" data-type="' + esc(type) + '"' + (v.default === null ? " required" : "");
  if (type === "bool") return label + "<select" + attrs + '><option value="">(default' + (shown ? ": " + esc(shown) : "") +
    ")</option><option>true</option><option>false</option></select>";
  if (type === "int" || type === "float") return label + '<input type="number" step="any"' + attrs + ' placeholder="' + esc(shown) + '">';
  if (type === "" || type === "str") return label + '<input type="text"' + attrs + ' placeholder="' + esc(shown) + '">';
  return label + '<textarea rows="2"' + attrs + ' placeholder="JSON, e.g. ' + esc(shown || "[]") + '"></textarea>';
}

function readForm(form) {
  const variables = {};
  for (const field of form.querySelectorAll("[data-type]")) {
    const raw = field.value, type = field.dataset.type;
    if (raw === "") continue; // the function's default applies
    if (type === "int" || type === "float") variables[field.name] = Number(raw);
    else if (type === "bool") variables[field.name] = raw === "true";
    else if (type === "" || type === "str") variables[field.name] = raw;
    else variables[field.name] = JSON.parse(raw);
  }
  return variables;
}

export async function functionPage(fid, query) {
  const version = query.get("version");
  const f = await api.call("GET", "/functions/" + encodeURIComponent(fid) + (version ? "?version=" + encodeURIComponent(version) : ""));
  const code = await (await fetch(f.url)).text();
  const shown = version || f.latest_version;
  const versions = f.versions.slice().reverse().map((v) => "<option" + (v === shown ? " selected" : "") + ">" + esc(v) + "</option>").join("");
  const variables = (f.variables || []).map((v) =>
    "<tr><td><code>" + esc(v.name) + "</code></td><td>" + esc(v.type || "–") + "</td><td>" +
    (v.default === null ? "<em>required</em>" : "<code>" + esc(v.default) + "</code>") + "</td></tr>").join("");
  h('<p><a href="#/functions">← Functions</a></p><h1 data-testid="function-name">' + esc(f.name || fid) + "</h1>" +
    '<p class="muted mono id">' + esc(fid) + "</p>" + (f.description ? "<p>" + esc(f.description) + "</p>" : "") +
    '<div class="row"><label>Version <select id="version" data-testid="versions">' + versions + "</select></label>" +
    '<span class="muted">' + f.versions.length + " version(s) · latest " + esc(f.latest_version) + "</span></div>" +
    '<h2>Code</h2><pre class="code" data-testid="code">' + window.highlightPython(code) + "</pre>" +
    "<h2>Variables</h2>" + (variables ? '<div class="scroll"><table><thead><tr><th>Name</th><th>Type</th><th>Default</th></tr></thead><tbody>' +
      variables + "</tbody></table></div>" : '<p class="muted">run() takes no variables.</p>') +
    '<h2>Start a run</h2><form class="run card" id="run-form" data-testid="run-form">' + (f.variables || []).map(inputFor).join("") +
    '<p class="error" id="run-error"></p><button type="submit" data-testid="start-run">Start run</button></form>' +
    '<h2>Runs</h2><div class="row filters" id="filters"></div><div id="runs"></div>');
  document.getElementById("version").addEventListener("change", (e) => {
    location.hash = "#/functions/" + fid + "?version=" + encodeURIComponent(e.target.value);
  });
  document.getElementById("run-form").addEventListener("submit", (e) => {
    e.preventDefault();
    startRun(fid, shown, e.target).catch((error) => { document.getElementById("run-error").textContent = error.message; });
  });
  await runsTable(fid, "all", 1);
}

async function startRun(fid, version, form) {
  const variables = readForm(form);
  form.querySelector("button").disabled = true;
  const base = "/functions/" + encodeURIComponent(fid) + "/runs/";
  const created = await api.call("POST", base + "create", {});
  const runId = created.function_run_id;
  // Start it without waiting for the end; the run page follows its event stream.
  api.call("POST", base + runId + "?version=" + encodeURIComponent(version),
    { workflow_id: fid, workflow_run_id: runId, variables, stream: false }).catch(() => {});
  location.hash = "#/functions/" + fid + "/runs/" + runId;
}

const FILTERS = ["all", "active", "closed", "failed"];

// The filter is the server's (`status`, an extension of the runs listing): pages hold only matching runs.
async function runsTable(fid, filter, page) {
  const filters = document.getElementById("filters");
  if (!filters) return;
  filters.innerHTML = FILTERS.map((name) =>
    '<button class="secondary' + (name === filter ? " on" : "") + '" data-filter="' + name + '">' + name + "</button>").join("");
  for (const b of filters.querySelectorAll("[data-filter]")) b.addEventListener("click", () => runsTable(fid, b.dataset.filter, 1));
  const query = "?page_size=10&page=" + page + "&only_active=False" + (filter === "all" ? "" : "&status=" + filter);
  const result = await api.call("GET", "/functions/" + encodeURIComponent(fid) + "/runs/" + query);
  const rows = result.items.map((r) =>
    '<tr data-testid="run-row"><td><a class="mono" href="#/functions/' + esc(fid) + "/runs/" + esc(r.function_run_id) + '">' +
    esc(r.function_run_id.slice(0, 8)) + "</a></td><td>" + badge(r.status) + ' <span class="muted">' + esc(r.state || "") +
    "</span></td><td>" + esc(r.origin || "–") + "</td><td>" + esc(when(r.started_at || r.created_at)) + "</td><td>" +
    esc(duration(r.started_at, r.stopped_at)) + "</td></tr>").join("");
  const container = document.getElementById("runs");
  if (!container) return;
  container.innerHTML = (rows ? '<div class="scroll"><table data-testid="runs"><thead><tr><th>Run</th><th>Status</th><th>Origin</th>' +
    "<th>Started</th><th>Duration</th></tr></thead><tbody>" + rows + "</tbody></table></div>" : '<p class="muted">No runs.</p>') +
    '<div class="row pager"><button class="secondary" id="prev"' + (result.has_previous ? "" : " disabled") +
    '>← Newer</button><span class="muted">page ' + page + '</span><button class="secondary" id="next"' +
    (result.has_next ? "" : " disabled") + ">Older →</button></div>";
  document.getElementById("prev").addEventListener("click", () => runsTable(fid, filter, page - 1));
  document.getElementById("next").addEventListener("click", () => runsTable(fid, filter, page + 1));
}
