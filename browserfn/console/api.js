// The console's only way to the server: the public API with the signed-in key.
const KEY = "browserfn.apiKey";

export function key() { return localStorage.getItem(KEY); }
export function setKey(value) { if (value) localStorage.setItem(KEY, value); else localStorage.removeItem(KEY); }

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function headers() { return { Authorization: "Bearer " + key() }; }

export async function call(method, path, body) {
  const init = { method, headers: headers() };
  if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { message: text }; }
  if (!response.ok) throw new ApiError(response.status, (data && data.message) || response.statusText);
  return data;
}

// Server-sent events over fetch (EventSource cannot send the Authorization header).
// onEvent receives {id, type, message}; resolves when the stream ends.
export async function stream(path, onEvent, signal) {
  const response = await fetch(path, { headers: headers(), signal });
  if (!response.ok) throw new ApiError(response.status, (await response.text()) || response.statusText);
  const reader = response.body.getReader(), decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    buffer += decoder.decode(chunk.value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let id = null, data = null;
      for (const line of block.split("\n")) {
        if (line.startsWith("id: ")) id = Number(line.slice(4));
        else if (line.startsWith("data: ")) data = line.slice(6);
      }
      if (data !== null) {
        const event = JSON.parse(data);
        onEvent({ id, type: event.type, message: event.message });
      }
    }
  }
}

// A signed link (replay frames, the MP4) made relative to this page's origin, query kept: the
// `expires` and `signature` parameters are its credential, no key is sent.
export function signedPath(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

export function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
