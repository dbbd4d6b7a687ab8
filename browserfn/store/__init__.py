"""The store seam: `open_store` is the only place that names a backend."""

from __future__ import annotations

from browserfn.config import Settings
from browserfn.store.base import Store


def open_store(settings: Settings) -> Store:
    if settings.database_url:
        from browserfn.store.postgres import PostgresStore
        from browserfn.store.postgres_dispatch import Dispatcher

        return PostgresStore(settings.database_url, Dispatcher(settings.account_concurrency))
    from browserfn.store.sqlite import SQLiteStore

    return SQLiteStore(settings.database_path)


__all__ = ["Store", "open_store"]
