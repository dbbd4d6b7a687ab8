"""PostgreSQL, the scale-out backend: several API servers and workers share it. Operations run
on a few threads, each with its own connection (psycopg, synchronous: it releases the GIL while
it waits on the network), each operation in one transaction, retried whole while the database
is unreachable (a restart, a failover).

Each transaction runs in psycopg's pipeline mode: a statement is sent at once, and the client
waits only where the operation reads a result. BEGIN goes with the first statement, and what
the operation does not read (`Tx.send`, `Tx.lock`, `Tx.notify`, `Tx.many`) goes with the next
read or with COMMIT, so an operation costs one round trip per read plus one for COMMIT. Locks
taken late in a transaction (the account's, while dispatching) are then held for the server's
work only, not for client round trips."""

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

    def __init__(self, conn: Conn, pipeline: psycopg.Pipeline | None) -> None:
        #: The psycopg connection, for PostgreSQL-only pieces (postgres_dispatch.py).
        self.conn = conn
        #: None: a read (`Database.read`), outside any transaction block, where writes are refused.
        self._pipeline = pipeline
        #: The keys this transaction has locked: held until it ends, so not sent again.
        self._locked: set[str] = set()

    def _writing(self) -> psycopg.Pipeline:
        if self._pipeline is None:
            raise TypeError("a store read may not write: run it with `call`")
        return self._pipeline

    def one(self, sql: str, params: Params | None = None) -> Row | None:
        check(params)
        return self.conn.execute(pyformat(sql), params).fetchone()

    def all(self, sql: str, params: Params | None = None) -> list[Row]:
        check(params)
        return list(self.conn.execute(pyformat(sql), params).fetchall())

    def run(self, sql: str, params: Params | None = None) -> int:
        check(params)
        pipeline = self._writing()
        cursor = self.conn.execute(pyformat(sql), params)
        pipeline.sync()  # its row count has come back
        return cursor.rowcount

    def send(self, sql: str, params: Params | None = None) -> None:
        check(params)
        self._writing()
        self.conn.execute(pyformat(sql), params)

    def many(self, sql: str, rows: Iterable[Params]) -> None:
        sets = list(rows)
        for params in sets:
            check(params)
        self._writing()
        with self.conn.cursor() as cur:
            cur.executemany(pyformat(sql), sets)

    def lock(self, key: str) -> None:
        self._writing()
        if key in self._locked:  # queue admission, then the dispatch in the same transaction
            return
        self._locked.add(key)
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    def notify(self, channel: str, payload: str) -> None:
        self._writing()
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
        await self._threads.call(self._warn_without_autovacuum)

    def _warn_without_autovacuum(self) -> None:
        """The cached plans of browserfn's statements stay cheap only while autovacuum keeps the
        planner's statistics and clears old row versions (docs/operators.md). Advice only: a
        database lost right after migrating is met, and ridden out, by the first real call."""
        try:
            found = self._connection().execute("SHOW autovacuum").fetchone()
        except psycopg.OperationalError:
            return
        if found is not None and found["autovacuum"] == "off":
            log.warning(
                "PostgreSQL's autovacuum is off: run VACUUM ANALYZE every few minutes while busy, or runs "
                "slow down as the tables grow (docs/operators.md: PostgreSQL's upkeep)"
            )

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
        return await self._threads.call(self._retried, self._pipelined, op, args, kwargs)

    async def read(self, op: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._threads.call(self._retried, self._outside_transaction, op, args, kwargs)

    async def alone(self, op: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._threads.call(self._retried, self._single_statement, op, args, kwargs)

    def _connection(self) -> Conn:
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            # Autocommit: psycopg sends nothing of its own; BEGIN and COMMIT are the pipeline's.
            fresh = psycopg.connect(self.dsn, row_factory=dict_row, autocommit=True)
            with self._guard:
                if conn is not None:
                    self._connections.remove(conn)
                    conn.close()
                self._connections.append(fresh)
            self._local.conn = conn = fresh
        return conn

    def _retried(self, how: Callable[..., T], op: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        """`how(connection, op, args, kwargs)`, whole again while the database is unreachable."""
        delay = 0.1
        deadline = time.monotonic() + RECONNECT_BUDGET_S
        while True:
            try:
                return how(self._connection(), op, args, kwargs)
            except psycopg.errors.DiskFull as exc:  # not a lost connection: a retry would only keep the caller waiting
                log.warning("the database's disk is full (%s)", exc)
                raise DatabaseUnavailable(storage_errors.unavailable_message(exc)) from exc
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable(storage_errors.unavailable_message(exc)) from exc
                log.warning("database unreachable (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    @staticmethod
    def _outside_transaction(conn: Conn, op: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        """A read: each statement on its own (autocommit), one round trip each."""
        return op(PostgresTx(conn, None), *args, **kwargs)

    @staticmethod
    def _single_statement(conn: Conn, op: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        """`op` sending one statement, which PostgreSQL runs (autocommit) as a transaction of its own."""
        with conn.pipeline() as pipeline:
            return op(PostgresTx(conn, pipeline), *args, **kwargs)

    @staticmethod
    def _pipelined(conn: Conn, op: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        """`op` in one transaction, committed if it returns; rolled back if it or the commit fails."""
        try:
            with conn.pipeline() as pipeline:
                conn.execute("BEGIN")
                result = op(PostgresTx(conn, pipeline), *args, **kwargs)
                conn.execute("COMMIT")
            # Leaving the pipeline waited for every result: any statement's error, or the
            # commit's, has been raised.
            return result
        except BaseException:
            if not conn.broken and conn.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                try:
                    conn.execute("ROLLBACK")
                except psycopg.Error as exc:  # the error that got us here is the one to raise
                    log.warning("rollback failed: %r", exc)
            raise
