// The console's only way to the server: the public API with the signed-in key.
(function () {
  "use strict";
  var KEY = "browserfn.apiKey";

  function key() { return localStorage.getItem(KEY); }
  function setKey(value) { if (value) localStorage.setItem(KEY, value); else localStorage.removeItem(KEY); }

  function ApiError(status, message) { this.status = status; this.message = message; }

  async function call(method, path, body) {
    var init = { method: method, headers: { Authorization: "Bearer " + key() } };
    if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    var response = await fetch(path, init);
    var text = await response.text();
    var data = text ? JSON.parse(text) : {};
    if (!response.ok) throw new ApiError(response.status, (data && data.message) || response.statusText);
    return data;
  }

  // Server-sent events over fetch (EventSource cannot send the Authorization header).
  // onEvent receives {id, type, message}; resolves when the stream ends.
  async function stream(path, onEvent, signal) {
    var response = await fetch(path, { headers: { Authorization: "Bearer " + key() }, signal: signal });
    if (!response.ok) throw new ApiError(response.status, (await response.text()) || response.statusText);
    var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      var end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        var block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
        var id = null, data = null;
        block.split("\n").forEach(function (line) {
          if (line.indexOf("id: ") === 0) id = Number(line.slice(4));
          else if (line.indexOf("data: ") === 0) data = line.slice(6);
        });
        if (data !== null) {
          var event = JSON.parse(data);
          onEvent({ id: id, type: event.type, message: event.message });
        }
      }
    }
  }

  // A protected binary resource (screenshots, replay frames) as an object URL for <img>.
  async function blobUrl(path) {
    var response = await fetch(path, { headers: { Authorization: "Bearer " + key() } });
    if (!response.ok) throw new ApiError(response.status, response.statusText);
    return URL.createObjectURL(await response.blob());
  }

  window.api = { key: key, setKey: setKey, call: call, stream: stream, blobUrl: blobUrl, ApiError: ApiError };
})();
