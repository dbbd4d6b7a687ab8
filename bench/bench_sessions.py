"""BrowserArena-style session benchmark: create a session, connect over CDP, goto a page, release
it; p50/p90/p99 per phase over N iterations, for browserfn (HTTP API + pooled Chromium + CDP
proxy) beside raw Playwright launching the same Chromium on the same machine in the same run.

    .venv/bin/python bench/bench_sessions.py --iterations 100 [--pool-size 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Playwright, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from browserfn.browser.chromium import DEFAULT_FLAGS
from tests.browser.site import LocalSite
from tests.live_server import LiveServer

PHASES = ("create", "connect", "goto", "release", "total")
Timings = dict[str, list[float]]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Clock:
    """Per-phase wall-clock times in milliseconds."""

    def __init__(self) -> None:
        self.timings: Timings = {phase: [] for phase in PHASES}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings[name].append((time.perf_counter() - start) * 1000)


def bench_browserfn(playwright: Playwright, server: LiveServer, url: str, n: int) -> Timings:
    clock = Clock()
    with server.client() as api:
        for _ in range(n):
            with clock.phase("total"):
                with clock.phase("create"):
                    session = api.post("/sessions/start", json={}).json()
                with clock.phase("connect"):
                    browser = playwright.chromium.connect_over_cdp(session["cdp_url"])
                with clock.phase("goto"):
                    browser.contexts[0].pages[0].goto(url)
                with clock.phase("release"):
                    browser.close()
                    assert api.delete(f"/sessions/{session['session_id']}/stop").json()["status"] == "closed"
    return clock.timings


def bench_raw_playwright(playwright: Playwright, chromium: str, url: str, n: int) -> Timings:
    """What a script does without browserfn: launch Chromium itself (create and connect are one
    step here, so `connect` is 0), open a page and goto, close."""
    clock = Clock()
    flags = [f for f in DEFAULT_FLAGS if not f.startswith("--remote-debugging")]
    for _ in range(n):
        with clock.phase("total"):
            with clock.phase("create"):
                browser = playwright.chromium.launch(executable_path=chromium, args=flags)
            clock.timings["connect"].append(0.0)
            with clock.phase("goto"):
                browser.new_page().goto(url)
            with clock.phase("release"):
                browser.close()
    return clock.timings


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _report(name: str, timings: Timings) -> None:
    print(f"\n{name}  (ms, n={len(timings['total'])})")
    print(f"  {'phase':<8} {'p50':>8} {'p90':>8} {'p99':>8} {'mean':>8}")
    for phase in PHASES:
        values = timings[phase]
        print(
            f"  {phase:<8} {_percentile(values, 50):8.1f} {_percentile(values, 90):8.1f} "
            f"{_percentile(values, 99):8.1f} {statistics.fmean(values):8.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    os.environ.setdefault("DISABLE_TELEMETRY", "true")
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: nproc={os.cpu_count()} cpu={_cpu_model()!r} {platform.system()} {platform.release()}")
    print(f"chromium: {args.chromium}; browserfn pool size {args.pool_size}; page: local 127.0.0.1 test site")
    site = LocalSite().start()
    url = f"{site.url}/page?name=bench"
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as tmp:
        server = LiveServer(
            Path(tmp) / "server", warm_processes=0, extra_args=("--browser-pool-size", str(args.pool_size))
        )
        server.start()
        try:
            with sync_playwright() as playwright:
                time.sleep(3)  # let the pool fill before measuring
                fn = bench_browserfn(playwright, server, url, args.iterations)
                raw = bench_raw_playwright(playwright, args.chromium, url, args.iterations)
        finally:
            server.stop()
            site.stop()
    _report("browserfn: POST /sessions/start, connect_over_cdp(cdp_url), goto, close + DELETE stop", fn)
    _report("raw Playwright: chromium.launch(executable_path), new_page + goto, close", raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
