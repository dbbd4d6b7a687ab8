// What every page shares: rendering into <main>, escaping, and the small formatters.
import { ApiError, setKey } from "./api.js";

export const main = document.getElementById("main");

export function h(html) { main.innerHTML = html; }

export function esc(value) {
  return String(value === null || value === undefined ? "" : value)
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

export function badge(status) { return '<span class="badge ' + esc(status) + '">' + esc(status) + "</span>"; }

export function when(iso) { return iso ? new Date(iso).toLocaleString() : "–"; }

export function duration(start, end) {
  if (!start) return "–";
  const s = ((end ? new Date(end) : new Date()) - new Date(start)) / 1000;
  if (s < 60) return s.toFixed(1) + " s";
  return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
}

export function showError(error) {
  if (error instanceof ApiError && error.status === 401) { setKey(null); location.hash = "#/signin"; return; }
  h('<p class="error" data-testid="error">' + esc(String(error.message || error)) + "</p>");
}

export function setNav(visible) { document.getElementById("nav").hidden = !visible; }
