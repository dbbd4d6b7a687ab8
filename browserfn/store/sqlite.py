"""SQLiteStore: the embedded default, a database file in the data directory (sqlite_db.py)."""

from __future__ import annotations

from pathlib import Path

from browserfn.store.sql_store import SQLStore
from browserfn.store.sqlite_db import SQLiteDatabase


class SQLiteStore(SQLStore):
    def __init__(self, path: Path) -> None:
        super().__init__(SQLiteDatabase(path))
