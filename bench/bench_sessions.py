"""Browser benchmarks, each beside raw Playwright on the same machine in the same run:

1. BrowserArena-style session lifecycle (issue 3): create a session, connect over CDP, goto a
   page, release it; p50/p90/p99 per phase over N iterations, for browserfn (HTTP API + pooled
   Chromium + CDP proxy) beside raw Playwright launching the same Chromium;
2. browser run (issue 7, figure 3): a function run that opens a session with the official SDK,
   goes to a local page, reads its title and releases the session, start request to result,
   beside raw Playwright doing the same work on a warm browser in this process (new context,
   new page, goto, title, close): paced, back to back, and 4 at a time;
3. density (issue 22): the memory each open session costs, idle and with a typical page loaded
   (PSS and RSS of the browser processes, from /proc), and the sessions a GiB and 24 GiB hold,
   beside raw Playwright with one browser and a context per session, and a browser per session.

    .venv/bin/python -m bench.bench_sessions --iterations 100 [--pool-size 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.async_api import async_playwright
from playwright.sync_api import Browser, Playwright, sync_playwright

from bench.bench_runs import deploy
from bench.common import header, percentile, summary
from bench.density import Memory, TypicalSite, memory_marked, row
from browserfn.browser.chromium import DEFAULT_FLAGS, MARKER_ENV
from tests.browser.site import LocalSite
from tests.live_server import LiveServer

PHASES = ("create", "connect", "goto", "release", "total")
Timings = dict[str, list[float]]
#: Figure 3's function: what a Notte function script does with a browser, in its smallest form.
TITLE_READER = """from notte_sdk import NotteClient


def run(url: str):
    with NotteClient().Session() as session:
        session.execute(type="goto", url=url)
        return session.debug_info().tabs[0].metadata.title
