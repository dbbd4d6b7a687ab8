"""A local website for the tests of what one session leaves to the next: a page that stores
everything a page can store, a cacheable resource that counts its fetches, a service worker, a
download, and /whoami, which answers with the pid of the browser process whose network stack
asked (the process that holds the socket, then its ancestors up to the browser's main process)."""

from __future__ import annotations

import contextlib
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from browserfn.browser.chromium import MARKER_ENV

STORE_PAGE = """<!doctype html><title>store</title><body>
<script>
async function storeEverything() {
  document.cookie = 'left=by-first; path=/; max-age=3600';
  localStorage.setItem('left', 'by-first');
  sessionStorage.setItem('left', 'by-first');
  await new Promise((ok, fail) => {
    const open = indexedDB.open('left-db', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('things');
    open.onsuccess = () => {
      const tx = open.result.transaction('things', 'readwrite');
      tx.objectStore('things').put('by-first', 'left');
      tx.oncomplete = () => { open.result.close(); ok(); };
      tx.onerror = fail;
    };
    open.onerror = fail;
  });
  const registration = await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  await fetch('/cached');
  return registration.scope;
}
async function whatIsLeft() {
  const dbs = (await indexedDB.databases()).map(db => db.name);
  const workers = (await navigator.serviceWorker.getRegistrations()).length;
  const geo = (await navigator.permissions.query({name: 'geolocation'})).state;
  const cache = (await caches.keys()).length;
  return {cookie: document.cookie, local: localStorage.getItem('left'), session: sessionStorage.getItem('left'),
          dbs, workers, geo, cache};
}
</script></body>"""
SERVICE_WORKER = """self.addEventListener('install', event => event.waitUntil(
  caches.open('left-cache').then(cache => cache.put('/x', new Response('x')))));"""


def _socket_owner(local_port: int, remote_port: int) -> int | None:
    """The pid holding the TCP socket 127.0.0.1:local_port -> 127.0.0.1:remote_port."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port:
            inode = fields[9]
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                        return int(pid)
    return None


def _marked(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return any(
            entry.startswith(MARKER_ENV.encode() + b"=")
            for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        )
    return False


def browser_main_pid(pid: int) -> int:
    """The topmost ancestor of `pid` (itself included) that is a browserfn browser process."""
    while True:
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        if parent <= 1 or not _marked(parent):
            return pid
        pid = parent


class StateSite:
    def __init__(self) -> None:
        self.fetches: dict[str, int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, body: str, content_type: str = "text/html", headers: dict[str, str] | None = None) -> None:
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                site.fetches[path] = site.fetches.get(path, 0) + 1
                if path == "/store":
                    self._send(STORE_PAGE)
                elif path == "/sw.js":
                    self._send(SERVICE_WORKER, "text/javascript")
                elif path == "/cached":
                    self._send("cached", "text/plain", {"Cache-Control": "public, max-age=3600"})
                elif path == "/download":
                    self._send(
                        "a file", "application/octet-stream", {"Content-Disposition": "attachment; filename=left.txt"}
                    )
                elif path == "/whoami":
                    owner = _socket_owner(self.client_address[1], self.server.server_address[1])
                    pid = browser_main_pid(owner) if owner is not None else 0
                    self._send(f"<!doctype html><title>{pid}</title>")
                else:
                    self._send("<!doctype html><title>state site</title>")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> StateSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
