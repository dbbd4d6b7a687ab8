"""The store seam: the only place that names a backend (`open_store`, `job_queue`)."""

from __future__ import annotations

from browserfn.config import Settings
from browserfn.store.base import Store
from browserfn.store.jobs import RunJobs


def open_store(settings: Settings) -> Store:
    if settings.database_url:
        from browserfn.store.postgres import PostgresStore
        from browserfn.store.postgres_dispatch import Dispatcher

        return PostgresStore(settings.database_url, Dispatcher(settings.account_concurrency))
    from browserfn.store.sqlite import SQLiteStore

    return SQLiteStore(settings.database_path)


def job_queue(store: Store) -> RunJobs | None:
    """The store as its runs' job queue, for distributed execution (PostgreSQL); None if it
    queues no jobs (SQLite). Call it only with a `database_url`: it loads the PostgreSQL backend."""
    from browserfn.store.postgres import PostgresStore

    return store if isinstance(store, PostgresStore) else None


__all__ = ["RunJobs", "Store", "job_queue", "open_store"]
