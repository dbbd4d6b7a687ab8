// The console: hash routes rendered into <main>, one module per page. Every datum comes from
// the public API (api.js).
import * as api from "./api.js";
import { functionPage, functionsPage } from "./functions.js";
import { runPage } from "./run.js";
import { sessionPage, sessionsPage } from "./sessions.js";
import { signinPage } from "./signin.js";
import { setNav, showError } from "./ui.js";

const ROUTES = [
  [/^#\/signin$/, signinPage],
  [/^#\/functions$/, functionsPage],
  [/^#\/functions\/([^/?]+)\/runs\/([^/?]+)$/, runPage],
  [/^#\/functions\/([^/?]+)$/, functionPage],
  [/^#\/sessions$/, sessionsPage],
  [/^#\/sessions\/([^/?]+)$/, sessionPage],
];

let current = null; // AbortController of the page's live streams and polls

async function route() {
  if (current) current.abort();
  current = new AbortController();
  const hash = location.hash || "#/functions";
  if (!api.key() && hash !== "#/signin") { location.hash = "#/signin"; return; }
  setNav(Boolean(api.key()) && hash !== "#/signin");
  const [path, search] = hash.split("?");
  const query = new URLSearchParams(search || "");
  for (const [pattern, page] of ROUTES) {
    const match = path.match(pattern);
    if (match) {
      try { await page(...match.slice(1).map(decodeURIComponent), query, current.signal); }
      catch (error) { if (error.name !== "AbortError") showError(error); }
      return;
    }
  }
  location.hash = "#/functions";
}

document.getElementById("signout").addEventListener("click", () => { api.setKey(null); location.hash = "#/signin"; });
window.addEventListener("hashchange", route);
route();
