"""Runs, end to end over loopback HTTP, on real servers started here:

0. the floor: a fork and exit of the warm process, nothing run (bench/fork_floor.py);
1. trivial run (`def run(): return 1`), stream false, sequential: start-to-result p50/p99,
   beside `GET /health` on the same server (issue 7, figure 1);
2. throughput of trivial runs at concurrency 8 and 32, one account allowed 32 at once
   (issue 7, figure 2), with two load generators on this same machine: wrk (C, the usual
   server benchmark tool; every answer checked to be a closed run) and this script's httpx
   client (Python, ~4 ms of CPU per request: it takes a visible share of the two cores);
3. embedded vs PostgreSQL + Procrastinate with 1, 2 and 4 workers: throughput and dispatch
   latency (start request sent -> `run()` entered) p50/p99 (issue 4), in alternated rounds
   (embedded, then scale-out, `--rounds` times) so both are measured in the same minutes.

   With section 3: statements and transactions per run on PostgreSQL, by process (the server's
   statement log, bench/pg_statements.py), CPU per run of each process, and the job engine's
   own cost: Procrastinate alone running no-op jobs at the rate one worker ran
   (bench/procrastinate_floor.py).

    .venv/bin/python -m bench.bench_runs [--runs 200] [--skip-postgres | --only-postgres] [--workers 1,2,4]
        [--rounds 3] [--synchronous-commit on|off]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import procrastinate_floor
from bench.common import header, percentile, summary
from bench.pg_statements import StatementLog, analyze, backends, set_synchronous_commit
from bench.process_cpu import TreeCpu, own_cpu_s, tree_cpu
from tests.live_server import LiveServer
from tests.scaleout.cluster import Cluster, Node
from tests.store.conftest import scratch_database

TRIVIAL = "def run():\n    return 1\n"
PROBE = "import time\n\ndef run(sent: float):\n    return time.time() - sent\n"
#: Prints its clock 50 times; a client on another API server measures when each line arrives.
TICKER = "import time\n\ndef run():\n    for _ in range(50):\n        print(time.time())\n        time.sleep(0.02)\n"


def deploy(url: str, key: str, code: str) -> str:
    files = {"file": ("bench.py", code.encode(), "text/x-python")}
    response = httpx.post(f"{url}/functions/", files=files, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    response.raise_for_status()
    function_id: str = response.json()["function_id"]
    return function_id


async def start(client: httpx.AsyncClient, function_id: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = {"workflow_id": function_id, "variables": variables, "stream": False}
    response = await client.post(f"/functions/{function_id}/runs/start", json=body, timeout=300)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    assert answer["status"] == "closed", answer
    return answer


async def sequential(url: str, key: str, function_id: str, n: int) -> tuple[list[float], list[float]]:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        for _ in range(5):  # warm-up: connections, pool, first imports
            await start(client, function_id, {})
        health, runs = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            await client.get("/health")
            health.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            await start(client, function_id, {})
            runs.append((time.perf_counter() - t0) * 1000)
        return health, runs


async def load(url: str, key: str, function_id: str, n: int, concurrency: int) -> tuple[float, list[float]]:
    """Runs per second, and dispatch latencies (ms) from the probe's own clock."""
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits) as client:
        gate = asyncio.Semaphore(concurrency)
        dispatch: list[float] = []

        async def one() -> None:
            async with gate:
                answer = await start(client, function_id, {"sent": time.time()})
                dispatch.append(float(answer["result"]) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - t0), dispatch


