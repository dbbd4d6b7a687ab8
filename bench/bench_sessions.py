"""Browser benchmarks, each beside raw Playwright on the same machine in the same run:

1. BrowserArena-style session lifecycle (issue 3): create a session, connect over CDP, goto a
   page, release it; p50/p90/p99 per phase over N iterations, for browserfn (HTTP API + pooled
   Chromium + CDP proxy) beside raw Playwright launching the same Chromium;
2. browser run (issue 7, figure 3): a function run that opens a session with the official SDK,
   goes to a local page, reads its title and releases the session, start request to result,
   beside raw Playwright doing the same work on a warm browser in this process (new context,
   new page, goto, title, close): paced, back to back, and 4 at a time, each in alternated rounds
   (browserfn, raw, raw, browserfn, ...) so both sides share the same minutes, the ratio the
   median of the rounds'; 4 at a time, each side's CPU a run is read from /proc by process
   (bench/process_cpu.py): the two cores are the bottleneck there, so it is what the latency
   ratio follows;
3. density (issue 22): the memory each open session costs, idle and with a typical page loaded
   (PSS and RSS of the browser processes, from /proc), and the sessions a GiB and 24 GiB hold,
   beside raw Playwright with one browser and a context per session, and a browser per session.

    .venv/bin/python -m bench.bench_sessions --iterations 100 [--rounds 3] [--pool-size 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.async_api import async_playwright
from playwright.sync_api import Browser, Playwright, sync_playwright

from bench.bench_runs import deploy
from bench.common import header, percentile, summary
from bench.density import Memory, TypicalSite, memory_marked, row
from bench.process_cpu import difference, tree_cpu_by_kind
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


@dataclasses.dataclass
class Paired:
    """One figure of section 2, browserfn beside raw Playwright, measured in alternated rounds so
    both sides share the same minutes (this machine's speed moves by 10-30 % from one minute to
    the next; one block after the other put that drift into the ratio)."""

    browserfn: list[float] = dataclasses.field(default_factory=list)
    raw: list[float] = dataclasses.field(default_factory=list)
    ratios: list[float] = dataclasses.field(default_factory=list)  #: each round's p50 / p50

    def add(self, browserfn: list[float], raw: list[float]) -> None:
        self.browserfn += browserfn
        self.raw += raw
        self.ratios.append(statistics.median(browserfn) / statistics.median(raw))

    def report(self, title: str, raw_name: str) -> None:
        print(title)
        print(f"  browserfn function run (stream false)   {summary(self.browserfn)}")
        print(f"  {raw_name:<40}{summary(self.raw)}")
        rounds = ", ".join(f"{ratio:.2f}" for ratio in self.ratios)
        print(f"  browserfn p50 / raw p50 = {statistics.median(self.ratios):.2f} (median of the rounds': {rounds})")


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


def raw_concurrent_runs(
    chromium: str, url: str, n: int, concurrency: int, server_pid: int
) -> tuple[list[float], dict[str, float]]:
    """`raw_warm_runs` by `concurrency` clients at a time on one warm browser (ms), and the CPU
    they used (seconds by process kind, `process_kind`; warm-up runs included, launch and close
    not; the browserfn server's tree, this process's child too, left out)."""

    async def measure() -> tuple[list[float], dict[str, float]]:
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

            before = tree_cpu_by_kind(os.getpid(), process_kind, server_pid)
            found = await asyncio.gather(*(client() for _ in range(concurrency)))
            cpu = difference(tree_cpu_by_kind(os.getpid(), process_kind, server_pid), before)
            await browser.close()
            return [ms for one in found for ms in one], cpu

    return asyncio.run(measure())


def process_kind(pid: int) -> str:
    """What a process of a server's tree (or of this one's) is, by its command: Chromium, the
    Playwright driver (Node.js), the server itself, or its runs (the fork server and run
    processes); this process: the raw Playwright client and the local test site."""
    if pid == os.getpid():
        return "this process (raw client, test site)"
    try:
        command = Path(f"/proc/{pid}/comm").read_text().strip()
        line = Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return "ended"  # between its CPU's reading and this one; reaped, it counts under its parent
    if command.startswith(("chromium", "chrome")):
        return "Chromium"
    if command.startswith("node"):
        return "driver"
    return "runs" if "forkserver" in line else "API server"


def per_run_ms(cpu_s: dict[str, float], runs: int) -> dict[str, float]:
    return {kind: seconds * 1000 / runs for kind, seconds in cpu_s.items()}


def cpu_line(name: str, cpu_ms: dict[str, float]) -> str:
    parts = ", ".join(f"{kind} {ms:.0f}" for kind, ms in sorted(cpu_ms.items(), key=lambda item: -item[1]) if ms >= 0.5)
    return f"  {name:<40}{sum(cpu_ms.values()):6.0f} ms ({parts})"


@dataclasses.dataclass
class BrowserRuns:
    """Section 2's figures, and the CPU a run 4 at a time of each side summed over the rounds."""

    paced: Paired = dataclasses.field(default_factory=Paired)
    back_to_back: Paired = dataclasses.field(default_factory=Paired)
    concurrent: Paired = dataclasses.field(default_factory=Paired)
    browserfn_cpu_s: dict[str, float] = dataclasses.field(default_factory=dict)
    raw_cpu_s: dict[str, float] = dataclasses.field(default_factory=dict)
    concurrent_runs: int = 0  #: runs each side made 4 at a time, warm-ups included

    def report(self, args: argparse.Namespace) -> None:
        self.paced.report(f"paced, {args.pause:g} s between runs", "raw Playwright, warm browser")
        self.back_to_back.report("back to back", "raw Playwright, warm browser")
        self.concurrent.report(
            f"{args.concurrency} at a time ({args.concurrency} clients, each back to back)",
            "raw Playwright, one warm browser",
        )
        browserfn = per_run_ms(self.browserfn_cpu_s, self.concurrent_runs)
        raw = per_run_ms(self.raw_cpu_s, self.concurrent_runs)
        print("  CPU a run, from /proc by process (warm-up runs included; bench/process_cpu.py):")
        print(cpu_line("browserfn (the server's processes)", browserfn))
        print(cpu_line("raw Playwright", raw))
        print(f"  browserfn CPU / raw CPU = {sum(browserfn.values()) / sum(raw.values()):.2f}")


