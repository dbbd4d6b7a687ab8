"""Memory of browser processes, read from /proc: the proportional set size (PSS: each shared page
counted once across the processes that share it) and the resident set size (RSS) of every
process whose environment carries a marker, summed; and a "typical page" to load in them."""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import threading
from collections.abc import Iterator

from browserfn.browser.chromium import processes_with_env
from browserfn.sandbox import proctree

MIB = 1024 * 1024
SVG = "%3Csvg xmlns='http://www.w3.org/2000/svg' width='400' height='200'%3E%3Crect width='400' height='200'/%3E%3C/svg%3E"  # noqa: E501
GIB_MIB = 1024


@dataclasses.dataclass(frozen=True)
class Memory:
    pss_mib: float
    rss_mib: float
    processes: float  #: processes (per session: on average)

    def __sub__(self, other: Memory) -> Memory:
        return Memory(self.pss_mib - other.pss_mib, self.rss_mib - other.rss_mib, self.processes - other.processes)

    def per(self, n: int) -> Memory:
        return Memory(self.pss_mib / n, self.rss_mib / n, self.processes / n)


def _kib(path: str, field: str) -> int:
    with contextlib.suppress(OSError, ValueError), open(path) as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def memory_of(pids: list[int]) -> Memory:
    pss = sum(_kib(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in pids)
    rss = sum(_kib(f"/proc/{pid}/status", "VmRSS:") for pid in pids)
    return Memory(pss / 1024, rss / 1024, float(len(pids)))


def memory_marked(entry: str) -> Memory:
    """The memory of every living process whose environment holds `entry` (NAME=value), and of
    their descendants (Chromium's zygote starts renderers with an environment of their own)."""
    marked = processes_with_env(entry)
    return memory_of(sorted({*marked, *(child for pid in marked for child in proctree.descendants(pid))}))


def per_gib(per_session: Memory) -> str:
    if per_session.pss_mib <= 0:
        return "n/a"
    return f"{GIB_MIB / per_session.pss_mib:6.1f}/GiB  {24 * GIB_MIB / per_session.pss_mib:6.0f} in 24 GiB"


def row(name: str, idle: Memory, loaded: Memory) -> str:
    return (
        f"  {name:<42} idle {idle.pss_mib:6.1f} MiB PSS ({idle.rss_mib:6.1f} RSS, {idle.processes:.1f} proc)  "
        f"{per_gib(idle)}   with the page {loaded.pss_mib:6.1f} MiB PSS ({loaded.rss_mib:6.1f} RSS, "
        f"{loaded.processes:.1f} proc)  {per_gib(loaded)}"
    )


def typical_page() -> bytes:
    """A page of the weight of an ordinary article: styles, 2,000 elements, a script that builds
    part of the DOM and keeps some data, a canvas, an image."""
    items = "".join(
        f'<li class="item"><a href="#i{i}">Item {i}</a> <span>{"lorem ipsum dolor " * 4}</span></li>'
        for i in range(600)
    )
    return f"""<!doctype html><html><head><title>typical</title><style>
body {{ font-family: sans-serif; margin: 2em; }} .item {{ padding: 4px; border-bottom: 1px solid #ddd; }}
.item:nth-child(odd) {{ background: #f6f6f6; }} header {{ position: sticky; top: 0; background: #fff; }}
</style></head><body><header><h1>Typical page</h1><nav>{"<a href='#'>link</a> " * 30}</nav></header>
<canvas id="c" width="600" height="300"></canvas>
<img src="data:image/svg+xml,{SVG}">
<ul>{items}</ul><div id="dyn"></div>
<script>
window.store = Array.from({{length: 20000}}, (_, i) => ({{id: i, name: 'row ' + i, tags: ['a', 'b']}}));
const dyn = document.getElementById('dyn');
for (let i = 0; i < 400; i++) {{
  const p = document.createElement('p'); p.textContent = 'paragraph ' + i; dyn.appendChild(p);
}}
const g = document.getElementById('c').getContext('2d');
for (let i = 0; i < 200; i++) {{ g.fillStyle = `hsl(${{i}},60%,50%)`; g.fillRect(i * 3, i % 150, 20, 20); }}
</script></body></html>""".encode()


class TypicalSite:
    """Serves `typical_page()` at / on 127.0.0.1."""

    def __init__(self) -> None:
        body = typical_page()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"

    @contextlib.contextmanager
    def running(self) -> Iterator[TypicalSite]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
