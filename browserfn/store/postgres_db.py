"""PostgreSQL, the scale-out backend: several API servers and workers share it. Operations run
on a few threads, each with its own connection (psycopg, synchronous: it releases the GIL while
it waits on the network), each operation in one transaction, retried whole while the database
is unreachable (a restart, a failover)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
import sqlalchemy as sa
from psycopg.rows import dict_row

from browserfn import storage_errors
from browserfn.errors import ServiceUnavailable
from browserfn.store import migrate
from browserfn.store.database import Database
from browserfn.store.tx import Params, Row, Tx, check, pyformat
from browserfn.store.worker_thread import WorkerThread

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")
Conn = psycopg.Connection[dict[str, Any]]
#: How long a call keeps retrying while the database is unreachable.
RECONNECT_BUDGET_S = 30.0


class DatabaseUnavailable(ServiceUnavailable):
    """503 with Retry-After: the database cannot be reached, or its disk is full."""


class PostgresTx(Tx):
    dialect = "postgresql"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    for_update = " FOR UPDATE"

    def __init__(self, conn: Conn) -> None:
        #: The psycopg connection, for PostgreSQL-only pieces (postgres_dispatch.py).
        self.conn = conn

    def one(self, sql: str, params: Params | None = None) -> Row | None:
        check(params)
        return self.conn.execute(pyformat(sql), params).fetchone()

    def all(self, sql: str, params: Params | None = None) -> list[Row]:
        check(params)
        return list(self.conn.execute(pyformat(sql), params).fetchall())

    def run(self, sql: str, params: Params | None = None) -> int:
        check(params)
        return self.conn.execute(pyformat(sql), params).rowcount

    def many(self, sql: str, rows: Iterable[Params]) -> None:
        sets = list(rows)
        for params in sets:
            check(params)
        with self.conn.cursor() as cur:
            cur.executemany(pyformat(sql), sets)

    def lock(self, key: str) -> None:
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    def notify(self, channel: str, payload: str) -> None:
        self.conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))


class PostgresDatabase(Database):
    def __init__(self, dsn: str, threads: int = 10, after_migrate: Callable[[sa.Connection], None] | None = None):
        self.dsn = dsn
        self._threads = WorkerThread("postgres", threads)
        self._local = threading.local()
        self._connections: list[Conn] = []
        self._guard = threading.Lock()
        self._after_migrate = after_migrate

    async def open(self) -> None:
        await self._threads.call(self._migrate)

    def _migrate(self) -> None:
        deadline = time.monotonic() + RECONNECT_BUDGET_S
        while True:
            try:
                migrate.upgrade_postgres(self.dsn, self._after_migrate)
                return
            except sa.exc.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable(f"database unavailable: {exc}") from exc
                log.warning("database unreachable (%s); retrying", exc)
                time.sleep(0.5)

    async def close(self) -> None:
        self._threads.stop()
        with self._guard:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    async def call(self, op: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._threads.call(self._transaction, op, args, kwargs)

    def _connection(self) -> Conn:
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            fresh = psycopg.connect(self.dsn, row_factory=dict_row, autocommit=False)
            with self._guard:
                if conn is not None:
                    self._connections.remove(conn)
                    conn.close()
                self._connections.append(fresh)
            self._local.conn = conn = fresh
        return conn

    def _transaction(self, op: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        delay = 0.1
        deadline = time.monotonic() + RECONNECT_BUDGET_S
        while True:
            try:
                conn = self._connection()
                with conn.transaction():
                    return op(PostgresTx(conn), *args, **kwargs)
            except psycopg.errors.DiskFull as exc:  # not a lost connection: a retry would only keep the caller waiting
                log.warning("the database's disk is full (%s)", exc)
                raise DatabaseUnavailable(storage_errors.unavailable_message(exc)) from exc
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable(storage_errors.unavailable_message(exc)) from exc
                log.warning("database unreachable (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
