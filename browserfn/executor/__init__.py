"""The executor seam: the only place that names an engine (and the bus that engine needs)."""

from __future__ import annotations

from browserfn.bus import EventBus, LocalEventBus
from browserfn.config import Settings
from browserfn.executor.base import Executor
from browserfn.store import Store, job_queue


def create_bus(settings: Settings) -> EventBus:
    if settings.database_url:
        from browserfn.bus_postgres import PostgresEventBus

        return PostgresEventBus(settings.database_url)
    return LocalEventBus()


def create_executor(settings: Settings, store: Store, bus: EventBus) -> Executor:
    if settings.database_url:
        from browserfn.executor.procrastinate import ProcrastinateExecutor

        jobs = job_queue(store)
        assert jobs is not None, "the distributed engine needs a store that queues its runs' jobs (PostgreSQL)"
        return ProcrastinateExecutor(settings, store, jobs, bus, run_worker=settings.run_worker)
    from browserfn.executor.local import LocalExecutor

    return LocalExecutor(settings, store, bus)


__all__ = ["Executor", "create_bus", "create_executor"]
