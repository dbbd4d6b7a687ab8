"""Prometheus metrics of one server process (prometheus_client, a registry per process, not the
library's global one). Counters and histograms are fed as things happen (run ends, session
starts, store errors); gauges are read from the store and the browser pool at each scrape."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Awaitable, Callable

from prometheus_client import GC_COLLECTOR, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from browserfn.models import ACTIVE_STATES, Run, RunState
from browserfn.store.base import Store
from browserfn.store.ops import usage

#: From a trivial run (milliseconds) to the longest allowed (hours).
RUN_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 6 * 3600)
#: A session start: a pooled browser (tens of ms) to a launch under load (seconds).
SESSION_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)


def is_store_error(error: BaseException) -> bool:
    """An error of the database itself (SQLite or PostgreSQL), not of the request."""
    if isinstance(error, sqlite3.Error):
        return True
    module = type(error).__module__
    return module.startswith(("psycopg", "psycopg_pool", "aiosqlite"))


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.runs = Gauge(
            "browserfn_runs", "Runs not yet ended, by state (the whole deployment)", ["state"], registry=r
        )
        self.queue_depth = Gauge("browserfn_run_queue_depth", "Runs started and waiting for a slot", registry=r)
        self.runs_ended = Counter(
            "browserfn_runs_ended", "Runs this process saw end, by final state", ["state"], registry=r
        )
        self.run_duration = Histogram(
            "browserfn_run_duration_seconds", "Runs' time from start to end", buckets=RUN_BUCKETS_S, registry=r
        )
        self.run_queue_wait = Histogram(
            "browserfn_run_queue_wait_seconds", "Runs' time from creation to start", buckets=RUN_BUCKETS_S, registry=r
        )
        self.session_start = Histogram(
            "browserfn_session_start_seconds",
            "Time to answer a session start (POST /sessions/start)",
            buckets=SESSION_BUCKETS_S,
            registry=r,
        )
        self.sessions_open = Gauge("browserfn_sessions_open", "Browser sessions this process hosts", registry=r)
        self.browsers_alive = Gauge(
            "browserfn_browsers_alive",
            "Chromium browsers of this process: its accounts', its sessions' own and its pool's",
            registry=r,
        )
        self.pool_ready = Gauge("browserfn_browser_pool_ready", "Launched browsers waiting for a session", registry=r)
        self.pool_size = Gauge("browserfn_browser_pool_size", "Browsers the pool keeps ready (setting)", registry=r)
        self.warm_processes = Gauge("browserfn_warm_processes", "Run processes kept ready (setting)", registry=r)
        self.store_errors = Counter("browserfn_store_errors", "Errors the database raised", ["source"], registry=r)
        frozen = Gauge(
            "browserfn_gc_frozen_objects", "Objects frozen out of the garbage collector at start-up", registry=r
        )
        frozen.set_function(gc.get_freeze_count)
        r.register(GC_COLLECTOR)  # python_gc_*: the collections by generation, the objects they freed

    def run_ended(self, run_state: RunState, created_at: float, started_at: float | None, ended_at: float) -> None:
        self.runs_ended.labels(run_state.value).inc()
        if started_at is not None:
            self.run_duration.observe(max(0.0, ended_at - started_at))
            self.run_queue_wait.observe(max(0.0, started_at - created_at))

    def request_done(self, method: str, path: str, status: int, seconds: float) -> None:
        """Every answered request (from the access log): the latencies measured at the door."""
        if method == "POST" and path == "/sessions/start" and status < 400:
            self.session_start.observe(seconds)

    def store_error(self, source: str) -> None:
        self.store_errors.labels(source).inc()

    async def refresh(self, store: Store) -> None:
        """The gauges read from the store: unended runs by state (one count on the active index)."""
        try:
            counts = await store.call(usage.active_runs_by_state)
        except Exception as error:
            if is_store_error(error):
                self.store_error("metrics")
            raise
        for state in ACTIVE_STATES:
            self.runs.labels(state.value).set(counts.get(state.value, 0))
        self.queue_depth.set(counts.get(RunState.QUEUED.value, 0))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def run_end_listener(metrics: Metrics, store: Store) -> Callable[[str, Run | None], Awaitable[None]]:
    """For `executor.on_run_ended`: the ended run's state and times (read back from the store
    when the executor did not hand the run over)."""

    async def run_ended(run_id: str, ended: Run | None) -> None:
        try:
            run = ended or await store.get_run(run_id)
        except Exception as error:
            if is_store_error(error):
                metrics.store_error("run_end")
            raise
        if run is None:
            return
        started = run.started_at.timestamp() if run.started_at else None
        metrics.run_ended(run.state, run.created_at.timestamp(), started, (run.ended_at or run.updated_at).timestamp())

    return run_ended