def browser_run_rounds(playwright: Playwright, server: LiveServer, url: str, args: argparse.Namespace) -> BrowserRuns:
    """Section 2: paced, back to back and `args.concurrency` at a time, each in `args.rounds`
    rounds of `args.iterations // args.rounds` runs a side, browserfn and raw Playwright taking
    turns at going first. Raw Playwright 4 at a time runs on an asyncio loop of its own, in a
    thread (this one's is the sync API's)."""
    assert server.process is not None
    server_pid = server.process.pid
    found = BrowserRuns()
    per_round = max(1, args.iterations // args.rounds)
    each = max(1, per_round // args.concurrency)
    warm = playwright.chromium.launch(executable_path=args.chromium, args=list(DEFAULT_FLAGS))
    raw_warm_runs(warm, url, 3)  # warm-up
    with ThreadPoolExecutor(1) as raw_loop:

        def browserfn_concurrent() -> list[float]:
            before = tree_cpu_by_kind(server_pid, process_kind)
            latencies = browser_runs(server, url, each, 0.0, args.concurrency)
            used = difference(tree_cpu_by_kind(server_pid, process_kind), before)
            found.browserfn_cpu_s = _sum(found.browserfn_cpu_s, used)
            return latencies

        def raw_concurrent() -> list[float]:
            run = raw_loop.submit(raw_concurrent_runs, args.chromium, url, each, args.concurrency, server_pid)
            latencies, used = run.result()
            found.raw_cpu_s = _sum(found.raw_cpu_s, used)
            return latencies

        for round_number in range(args.rounds):
            raw_first = round_number % 2 == 1
            found.paced.add(
                *_in_turn(
                    raw_first,
                    lambda: browser_runs(server, url, per_round, args.pause),
                    lambda: raw_warm_runs(warm, url, per_round, args.pause),
                )
            )
            found.back_to_back.add(
                *_in_turn(
                    raw_first,
                    lambda: browser_runs(server, url, per_round, 0.0),
                    lambda: raw_warm_runs(warm, url, per_round),
                )
            )
            found.concurrent.add(*_in_turn(raw_first, browserfn_concurrent, raw_concurrent))
            found.concurrent_runs += (each + 3) * args.concurrency
    warm.close()
    return found


def _in_turn(
    raw_first: bool, browserfn: Callable[[], list[float]], raw: Callable[[], list[float]]
) -> tuple[list[float], list[float]]:
    """Both sides' latencies (browserfn's, raw Playwright's), raw Playwright's measured first if
    `raw_first`."""
    if raw_first:
        raw_ms = raw()
        return browserfn(), raw_ms
    browserfn_ms = browserfn()
    return browserfn_ms, raw()


def _sum(one: dict[str, float], other: dict[str, float]) -> dict[str, float]:
    return {kind: one.get(kind, 0.0) + other.get(kind, 0.0) for kind in one.keys() | other.keys()}


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
    parser.add_argument("--rounds", type=int, default=3, help="section 2: alternated rounds of each figure")
    parser.add_argument("--density-sessions", type=int, default=6, help="sessions open for the density figure")
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep browserfn's data dir (its server.log) here instead of deleting it"
    )
    args = parser.parse_args()
    header("browserfn browser sessions and browser runs")
    print(f"chromium: {args.chromium}; browserfn pool size {args.pool_size}; page: local 127.0.0.1 test site")
    site = LocalSite().start()
    url = f"{site.url}/page?name=bench"
    data = (
        contextlib.nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="bench-sessions-")
    )
    with data as tmp:
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
            with sync_playwright() as playwright:
                time.sleep(3)  # let the pool fill before measuring
                fn = bench_browserfn(playwright, server, url, args.iterations)
                raw = bench_raw_playwright(playwright, args.chromium, url, args.iterations)
                runs = browser_run_rounds(playwright, server, url, args)
        finally:
            server.stop()
            site.stop()
    print("\n## 1. session lifecycle")
    _report("browserfn: POST /sessions/start, connect_over_cdp(cdp_url), goto, close + DELETE stop", fn)
    _report("raw Playwright: chromium.launch(executable_path), new_page + goto, close", raw)
    print("\n## 2. browser run: open a session, goto a local page, read the title, release")
    print(f"{args.rounds} rounds, browserfn and raw Playwright alternated (each first in every other round)")
    runs.report(args)
    print(f"\n## 3. density: memory per open session ({args.density_sessions} open, PSS/RSS of browser processes)")
    for name, (idle, loaded) in density.items():
        print(row(name, idle, loaded))
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.keep:
        print(f"browserfn's log (each request's time): {server.log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
