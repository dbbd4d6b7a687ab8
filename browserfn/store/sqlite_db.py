"""SQLite, the embedded default: one thread owns the connection, so every operation is one
transaction run whole on that thread, in the order the calls were made (which is also why
`Tx.lock` has nothing to do here)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from browserfn.store import migrate
from browserfn.store.database import Database
from browserfn.store.tx import Params, Row, Tx, check, stamp
from browserfn.store.worker_thread import WorkerThread

T = TypeVar("T")
P = ParamSpec("P")

# Times are stored as fixed-width UTC text (text order is time order); sqlite3 consults adapters
# only for values that are not int, float, str or bytes.
sqlite3.register_adapter(dt.datetime, stamp)


class SQLiteTx(Tx):
    dialect = "sqlite"
    skip_locked = ""
    for_update = ""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def one(self, sql: str, params: Params | None = None) -> Row | None:
        check(params)
        row: Row | None = self._conn.execute(sql, params or ()).fetchone()
        return row

    def all(self, sql: str, params: Params | None = None) -> list[Row]:
        check(params)
        return self._conn.execute(sql, params or ()).fetchall()

    def run(self, sql: str, params: Params | None = None) -> int:
        check(params)
        return self._conn.execute(sql, params or ()).rowcount

    def send(self, sql: str, params: Params | None = None) -> None:
        self.run(sql, params)

    def many(self, sql: str, rows: Iterable[Params]) -> None:
        sets = list(rows)
        for params in sets:
            check(params)
        self._conn.executemany(sql, sets)

    def value(self, sql: str, params: Params | None = None) -> Any:
        check(params)
        row = self._conn.execute(sql, params or ()).fetchone()
        return None if row is None else row[0]

    def lock(self, key: str) -> None:
        """Nothing: one thread runs every transaction of this database, one at a time."""

    def notify(self, channel: str, payload: str) -> None:
        """Nothing: listeners are in this process (the local event bus)."""


class SQLiteDatabase(Database):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = WorkerThread("sqlite")
        self._conn: sqlite3.Connection | None = None
        self._tx: SQLiteTx | None = None

    async def open(self) -> None:
        await self._thread.call(self._connect)

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The data directory holds the database, the secrets key and browser profiles: runs (other
        # uids) must not even list it.
        os.chmod(self.path.parent, 0o700)
        migrate.upgrade_sqlite(self.path)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.isolation_level = "DEFERRED"
        self._conn = conn
        self._tx = SQLiteTx(conn)

    async def close(self) -> None:
        await self._thread.call(self._disconnect)
        self._thread.stop()

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = self._tx = None

    async def call(self, op: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._thread.call(self._transaction, op, args, kwargs)

    def _transaction(self, op: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        assert self._conn is not None and self._tx is not None, "store is not open"
        with self._conn:  # commits, or rolls back on error
            return op(self._tx, *args, **kwargs)

    # The code before store operations, kept until every resource is ported.
    async def legacy_call(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._thread.call(self._legacy, fn, args)

    def _legacy(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        assert self._conn is not None, "store is not open"
        with self._conn:
            return fn(self._conn, *args)
