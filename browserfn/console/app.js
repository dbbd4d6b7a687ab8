// The console: hash routes rendered into <main>. Every datum comes from the public API (api.js).
(function () {
  "use strict";
  var main = document.getElementById("main");
  var esc = window.escapeHtml;
  var current = null; // AbortController of the page's live streams

  function h(html) { main.innerHTML = html; }
  function badge(status) { return '<span class="badge ' + esc(status) + '">' + esc(status) + "</span>"; }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : "–"; }
  function duration(start, end) {
    if (!start) return "–";
    var s = ((end ? new Date(end) : new Date()) - new Date(start)) / 1000;
    if (s < 60) return s.toFixed(1) + " s";
    return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
  }
  function showError(error) {
    if (error instanceof api.ApiError && error.status === 401) { api.setKey(null); location.hash = "#/signin"; return; }
    h('<p class="error" data-testid="error">' + esc(String(error.message || error)) + "</p>");
  }

  // -- sign in ------------------------------------------------------------------------------------
  function signinPage() {
    document.getElementById("nav").hidden = true;
    h('<div class="card signin"><h1>Sign in</h1><p class="muted">Paste an API key (<code>browserfn keys create</code>).' +
      ' It stays in this browser only.</p><form id="signin"><input type="password" id="key" placeholder="bfn_…"' +
      ' autocomplete="off" data-testid="api-key"><p class="error" id="signin-error"></p>' +
      '<button type="submit" data-testid="sign-in">Sign in</button></form></div>');
    document.getElementById("signin").addEventListener("submit", async function (e) {
      e.preventDefault();
      api.setKey(document.getElementById("key").value.trim());
      try { await api.call("GET", "/functions/?page_size=1"); location.hash = "#/functions"; }
      catch (error) { api.setKey(null); document.getElementById("signin-error").textContent = error.message; }
    });
  }

  // -- functions ----------------------------------------------------------------------------------
  async function functionsPage() {
    var page = await api.call("GET", "/functions/?page_size=100");
    var rows = page.items.map(function (f) {
      return "<tr><td><a href=\"#/functions/" + esc(f.function_id) + '" data-testid="function-link">' +
        esc(f.name || f.function_id) + '</a><div class="muted mono">' + esc(f.function_id) + "</div></td><td>" +
        esc(f.latest_version) + "</td><td>" + (f.variables || []).map(function (v) { return "<code>" + esc(v.name) + "</code>"; }).join(" ") +
        "</td><td>" + esc(when(f.updated_at)) + "</td></tr>";
    }).join("");
    h("<h1>Functions</h1><p class=\"muted\">" + page.items.length + " deployed</p>" +
      (rows ? '<table data-testid="functions"><thead><tr><th>Function</th><th>Latest version</th><th>Variables</th><th>Updated</th></tr></thead><tbody>' +
        rows + "</tbody></table>" : '<div class="card">No functions yet: <code>browserfn deploy script.py</code>.</div>'));
  }

  function inputFor(v) {
    var type = (v.type || "").replace(/\s/g, "");
    var id = "var-" + v.name, hint = (v.type || "any") + (v.default !== null ? " = " + v.default : " (required)");
    var label = '<label for="' + esc(id) + '">' + esc(v.name) + ' <span class="hint">' + esc(hint) + "</span></label>";
    var attrs = ' id="' + esc(id) + '" name="' + esc(v.name) + '" data-type="' + esc(type) + '"' + (v.default === null ? " required" : "");
    if (type === "bool") return label + "<select" + attrs + '><option value="">(default)</option><option>true</option><option>false</option></select>';
    if (type === "int" || type === "float") return label + '<input type="number" step="any"' + attrs + ' placeholder="' + esc(v.default || "") + '">';
    if (type === "" || type === "str") return label + '<input type="text"' + attrs + ' placeholder="' + esc(v.default || "") + '">';
    return label + '<textarea rows="2"' + attrs + ' placeholder="JSON, e.g. ' + esc(v.default || "[]") + '"></textarea>';
  }

  function readForm(form) {
    var variables = {};
    Array.prototype.forEach.call(form.querySelectorAll("[data-type]"), function (field) {
      var raw = field.value, type = field.dataset.type;
      if (raw === "") return; // the function's default applies
      if (type === "int" || type === "float") variables[field.name] = Number(raw);
      else if (type === "bool") variables[field.name] = raw === "true";
      else if (type === "" || type === "str") variables[field.name] = raw;
      else variables[field.name] = JSON.parse(raw);
    });
    return variables;
  }

  async function functionPage(fid, query) {
    var version = query.get("version");
    var f = await api.call("GET", "/functions/" + encodeURIComponent(fid) + (version ? "?version=" + encodeURIComponent(version) : ""));
    var code = await (await fetch(f.url)).text();
    var shown = version || f.latest_version;
    var versions = f.versions.slice().reverse().map(function (v) {
      return "<option" + (v === shown ? " selected" : "") + ">" + esc(v) + "</option>";
    }).join("");
    var variables = (f.variables || []).map(function (v) {
      return "<tr><td><code>" + esc(v.name) + "</code></td><td>" + esc(v.type || "–") + "</td><td>" +
        (v.default === null ? "<em>required</em>" : "<code>" + esc(v.default) + "</code>") + "</td></tr>";
    }).join("");
    h('<p><a href="#/functions">← Functions</a></p><h1 data-testid="function-name">' + esc(f.name || fid) + "</h1>" +
      '<p class="muted mono">' + esc(fid) + "</p>" + (f.description ? "<p>" + esc(f.description) + "</p>" : "") +
      '<div class="row"><label>Version <select id="version" data-testid="versions">' + versions + "</select></label>" +
      '<span class="muted">' + f.versions.length + " version(s) · latest " + esc(f.latest_version) + "</span></div>" +
      '<h2>Code</h2><pre class="code" data-testid="code">' + highlightPython(code) + "</pre>" +
      "<h2>Variables</h2>" + (variables ? "<table><thead><tr><th>Name</th><th>Type</th><th>Default</th></tr></thead><tbody>" + variables + "</tbody></table>" : '<p class="muted">run() takes no variables.</p>') +
      '<h2>Start a run</h2><form class="run card" id="run-form" data-testid="run-form">' + (f.variables || []).map(inputFor).join("") +
      '<p class="error" id="run-error"></p><button type="submit" data-testid="start-run">Start run</button></form>' +
      '<h2>Runs</h2><div class="row filters" id="filters"></div><div id="runs"></div>');
    document.getElementById("version").addEventListener("change", function (e) {
      location.hash = "#/functions/" + fid + "?version=" + encodeURIComponent(e.target.value);
    });
    document.getElementById("run-form").addEventListener("submit", function (e) {
      e.preventDefault();
      startRun(fid, shown, e.target).catch(function (error) { document.getElementById("run-error").textContent = error.message; });
    });
    runsTable(fid, "all", 1);
  }

  async function startRun(fid, version, form) {
    var variables = readForm(form);
    form.querySelector("button").disabled = true;
    var base = "/functions/" + encodeURIComponent(fid) + "/runs/";
    var created = await api.call("POST", base + "create", {});
    var runId = created.function_run_id;
    // Start it without waiting for the end; the run page follows its event stream.
    api.call("POST", base + runId + "?version=" + encodeURIComponent(version),
      { workflow_id: fid, workflow_run_id: runId, variables: variables, stream: false }).catch(function () {});
    location.hash = "#/functions/" + fid + "/runs/" + runId;
  }

  var FILTERS = ["all", "active", "closed", "failed"];
  async function runsTable(fid, filter, page) {
    document.getElementById("filters").innerHTML = FILTERS.map(function (name) {
      return '<button class="secondary' + (name === filter ? " on" : "") + '" data-filter="' + name + '">' + name + "</button>";
    }).join("");
    Array.prototype.forEach.call(document.querySelectorAll("[data-filter]"), function (b) {
      b.addEventListener("click", function () { runsTable(fid, b.dataset.filter, 1); });
    });
    var query = "?page_size=10&page=" + page + "&only_active=" + (filter === "active" ? "True" : "False");
    var result = await api.call("GET", "/functions/" + encodeURIComponent(fid) + "/runs/" + query);
    // The API filters active runs; closed and failed are picked from each page here.
    var items = result.items.filter(function (r) { return filter === "all" || filter === "active" || r.status === filter; });
    var rows = items.map(function (r) {
      return '<tr data-testid="run-row"><td><a class="mono" href="#/functions/' + esc(fid) + "/runs/" + esc(r.function_run_id) + '">' +
        esc(r.function_run_id.slice(0, 8)) + "</a></td><td>" + badge(r.status) + ' <span class="muted">' + esc(r.state || "") +
        "</span></td><td>" + esc(r.origin || "–") + "</td><td>" + esc(when(r.started_at || r.created_at)) + "</td><td>" +
        esc(duration(r.started_at, r.stopped_at)) + "</td></tr>";
    }).join("");
    var container = document.getElementById("runs");
    if (!container) return;
    container.innerHTML = (rows ? '<table data-testid="runs"><thead><tr><th>Run</th><th>Status</th><th>Origin</th><th>Started</th><th>Duration</th></tr></thead><tbody>' +
      rows + "</tbody></table>" : '<p class="muted">No runs.</p>') +
      '<div class="row" style="margin-top:.6rem"><button class="secondary" id="prev"' + (result.has_previous ? "" : " disabled") +
      '>← Newer</button><span class="muted">page ' + page + '</span><button class="secondary" id="next"' +
      (result.has_next ? "" : " disabled") + ">Older →</button></div>";
    document.getElementById("prev").addEventListener("click", function () { runsTable(fid, filter, page - 1); });
    document.getElementById("next").addEventListener("click", function () { runsTable(fid, filter, page + 1); });
  }

  // -- one run ------------------------------------------------------------------------------------
  function logLine(line) {
    var parts = line.replace(/\n$/, "").split(" | ");
    if (parts.length < 4) return esc(line.replace(/\n$/, ""));
    var level = parts[1].trim();
    return '<span class="ts">' + esc(parts[0]) + '</span> | <span class="lvl-' + esc(level) + '">' + esc(parts[1]) + "</span> | " +
      esc(parts[2]) + " | " + esc(parts.slice(3).join(" | "));
  }

  async function runPage(fid, rid) {
    var base = "/functions/" + encodeURIComponent(fid) + "/runs/" + encodeURIComponent(rid);
    var run = await api.call("GET", base);
    h('<p><a href="#/functions/' + esc(fid) + '">← Function</a></p><h1>Run <span class="mono">' + esc(rid.slice(0, 8)) + "</span></h1>" +
      '<p class="muted mono">' + esc(rid) + '</p><div class="card grid" id="summary"></div>' +
      '<h2>Logs</h2><pre class="logs" data-testid="logs" id="logs"></pre>' +
      '<h2>Result</h2><pre data-testid="result" id="result"></pre>' +
      '<h2>Variables</h2><pre id="variables"></pre>' +
      '<h2>Browser sessions</h2><div id="sessions" class="card muted">None.</div>');
    renderRun(run);
    var logs = document.getElementById("logs");
    var controller = current = new AbortController(), refreshed = run.state === "running";
    api.stream(base + "/stream", function (event) {
      if (event.type === "log") {
        logs.insertAdjacentHTML("beforeend", logLine(event.message) + "\n");
        if (!refreshed) { refreshed = true; api.call("GET", base).then(renderRun); } // now running: state, variables
      }
      else if (event.type === "session_start") showSession(event.message);
      else if (event.type === "result") api.call("GET", base).then(renderRun);
    }, controller.signal).catch(function (error) { if (error.name !== "AbortError") logs.insertAdjacentText("beforeend", "stream: " + error.message); });
  }

  function renderRun(run) {
    var summary = document.getElementById("summary");
    if (!summary) return;
    summary.dataset.status = run.status;
    summary.innerHTML = "<div><span>Status</span>" + badge(run.status) + ' <span data-testid="state">' + esc(run.state || "") + "</span></div>" +
      "<div><span>Duration</span>" + esc(duration(run.started_at, run.stopped_at)) + "</div>" +
      "<div><span>Started</span>" + esc(when(run.started_at || run.created_at)) + "</div>" +
      "<div><span>Origin</span>" + esc(run.origin || "–") + "</div>" +
      "<div><span>Version</span>" + esc(run.function_version || "–") + "</div>" +
      (run.reason ? "<div><span>Reason</span>" + esc(run.reason) + "</div>" : "");
    document.getElementById("variables").textContent = JSON.stringify(run.variables || {}, null, 2);
    var result = document.getElementById("result");
    if (run.status === "active") result.textContent = "(running…)";
    else {
      var text = run.result;
      try { text = JSON.stringify(JSON.parse(run.result), null, 2); } catch (e) { /* plain text result */ }
      result.textContent = text === null ? "null" : text;
    }
    if (run.session_id) showSession(run.session_id);
  }

  async function showSession(sessionId) {
    var box = document.getElementById("sessions");
    if (!box || box.dataset.session === sessionId) return;
    box.dataset.session = sessionId;
    box.classList.remove("muted");
    box.innerHTML = '<p><a href="#/sessions/' + esc(sessionId) + '" class="mono">' + esc(sessionId) + "</a></p>";
    try {
      var session = await api.call("GET", "/sessions/" + encodeURIComponent(sessionId));
      box.insertAdjacentHTML("beforeend", "<p>" + badge(session.status === "active" ? "active" : "closed") + " " + esc(session.status) + "</p>");
      await replayInto(sessionId, box);
    } catch (error) { box.insertAdjacentHTML("beforeend", '<p class="muted">' + esc(error.message) + "</p>"); }
  }

  async function replayInto(sessionId, box) {
    var replay;
    try { replay = await api.call("GET", "/sessions/" + encodeURIComponent(sessionId) + "/replay"); }
    catch (error) { box.insertAdjacentHTML("beforeend", '<p class="muted">Replay: ' + esc(error.message) + "</p>"); return; }
    var shots = document.createElement("div");
    shots.className = "shots";
    box.appendChild(shots);
    for (var frame of (replay.frames || []).slice(0, 12)) {
      var img = document.createElement("img");
      img.alt = frame.name;
      img.src = await api.blobUrl(new URL(frame.image_url).pathname);
      shots.appendChild(img);
    }
    if (replay.mp4_url) {
      var video = document.createElement("video");
      video.controls = true; video.width = 480;
      video.src = await api.blobUrl(new URL(replay.mp4_url).pathname);
      box.appendChild(video);
    }
  }

  // -- sessions -----------------------------------------------------------------------------------
  async function sessionsPage() {
    var page = await api.call("GET", "/sessions?only_active=False&page_size=50");
    var rows = page.items.map(function (s) {
      return '<tr><td><a class="mono" href="#/sessions/' + esc(s.session_id) + '">' + esc(s.session_id.slice(0, 8)) + "</a></td><td>" +
        esc(s.status) + "</td><td>" + esc(when(s.created_at)) + "</td><td>" + esc(s.close_reason || "–") + "</td></tr>";
    }).join("");
    h("<h1>Browser sessions</h1>" + (rows ? "<table><thead><tr><th>Session</th><th>Status</th><th>Created</th><th>Closed because</th></tr></thead><tbody>" +
      rows + "</tbody></table>" : '<div class="card muted">No sessions.</div>'));
  }

  async function sessionPage(sid) {
    h('<p><a href="#/sessions">← Sessions</a></p><h1>Session <span class="mono">' + esc(sid.slice(0, 8)) + '</span></h1><div id="sessions" class="card"></div>');
    await showSession(sid);
  }

  // -- router -------------------------------------------------------------------------------------
  var ROUTES = [
    [/^#\/signin$/, signinPage],
    [/^#\/functions$/, functionsPage],
    [/^#\/functions\/([^/?]+)\/runs\/([^/?]+)$/, runPage],
    [/^#\/functions\/([^/?]+)$/, functionPage],
    [/^#\/sessions$/, sessionsPage],
    [/^#\/sessions\/([^/?]+)$/, sessionPage],
  ];

  async function route() {
    if (current) { current.abort(); current = null; }
    var hash = location.hash || "#/functions";
    if (!api.key() && hash !== "#/signin") { location.hash = "#/signin"; return; }
    document.getElementById("nav").hidden = !api.key();
    var path = hash.split("?")[0], query = new URLSearchParams(hash.split("?")[1] || "");
    for (var [pattern, page] of ROUTES) {
      var match = path.match(pattern);
      if (match) {
        try { await page.apply(null, match.slice(1).map(decodeURIComponent).concat([query])); }
        catch (error) { showError(error); }
        return;
      }
    }
    location.hash = "#/functions";
  }

  document.getElementById("signout").addEventListener("click", function () { api.setKey(null); location.hash = "#/signin"; });
  window.addEventListener("hashchange", route);
  route();
})();
