"""The job engine's own cost: Procrastinate alone, with nothing of browserfn's, running no-op jobs
that arrive at a given rate, one at a time, as browserfn's runs do in section 3 of
bench/bench_runs.py. Same engine settings as browserfn's worker: the same connector
(browserfn/executor/procrastinate_connector.py), concurrency 32, successful jobs deleted.

CPU per job: the worker process's, and that of PostgreSQL's backends for the database (the
deferring client process's own is left out: browserfn defers inside its own admission
transaction, in SQL). What a scale-out run costs beyond the embedded engine can be no less."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import time

import procrastinate
import psycopg
from procrastinate.schema import SchemaManager

from bench.pg_statements import analyze, backends, set_synchronous_commit
from bench.process_cpu import own_cpu_s, tree_cpu
from browserfn.executor.procrastinate_connector import ReconnectingConnector
from tests.store.conftest import scratch_database

QUEUE = "floor"
CONCURRENCY = 32
WARM_UP_JOBS = 20


@dataclasses.dataclass(frozen=True)
class FloorCpu:
    jobs_per_s: float
    worker_ms: float  #: the worker's CPU per job
    postgres_ms: float  #: PostgreSQL's, every statement of defer, fetch and finish (triggers included)

    @property
    def total_ms(self) -> float:
        return self.worker_ms + self.postgres_ms


def _app(dsn: str) -> procrastinate.App:
    app = procrastinate.App(connector=ReconnectingConnector(conninfo=dsn))

    @app.task(name="noop", queue=QUEUE)
    async def noop(run_id: str) -> None:
        return None

    return app


def work(dsn: str) -> None:
    """The worker process: runs jobs until SIGTERM."""

    async def main() -> None:
        app = _app(dsn)
        async with app.open_async():
            await app.run_worker_async(queues=[QUEUE], concurrency=CONCURRENCY, delete_jobs="successful")

    asyncio.run(main())


async def _defer_paced(app: procrastinate.App, jobs: int, rate: float) -> None:
    task = app.tasks["noop"]
    t0 = time.perf_counter()
    for i in range(jobs):
        await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
        await task.defer_async(run_id=str(i))


def _wait_done(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')").fetchone()
            if row is None or row[0] == 0:
                return
            time.sleep(0.02)


async def _load(dsn: str, worker_pid: int, jobs: int, rate: float) -> FloorCpu:
    app = _app(dsn)
    async with app.open_async():
        await _defer_paced(app, WARM_UP_JOBS, rate)
        await asyncio.to_thread(_wait_done, dsn)
        analyze(dsn)  # the planner's statistics, as bench_runs gathers them before each round
        serving = backends(dsn.rsplit("/", 1)[1])  # the worker's and this client's connections
        worker_before, postgres_before = tree_cpu(worker_pid), own_cpu_s(serving)
        t0 = time.perf_counter()
        await _defer_paced(app, jobs, rate)
        await asyncio.to_thread(_wait_done, dsn)
        elapsed = time.perf_counter() - t0
        worker_s = (tree_cpu(worker_pid) - worker_before).own_s
        postgres_s = own_cpu_s(serving) - postgres_before
    return FloorCpu(jobs / elapsed, worker_s * 1000 / jobs, postgres_s * 1000 / jobs)


def measure(jobs: int, rate: float, synchronous_commit: str = "on") -> FloorCpu:
    """Defer `jobs` no-op jobs at `rate` a second; the CPU each job cost the worker and PostgreSQL."""
    for dsn in scratch_database():
        set_synchronous_commit(dsn.rsplit("/", 1)[1], synchronous_commit)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(SchemaManager.get_schema())
        worker = subprocess.Popen(
            [sys.executable, "-c", f"from bench.procrastinate_floor import work; work({dsn!r})"], env=os.environ
        )
        try:
            return asyncio.run(_load(dsn, worker.pid, jobs, rate))
        finally:
            worker.terminate()
            worker.wait()
    raise AssertionError("scratch_database yields once")
