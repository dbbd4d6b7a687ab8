"""A small website on 127.0.0.1 for browser tests: a page with links and page chrome, a form and
its result page, a page echoing the user agent (header and navigator.userAgent), a slow page, and
a page that never finishes loading."""

from __future__ import annotations

import contextlib
import html
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

INDEX = """<!doctype html><html><head><title>Test shop</title><style>body{font:14px sans-serif}</style>
<script>window.addEventListener('DOMContentLoaded',
  () => { document.getElementById('js').textContent = 'Made by script'; });</script>
</head><body>
<header><nav><a href="/">Home</a> <a href="/form">Contact</a></nav></header>
<main><h1>Welcome to the test shop</h1>
<p>We sell <strong>red apples</strong> for 3 euros. See the <a href="/form">contact form</a>.</p>
<p id="js"></p><img src="/logo.png" alt="shop logo">
<ul><li>Apples</li><li>Pears</li></ul>
<div style="height:3000px"></div><p id="bottom">The end</p></main>
<footer>Copyright test shop</footer></body></html>"""

FORM = """<!doctype html><html><head><title>Contact</title></head><body><main><h1>Contact us</h1>
<form action="/submitted" method="get">
<label>Name <input id="name" name="name"></label>
<label>Email <input id="email" name="email" type="email"></label>
<label><input id="agree" name="agree" type="checkbox" value="yes"> I agree</label>
<select id="color" name="color"><option value="red">Red</option><option value="green">Green</option></select>
<button type="submit">Send</button></form>
<input id="search" name="q" onkeydown="if(event.key==='Enter'){document.title='entered '+this.value}">
</main></body></html>"""


#: The library (agents' tests): search, a list of results, a page per book.
BOOKS = {
    "dune": ("Dune", "Frank Herbert", 1965),
    "dune-messiah": ("Dune Messiah", "Frank Herbert", 1969),
    "solaris": ("Solaris", "Stanislaw Lem", 1961),
}
LIBRARY = """<!doctype html><html><head><title>Library</title></head><body><main><h1>City library</h1>
<form action="/library/search" method="get"><input id="q" name="q" placeholder="Search books">
<button type="submit">Search</button></form><button id="broken" style="display:none">Hidden</button>
</main></body></html>"""


def _library(path: str, query: dict[str, str]) -> str | None:
    """The library's pages, None for a path it does not have."""
    if path == "/library":
        return LIBRARY
    if path == "/library/join":  # inputs that do not say what they take (no name, type or autocomplete)
        return ("<html><head><title>Join</title></head><body><label>Who are you <input id='who'></label>"
                "<label>Where we write to you <input id='reach'></label>"
                "<button>Join</button></body></html>")  # fmt: skip
    if path == "/library/search":
        words = query.get("q", "").lower().split()
        found = [(key, book) for key, book in BOOKS.items() if words and all(w in book[0].lower() for w in words)]
        link = '<li><a href="/library/book/{}">{} ({})</a></li>'
        items = "".join(link.format(key, html.escape(t), y) for key, (t, _, y) in found)
        return (f"<html><head><title>Results</title></head><body><h1>{len(found)} results</h1>"
                f"<ul>{items}</ul></body></html>")  # fmt: skip
    if path.startswith("/library/book/") and (book := BOOKS.get(path.rsplit("/", 1)[1])):
        title, author, year = book
        return (f"<html><head><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
                f"<p>By <span id='author'>{html.escape(author)}</span>, first published in {year}.</p>"
                "<a href='/library'>Back to the library</a></body></html>")  # fmt: skip
    return None


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # quiet
        pass

    def handle(self) -> None:
        # A browser may drop its connection before the answer is written (a page closed while it
        # loads): what a real site shrugs off, not a traceback on the test's output.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def _send(self, body: str, content_type: str = "text/html; charset=utf-8") -> None:
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/":
            self._send(INDEX)
        elif (library := _library(url.path, query)) is not None:
            self._send(library)
        elif url.path == "/form":
            self._send(FORM)
        elif url.path == "/submitted":
            items = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in sorted(query.items()))
            self._send(f"<html><head><title>Thanks</title></head><body><h1>Thanks</h1><ul>{items}</ul></body></html>")
        elif url.path == "/page":
            name = html.escape(query.get("name", "page"))
            self._send(f"<html><head><title>{name}</title></head><body><h1>{name}</h1></body></html>")
        elif url.path == "/ua":
            sent = html.escape(self.headers.get("User-Agent", ""))
            script = "document.getElementById('js').textContent = navigator.userAgent"
            self._send(f"<html><head><title>UA</title></head><body><p id='header'>header: {sent}</p>"
                       f"<p>script: <span id='js'></span></p><script>{script}</script></body></html>")  # fmt: skip
        elif url.path == "/headers":
            rows = "".join(f"<li>{html.escape(k.lower())}: {html.escape(v)}</li>" for k, v in self.headers.items())
            self._send(f"<html><head><title>Headers</title></head><body><ul>{rows}</ul></body></html>")
        elif url.path == "/slow":
            time.sleep(float(query.get("s", "1")))
            self._send("<html><head><title>Slow</title></head><body><h1>Slow page</h1></body></html>")
        elif url.path == "/never":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><head><title>Never</title></head><body><h1>Loading forever</h1>")
            self.wfile.flush()
            while not self.server.closing:  # type: ignore[attr-defined]
                time.sleep(0.1)
        elif url.path in ("/logo.png", "/favicon.ico"):
            self._send("", "image/png")
        else:
            self.send_error(404)


class LocalSite:
    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.closing = False  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LocalSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.closing = True  # type: ignore[attr-defined]
        self._server.shutdown()
        self._server.server_close()