"""


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
    flags = list(DEFAULT_FLAGS)
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


def _report(name: str, timings: Timings) -> None:
    print(f"\n{name}  (ms, n={len(timings['total'])})")
    print(f"  {'phase':<8} {'p50':>8} {'p90':>8} {'p99':>8} {'mean':>8}")
    for phase in PHASES:
        values = timings[phase]
        print(
            f"  {phase:<8} {percentile(values, 50):8.1f} {percentile(values, 90):8.1f} "
            f"{percentile(values, 99):8.1f} {statistics.fmean(values):8.1f}"
        )


def browser_runs(server: LiveServer, url: str, n: int, pause_s: float, concurrency: int = 1) -> list[float]:
    """Start-to-result of a function run that reads a page's title through a session (ms), with
    `pause_s` between runs, `concurrency` clients at a time (each doing n runs)."""
    function_id = deploy(server.url, server.key, TITLE_READER)
    body = {"workflow_id": function_id, "variables": {"url": url}, "stream": False}

    def client() -> list[float]:
        latencies = []
        with server.client() as api:
            for i in range(n + 3):  # 3 warm-up runs
                start = time.perf_counter()
                answer = api.post(f"/functions/{function_id}/runs/start", json=body, timeout=120).json()
                if i >= 3:
                    latencies.append((time.perf_counter() - start) * 1000)
                assert answer["status"] == "closed" and answer["result"] == "bench", answer
                time.sleep(pause_s)
        return latencies

    with ThreadPoolExecutor(concurrency) as clients:
        return [ms for one in clients.map(lambda _: client(), range(concurrency)) for ms in one]


def raw_warm_runs(browser: Browser, url: str, n: int, pause_s: float = 0.0) -> list[float]:
    """The same work with raw Playwright on a browser already launched: new context, new page,
    goto, read the title, close the context (ms), with `pause_s` between runs."""
    latencies = []
    for _ in range(n):
        time.sleep(pause_s)
        start = time.perf_counter()
        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        assert page.title() == "bench"
        context.close()
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def raw_concurrent_runs(chromium: str, url: str, n: int, concurrency: int) -> list[float]:
    """`raw_warm_runs` by `concurrency` clients at a time on one warm browser (ms)."""

    async def measure() -> list[float]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=list(DEFAULT_FLAGS))

            async def client() -> list[float]:
                latencies = []
                for i in range(n + 3):
                    start = time.perf_counter()
                    context = await browser.new_context()
                    page = await context.new_page()
                    await page.goto(url)
                    assert await page.title() == "bench"
                    await context.close()
                    if i >= 3:
                        latencies.append((time.perf_counter() - start) * 1000)
                return latencies

            found = await asyncio.gather(*(client() for _ in range(concurrency)))
            await browser.close()
            return [ms for one in found for ms in one]

    return asyncio.run(measure())


def _settle() -> None:
    """Let launches ahead of demand end and memory settle before a reading."""
    time.sleep(4)


def browserfn_density(server: LiveServer, page_url: str, n: int) -> tuple[Memory, Memory]:
    """Memory per open session (idle, then with `page_url` loaded): the server's browser processes
    with n sessions of one account open, less the same with none open, once the account has had
    a session (its browser, as between two sessions: kept for browser_account_idle_s)."""
    marker = f"{MARKER_ENV}={server.data_dir.resolve()}"
    with server.client(timeout=120) as api:
        api.delete(f"/sessions/{api.post('/sessions/start', json={}).json()['session_id']}/stop")
        _settle()
        empty = memory_marked(marker)
        ids = [api.post("/sessions/start", json={}).json()["session_id"] for _ in range(n)]
        _settle()
        idle = memory_marked(marker)
        for session_id in ids:
            done = api.post(f"/sessions/{session_id}/page/execute", json={"type": "goto", "url": page_url}).json()
            assert done["success"], done
        _settle()
        loaded = memory_marked(marker)
        for session_id in ids:
            api.delete(f"/sessions/{session_id}/stop")
    return (idle - empty).per(n), (loaded - empty).per(n)


def raw_density(chromium: str, page_url: str, n: int, browser_per_session: bool) -> tuple[Memory, Memory]:
    """The same with raw Playwright: one browser and a context (and page) per session, or a
    browser per session (its default context's page)."""
    marker = f"BENCH_BROWSER={os.getpid()}-{browser_per_session}"
    name, value = marker.split("=", 1)

    async def measure() -> tuple[Memory, Memory]:
        async with async_playwright() as playwright:

            async def launch() -> object:
                return await playwright.chromium.launch(
                    executable_path=chromium, args=list(DEFAULT_FLAGS), env={**os.environ, name: value}
                )

            browsers = [] if browser_per_session else [await launch()]
            _settle()
            empty = memory_marked(marker)
            pages = []
            for _ in range(n):
                if browser_per_session:
                    browsers.append(await launch())
                    pages.append(await browsers[-1].new_page())  # type: ignore[attr-defined]
                else:
                    pages.append(await (await browsers[0].new_context()).new_page())  # type: ignore[attr-defined]
            _settle()
            idle = memory_marked(marker)
            for page in pages:
                await page.goto(page_url)
            _settle()
            loaded = memory_marked(marker)
            for browser in browsers:
                await browser.close()  # type: ignore[attr-defined]
            return (idle - empty).per(n), (loaded - empty).per(n)

    return asyncio.run(measure())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--pause", type=float, default=1.5, help="seconds between paced browser runs")
    parser.add_argument("--concurrency", type=int, default=4, help="clients at a time for the concurrent figure")
    parser.add_argument("--density-sessions", type=int, default=6, help="sessions open for the density figure")
    args = parser.parse_args()
    header("browserfn browser sessions and browser runs")
    print(f"chromium: {args.chromium}; browserfn pool size {args.pool_size}; page: local 127.0.0.1 test site")
    site = LocalSite().start()
    url = f"{site.url}/page?name=bench"
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as tmp:
        server = LiveServer(
            Path(tmp) / "server",
            warm_processes=args.concurrency,
            extra_args=("--browser-pool-size", str(args.pool_size)),
        )
        server.start()
        try:
            with TypicalSite().running() as typical:
                density = {
                    "browserfn, sessions of one account": browserfn_density(server, typical.url, args.density_sessions),
                    "raw Playwright, one browser, context each": raw_density(
                        args.chromium, typical.url, args.density_sessions, False
                    ),
                    "raw Playwright, one browser per session": raw_density(
                        args.chromium, typical.url, args.density_sessions, True
                    ),
                }
            each = args.iterations // args.concurrency
            concurrent = browser_runs(server, url, each, 0.0, args.concurrency)
            raw_concurrent = raw_concurrent_runs(args.chromium, url, each, args.concurrency)
            with sync_playwright() as playwright:
                time.sleep(3)  # let the pool fill before measuring
                fn = bench_browserfn(playwright, server, url, args.iterations)
                raw = bench_raw_playwright(playwright, args.chromium, url, args.iterations)
                paced = browser_runs(server, url, args.iterations, args.pause)
                back_to_back = browser_runs(server, url, args.iterations, 0.0)
                warm = playwright.chromium.launch(executable_path=args.chromium, args=list(DEFAULT_FLAGS))
                raw_warm_runs(warm, url, 3)  # warm-up
                raw_paced = raw_warm_runs(warm, url, args.iterations, args.pause)
                raw_back_to_back = raw_warm_runs(warm, url, args.iterations)
                warm.close()
        finally:
            server.stop()
            site.stop()
    print("\n## 1. session lifecycle")
    _report("browserfn: POST /sessions/start, connect_over_cdp(cdp_url), goto, close + DELETE stop", fn)
    _report("raw Playwright: chromium.launch(executable_path), new_page + goto, close", raw)
    print("\n## 2. browser run: open a session, goto a local page, read the title, release")
    print(f"paced, {args.pause:g} s between runs")
    print(f"  browserfn function run (stream false)   {summary(paced)}")
    print(f"  raw Playwright, warm browser            {summary(raw_paced)}")
    print(f"  browserfn p50 / raw p50 = {statistics.median(paced) / statistics.median(raw_paced):.2f}")
    print("back to back")
    print(f"  browserfn function run (stream false)   {summary(back_to_back)}")
    print(f"  raw Playwright, warm browser            {summary(raw_back_to_back)}")
    ratio = statistics.median(back_to_back) / statistics.median(raw_back_to_back)
    print(f"  browserfn p50 / raw p50 = {ratio:.2f}")
    print(f"{args.concurrency} at a time ({args.concurrency} clients, each back to back)")
    print(f"  browserfn function run (stream false)   {summary(concurrent)}")
    print(f"  raw Playwright, one warm browser        {summary(raw_concurrent)}")
    print(f"  browserfn p50 / raw p50 = {statistics.median(concurrent) / statistics.median(raw_concurrent):.2f}")
    print(f"\n## 3. density: memory per open session ({args.density_sessions} open, PSS/RSS of browser processes)")
    for name, (idle, loaded) in density.items():
        print(row(name, idle, loaded))
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