def wrk_load(server: LiveServer, function_id: str, concurrency: int, seconds: int = 10) -> str:
    """Runs per second and start-to-result latency with wrk holding `concurrency` connections,
    each starting a run as soon as its last one answered (bench/wrk_start_run.lua), and the CPU
    each run cost the server and the processes it started (fork server, run processes)."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (scripts/setup.sh installs it): skipped"
    script = str(Path(__file__).with_name("wrk_start_run.lua"))
    command = ["wrk", "-t", "2", "-c", str(concurrency), "-d", f"{seconds}s", "-s", script, server.url]
    assert server.process is not None
    before = tree_cpu(server.process.pid)
    done = subprocess.run([*command, "--", server.key, function_id], capture_output=True, text=True, check=True)
    cpu = tree_cpu(server.process.pid) - before
    figures = dict(
        item.split("=") for line in done.stdout.splitlines() if line.startswith("RESULT") for item in line.split()[1:]
    )
    rate = int(figures["requests"]) / float(figures["seconds"])
    closed = "every one closed" if figures["not_closed"] == "0" else f"NOT CLOSED: {figures['not_closed']}"
    per_run_ms = 1000 / int(figures["requests"])
    return (
        f"{rate:7.1f} runs/s   start-to-result p50 {float(figures['p50_ms']):7.1f} ms   "
        f"p99 {float(figures['p99_ms']):7.1f} ms   ({figures['requests']} runs, {closed}) {done.stderr.strip()}\n"
        f"{'':22}CPU per run: server {cpu.own_s * per_run_ms:4.1f} ms + fork server and run processes "
        f"{cpu.descendants_s * per_run_ms:4.1f} ms = {(cpu.own_s + cpu.descendants_s) * per_run_ms:4.1f} ms"
    )


def embedded_figures(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # One account runs up to 32 at once (the default is 4), so concurrency 32 is not queued.
        server = LiveServer(Path(tmp), warm_processes=8, extra_args=("--account-concurrency", "32"))
        server.start()
        try:
            trivial = deploy(server.url, server.key, TRIVIAL)
            probe = deploy(server.url, server.key, PROBE)
            health, latencies = asyncio.run(sequential(server.url, server.key, trivial, runs))
            ratio = statistics.median(latencies) / statistics.median(health)
            print("\n## 1. trivial run, stream false, sequential (embedded: SQLite, local pool)")
            print(f"GET /health         {summary(health)}")
            print(f"trivial run         {summary(latencies)}")
            print(f"run p50 / health p50 = {ratio:.1f}x")
            print("\n## 2. throughput of trivial runs (embedded)")
            for concurrency in (8, 32):
                print(f"concurrency {concurrency:3d}, wrk:   {wrk_load(server, trivial, concurrency)}")
                rate, dispatch = asyncio.run(load(server.url, server.key, probe, runs, concurrency))
                print(f"concurrency {concurrency:3d}, httpx: {rate:7.1f} runs/s   dispatch {summary(dispatch)}")
        finally:
            server.stop()


def postgres_figures(runs: int, workers_list: list[int], rounds: int, synchronous_commit: str) -> None:
    print("\n## 3. scale-out: PostgreSQL + Procrastinate, one API server, N workers (concurrency 32)")
    print("Beside it, the embedded server with the same client, probe and settings (4 warm processes), kept")
    print(f"up through the section: {rounds} rounds of {runs} runs each, embedded then scale-out, so both are")
    print("measured in the same minutes; the ratio is the median of the rounds'.")
    print("CPU per run from /proc (bench/process_cpu.py); PostgreSQL's: its backends for this database.")
    print(f"PostgreSQL's synchronous_commit: {synchronous_commit}")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedPeer(Path(tmp)) as embedded:
        for workers in workers_list:
            for dsn in scratch_database():
                set_synchronous_commit(dsn.rsplit("/", 1)[1], synchronous_commit)
                rate, embedded_load, own_ms = scale_out_rounds(dsn, workers, runs, rounds, embedded)
            if workers == 1:  # with the cluster gone: the engine alone, at the rate one worker ran
                print(engine_floor(runs, rate, embedded_load, own_ms, synchronous_commit))


@dataclasses.dataclass(frozen=True)
class EmbeddedLoad:
    runs_per_s: float
    cpu_ms: float  #: the server's and its fork server's and runs', per run
    server_ms: float  #: the server's own (its fork server and runs excluded), per run
    client_ms: float  #: this script's own (the httpx client), per run


def client_cpu_s() -> float:
    """This script's own CPU seconds so far: the load's client."""
    return own_cpu_s([os.getpid()])


class EmbeddedPeer:
    """The embedded server at concurrency 32 with section 3's client and probe."""

    def __init__(self, tmp: Path) -> None:
        self._server = LiveServer(tmp, warm_processes=4, extra_args=("--account-concurrency", "64"))

    def __enter__(self) -> EmbeddedPeer:
        self._server.start()
        self._probe = deploy(self._server.url, self._server.key, PROBE)
        asyncio.run(load(self._server.url, self._server.key, self._probe, 10, 4))  # warm-up
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    def measure(self, runs: int) -> EmbeddedLoad:
        assert self._server.process is not None
        pid = self._server.process.pid
        before, client_before = tree_cpu(pid), client_cpu_s()
        rate, _ = asyncio.run(load(self._server.url, self._server.key, self._probe, runs, 32))
        cpu, client_s = tree_cpu(pid) - before, client_cpu_s() - client_before
        return EmbeddedLoad(
            runs_per_s=rate,
            cpu_ms=(cpu.own_s + cpu.descendants_s) * 1000 / runs,
            server_ms=cpu.own_s * 1000 / runs,
            client_ms=client_s * 1000 / runs,
        )


