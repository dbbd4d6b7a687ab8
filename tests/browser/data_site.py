"""A small website on 127.0.0.1 for the tests of a session's state and data: a page echoing the
cookies it was sent, a login that sets a cookie and local storage and an account page that
says who is logged in (by both), a form with a file input that shows the bytes it was given, a
page with a download link (and a link a plain click downloads), and a page fetching JSON (and
a response the server cuts short)."""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

#: What /report.csv serves (as an attachment).
DOWNLOAD_BYTES = b"id,name\n1,apples\n2,pears\n" + bytes(range(256))

UPLOAD = """<!doctype html><html><head><title>Upload</title></head><body>
<input type="file" id="doc" name="doc"
  onchange="this.files[0].arrayBuffer().then(b => { const a = new Uint8Array(b);
    document.getElementById('seen').textContent = this.files[0].name + ':' + a.length + ':' +
      Array.from(a).map(x => x.toString(16).padStart(2, '0')).join(''); })">
<button id="pick" onclick="document.getElementById('doc').click()">Choose</button>
<p id="seen"></p></body></html>"""

DOWNLOAD = """<!doctype html><html><head><title>Downloads</title></head><body>
<a id="report" href="/report.csv">Report</a>
<a id="other" href="/report.csv?name=other.csv">Other</a>
</body></html>"""

ACCOUNT_SCRIPT = """const who = localStorage.getItem('who');
document.getElementById('storage').textContent = who ? 'storage: ' + who : 'storage: none';"""


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, body: bytes, content_type: str = "text/html; charset=utf-8", headers: dict[str, str] | None = None):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _page(self, title: str, body: str, headers: dict[str, str] | None = None) -> None:
        self._send(f"<html><head><title>{title}</title></head><body>{body}</body></html>".encode(), headers=headers)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.seen.append(url.path)  # type: ignore[attr-defined]
        cookie = self.headers.get("Cookie", "")
        if url.path == "/cookies":
            self._page("Cookies", f"<p id='sent'>cookies: {html.escape(cookie) or 'none'}</p>")
        elif url.path == "/login":
            user = html.escape(query.get("user", "ada"))
            script = f"<script>localStorage.setItem('who', '{user}')</script>"
            cookie_header = f"login={user}; Path=/; Max-Age=86400; HttpOnly"
            self._page("Logged in", f"<p>welcome {user}</p>{script}", {"Set-Cookie": cookie_header})
        elif url.path == "/account":
            logged = [c.split("=", 1)[1] for c in cookie.split("; ") if c.startswith("login=")]
            text = f"logged in as {html.escape(logged[0])}" if logged else "not logged in"
            self._page("Account", f"<p id='who'>{text}</p><p id='storage'></p><script>{ACCOUNT_SCRIPT}</script>")
        elif url.path == "/upload":
            self._send(UPLOAD.encode())
        elif url.path == "/download":
            self._send(DOWNLOAD.encode())
        elif url.path == "/report.csv":
            name = query.get("name", "report.csv")
            disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
            self._send(DOWNLOAD_BYTES, "text/csv", disposition)
        elif url.path == "/fetching":
            script = (
                "fetch('/data.json?from=script').then(r => r.json()).then(d => document.title = d.name);"
                "fetch('/cut.json').then(r => r.text()).catch(() => {})"
            )
            self._page("Fetching", f"<p>fetching</p><script>{script}</script>")
        elif url.path == "/data.json":
            self._send(b'{"name": "fetched"}', "application/json")
        elif url.path == "/cut.json":  # a response whose body the server cuts short
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"name": ')
            self.close_connection = True
        else:
            self.send_error(404)


class DataSite:
    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.seen = []  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def seen(self) -> list[str]:
        """Paths requested so far, in order."""
        found: list[str] = self._server.seen  # type: ignore[attr-defined]
        return found

    def start(self) -> DataSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
