// Sign in: the key is checked against the API and kept in this browser only.
import * as api from "./api.js";
import { h, setNav } from "./ui.js";

export function signinPage() {
  setNav(false);
  h('<div class="card signin"><h1>Sign in</h1><p class="muted">Paste an API key (<code>browserfn keys create</code>).' +
    ' It stays in this browser only.</p><form id="signin"><input type="password" id="key" placeholder="bfn_…"' +
    ' autocomplete="off" data-testid="api-key"><p class="error" id="signin-error"></p>' +
    '<button type="submit" data-testid="sign-in">Sign in</button></form></div>');
  document.getElementById("signin").addEventListener("submit", async (e) => {
    e.preventDefault();
    api.setKey(document.getElementById("key").value.trim());
    try { await api.call("GET", "/functions/?page_size=1"); location.hash = "#/functions"; }
    catch (error) { api.setKey(null); document.getElementById("signin-error").textContent = error.message; }
  });
}