def scale_out_rounds(
    dsn: str, workers: int, runs: int, rounds: int, embedded: EmbeddedPeer
) -> tuple[float, EmbeddedLoad, float]:
    """Alternate loads on the embedded server and on a cluster with `workers` workers; print each
    round, the median ratio and CPU per run. Returns the scale-out's median rate, the embedded
    server's figures over every round, and the CPU per run of the cluster's own processes (API
    servers, workers, PostgreSQL; the runs excluded)."""
    with tempfile.TemporaryDirectory() as tmp:
        statements = StatementLog(dsn.rsplit("/", 1)[1]) if workers == 1 else None
        cluster = Cluster(dsn, Path(tmp), warm_processes=4, account_concurrency=64, account_queue_limit=10_000)
        try:
            api = cluster.api()
            nodes = [cluster.worker(api, concurrency=max(1, 32 // workers)) for _ in range(workers)]
            probe = deploy(str(api.url), cluster.key, PROBE)
            # Warm-up, which also grows the tables to a round's size before the first ANALYZE.
            asyncio.run(load(str(api.url), cluster.key, probe, runs, 32))
            serving = backends(dsn.rsplit("/", 1)[1])  # its connections, opened by now
            ratios, rates, dispatch, peers = [], [], [], []
            cpu, client_s = ClusterCpu(TreeCpu(0.0, 0.0), TreeCpu(0.0, 0.0), 0.0), 0.0
            for round_number in range(1, rounds + 1):
                autovacuum = analyze(dsn)  # the planner's statistics, as autovacuum keeps them
                peers.append(embedded.measure(runs))
                before, client_before = cluster_cpu(serving, api, nodes), client_cpu_s()
                rate, latencies = asyncio.run(load(str(api.url), cluster.key, probe, runs, 32))
                cpu = cpu + (cluster_cpu(serving, api, nodes) - before)
                client_s += client_cpu_s() - client_before
                rates.append(rate)
                dispatch.extend(latencies)
                ratios.append(rate / peers[-1].runs_per_s)
                print(
                    f"  round {round_number} (after ANALYZE; this PostgreSQL's autovacuum: {autovacuum}): "
                    f"embedded {peers[-1].runs_per_s:6.1f} runs/s, "
                    f"{workers} worker(s) {rate:6.1f} runs/s = {ratios[-1]:.2f}x"
                )
            peer = EmbeddedLoad(
                runs_per_s=statistics.median(p.runs_per_s for p in peers),
                cpu_ms=statistics.fmean(p.cpu_ms for p in peers),
                server_ms=statistics.fmean(p.server_ms for p in peers),
                client_ms=statistics.fmean(p.client_ms for p in peers),
            )
            spread = percentile(dispatch, 99) / statistics.median(dispatch)
            print(
                f"{workers} worker(s): {statistics.median(rates):7.1f} runs/s = {statistics.median(ratios):.2f}x "
                f"embedded (median of {rounds} rounds)   dispatch {summary(dispatch)}   p99/p50 {spread:.1f}"
            )
            measured = runs * rounds
            print(f"{'':14}CPU per run: {cpu.per_run(measured)}; this client {client_s * 1000 / measured:.1f} ms")
            print(f"{'':14}embedded, CPU per run: {peer.cpu_ms:.1f} ms; this client {peer.client_ms:.1f} ms")
            if statements is not None:
                print(statement_figures(statements, str(api.url), cluster.key))
                reader = cluster.api()
                latency = log_latency(cluster, str(api.url), str(reader.url))
                print(f"  live log line, worker -> another API server's SSE: {summary(latency)}")
        finally:
            cluster.close()
    return statistics.median(rates), peer, cpu.own_ms(runs * rounds)


def engine_floor(runs: int, rate: float, embedded: EmbeddedLoad, own_ms: float, synchronous_commit: str) -> str:
    """Procrastinate alone at the rate one worker ran, the ratio to embedded that the two cores
    would allow if browserfn added nothing to the engine's own cost (CPU-bound: rate ~ 1 / CPU),
    and what browserfn's own processes cost a run beyond the engine's, beside the embedded server's
    own (`own_ms`: the cluster's API, worker and PostgreSQL CPU a run, its runs excluded)."""
    floor = procrastinate_floor.measure(runs, rate, synchronous_commit)
    ceiling = (embedded.cpu_ms + embedded.client_ms) / (embedded.cpu_ms + floor.total_ms + embedded.client_ms)
    return (
        f"  Procrastinate alone, no-op jobs at {floor.jobs_per_s:.1f}/s (bench/procrastinate_floor.py): "
        f"CPU per job: worker {floor.worker_ms:.1f} ms + PostgreSQL {floor.postgres_ms:.1f} ms "
        f"= {floor.total_ms:.1f} ms\n"
        f"  ceiling of 1 worker / embedded with the engine's cost alone added to embedded's "
        f"({embedded.cpu_ms:.1f} + {embedded.client_ms:.1f} client) / "
        f"({embedded.cpu_ms:.1f} + {floor.total_ms:.1f} + {embedded.client_ms:.1f}): {ceiling:.2f}x\n"
        f"  browserfn's own work a run beyond the engine's: scale-out {own_ms:.1f} - {floor.total_ms:.1f} = "
        f"{own_ms - floor.total_ms:.1f} ms (API, worker and PostgreSQL), embedded {embedded.server_ms:.1f} ms "
        f"(the server; runs excluded in both)"
    )


@dataclasses.dataclass(frozen=True)
class ClusterCpu:
    api: TreeCpu
    workers: TreeCpu
    postgres_s: float

    def __sub__(self, earlier: ClusterCpu) -> ClusterCpu:
        return ClusterCpu(self.api - earlier.api, self.workers - earlier.workers, self.postgres_s - earlier.postgres_s)

    def __add__(self, other: ClusterCpu) -> ClusterCpu:
        return ClusterCpu(self.api + other.api, self.workers + other.workers, self.postgres_s + other.postgres_s)

    def own_ms(self, runs: int) -> float:
        """The CPU a run cost browserfn's own processes and PostgreSQL (the runs excluded)."""
        return (self.api.own_s + self.workers.own_s + self.postgres_s) * 1000 / runs

    def per_run(self, runs: int) -> str:
        ms = 1000 / runs
        total = self.api.own_s + self.workers.own_s + self.workers.descendants_s + self.postgres_s
        return (
            f"API {self.api.own_s * ms:.1f} ms, worker {self.workers.own_s * ms:.1f} ms + fork server and runs "
            f"{self.workers.descendants_s * ms:.1f} ms, PostgreSQL {self.postgres_s * ms:.1f} ms = {total * ms:.1f} ms"
        )


def cluster_cpu(backend_pids: list[int], api: Node, workers: list[Node]) -> ClusterCpu:
    total = TreeCpu(0.0, 0.0)
    for node in workers:
        total = total + tree_cpu(node.pid)
    return ClusterCpu(tree_cpu(api.pid), total, own_cpu_s(backend_pids))


def statement_figures(log: StatementLog, url: str, key: str, n: int = 50) -> str:
    """Statements and transactions per trivial run, sequential, by process, less what the same
    processes send when idle (heartbeats, reapers, schedulers) over as long."""
    trivial = deploy(url, key, TRIVIAL)

    async def one_by_one(count: int) -> None:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
            for _ in range(count):
                await start(client, trivial, {})

    asyncio.run(one_by_one(5))  # warm-up: every statement prepared
    log.mark()
    t0 = time.perf_counter()
    asyncio.run(one_by_one(n))
    busy_s = time.perf_counter() - t0
    busy = log.read()
    log.mark()
    time.sleep(busy_s)
    idle = log.read()
    lines = [f"  PostgreSQL per trivial run ({n} sequential, idle rate subtracted; BEGIN and COMMIT are statements):"]
    for name in sorted(busy):
        if name.startswith(("api", "worker")):
            statements = (busy[name].statements - idle[name].statements) / n
            transactions = (busy[name].transactions - idle[name].transactions) / n
            lines.append(f"    {name.split('-')[0]:7} {statements:5.1f} statements  {transactions:5.1f} transactions")
    return "\n".join(lines)


def log_latency(cluster: Cluster, runner_api: str, reader_api: str) -> list[float]:
    """Line printed on a worker -> stored -> NOTIFY -> SSE on another API server: ms per line."""
    ticker = deploy(runner_api, cluster.key, TICKER)
    latencies: list[float] = []
    with httpx.Client(headers={"Authorization": f"Bearer {cluster.key}"}, timeout=60) as client:
        run_id = client.post(f"{runner_api}/functions/{ticker}/runs/create", json={}).json()["function_run_id"]
        started = client.build_request(
            "POST", f"{runner_api}/functions/{ticker}/runs/{run_id}", json={"workflow_id": ticker, "variables": {}}
        )
        starter = client.send(started, stream=True)
        with client.stream("GET", f"{reader_api}/functions/{ticker}/runs/{run_id}/stream") as events:
            for line in events.iter_lines():
                if line.startswith("data: ") and '"log"' in line:
                    printed = float(json.loads(line[6:])["message"].rsplit(" | ", 1)[1])
                    latencies.append((time.time() - printed) * 1000)
        starter.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--only-postgres", action="store_true", help="section 3 alone (with its embedded peer)")
    parser.add_argument("--workers", default="1,2,4", help="section 3's worker counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="section 3: alternated loads, embedded then scale-out")
    parser.add_argument(
        "--synchronous-commit",
        choices=("on", "off"),
        default="on",
        help="section 3: PostgreSQL's synchronous_commit (off: the embedded SQLite store's durability)",
    )
    args = parser.parse_args()
    header("browserfn runs: latency, throughput, scale-out")
    if not args.only_postgres:
        print("\n## 0. floor: what every run costs before any of browserfn's own work")
        subprocess.run([sys.executable, "-m", "bench.fork_floor"], check=True)
        embedded_figures(args.runs)
    if not args.skip_postgres:
        workers = [int(n) for n in args.workers.split(",")]
        postgres_figures(args.runs, workers, args.rounds, args.synchronous_commit)


if __name__ == "__main__":
    main()
