"""The executor seam: the only place that names an engine (and the bus that engine needs)."""

from __future__ import annotations

from browserfn.bus import EventBus, LocalEventBus
from browserfn.config import Settings
from browserfn.executor.base import Executor
from browserfn.store.base import Store


def create_bus(settings: Settings) -> EventBus:
    if settings.database_url:
        from browserfn.bus_postgres import PostgresEventBus

        return PostgresEventBus(settings.database_url)
    return LocalEventBus()


def create_executor(settings: Settings, store: Store, bus: EventBus) -> Executor:
    if settings.database_url:
        from browserfn.executor.procrastinate import ProcrastinateExecutor
        from browserfn.store.postgres import PostgresStore

        assert isinstance(store, PostgresStore), "the distributed engine needs the PostgreSQL store"
        return ProcrastinateExecutor(settings, store, bus, run_worker=settings.run_worker)
    from browserfn.executor.local import LocalExecutor

    return LocalExecutor(settings, store, bus)


__all__ = ["Executor", "create_bus", "create_executor"]
