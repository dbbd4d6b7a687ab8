"""What one hot-path statement costs, written three ways, on SQLite and PostgreSQL (issue 17:
"choose by measurement ... the hot path must not get slower"):

- text on DBAPI: the store's way, the SQL of browserfn/store/ops/runs.py through the backend's
  `Tx` on the raw connection (sqlite3, psycopg), as `Store.call` / `Store.read` run it;
- Core: the same statement as a SQLAlchemy Core expression (built once, at import in a real
  module), executed through a SQLAlchemy Connection: compiled on first use, then taken from the
  engine's compiled cache (checked: every timed execution is a cache hit);
- text(): the same SQL text as `sqlalchemy.text`, through a SQLAlchemy Connection.

    .venv/bin/python -m bench.sql_compile [--rounds 6] [--per-round 300] [--skip-postgres]

Statements: a run's insert (`INSERT ... RETURNING seq`, ops/runs.create), the run read by id
(ops/runs.get, a read outside a transaction block on PostgreSQL), and an event's insert
(ops/runs._store_events with one event). Each execution is timed alone, its result fetched:
wall time and this thread's CPU time (`time.thread_time`, the client's own work: building,
compiling or looking up, binding, reading the result). Writes run in a transaction rolled back
every round, so tables do not grow; on PostgreSQL a write through the store's pipelined `Tx`
is timed with its sync (the round trip the pipeline would otherwise defer to COMMIT), so the
three ways pay the same round trip and differ only by the client's work. The ways alternate
round by round, in the same minutes. Row mapping (row -> Run) is the same code for all three
and left out; each execution's parameters are built inside its timing, the same code for all
three (it narrows the ratios, never widens them). Both backends' tables are made by the
project's migrations; the Core tables are reflected from them (the same column types a
`sa.Table` written once would give: no type here has a per-value Python processor on either
dialect).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.rows import dict_row
from sqlalchemy.engine import default as sa_default

from bench.common import machine, percentile
from browserfn.store import migrate
from browserfn.store.ops import runs as run_ops
from browserfn.store.postgres_db import PostgresTx
from browserfn.store.sqlite_db import SQLiteTx
from browserfn.store.tx import Tx, text
from tests.store.conftest import scratch_database

#: The statements, as browserfn writes them (ops/runs.py).
RUN_INSERT = run_ops._INSERT
RUN_BY_ID = "SELECT * FROM runs WHERE run_id = :id"
EVENT_INSERT = (
    "INSERT INTO run_events(run_id, seq, type, message, created_at) VALUES (:run_id, :seq, :type, :message, :at)"
)
WAYS = ("text on DBAPI (browserfn)", "Core, compiled (cached)", "text() via SQLAlchemy")
STATEMENTS = ("run insert", "run by id", "event insert")
#: The run every read reads (committed before timing).
READ_RUN_ID = "bench-read-run"

_unique = itertools.count(1)


def run_params(run_id: str | None = None) -> dict[str, Any]:
    """A queued run's insert parameters, as ops/runs.create binds them."""
    n = next(_unique)
    now = dt.datetime.now(dt.UTC)
    return {
        "run_id": run_id or f"bench-run-{n}",
        "function_id": "bench-function",
        "function_version": "v1",
        "account_id": "bench-account",
        "key_id": "bench-key",
        "state": "queued",
        "active": True,
        "variables": '{"x": 1}',
        "timeout_s": 60.0,
        "session_id": None,
        "result_json": text(None),
        "reason": text(None),
        "local": False,
        "origin": "start",
        "created_at": now,
        "updated_at": now,
        "ordinal": n,
    }


def event_params() -> dict[str, Any]:
    return {
        "run_id": READ_RUN_ID,
        "seq": next(_unique),
        "type": "log",
        "message": text("a line the run printed"),
        "at": dt.datetime.now(dt.UTC),
    }


#: One timed execution: it runs the statement and fetches its result.
Execute = Callable[[], object]


class Way:
    """One way of running the three statements on one backend."""

    name: str
    #: Executions that SQLAlchemy compiled rather than found in its cache.
    misses = 0

    def execute(self, statement: str) -> Execute:
        raise NotImplementedError

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """A transaction for a round of writes, rolled back at the end."""
        yield

    def close(self) -> None:
        """Close its connections (before the scratch database is dropped)."""


class SQLiteText(Way):
    name = WAYS[0]

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.isolation_level = "DEFERRED"  # as sqlite_db.py: BEGIN before the first write
        self.tx: Tx = SQLiteTx(self.conn)

    def execute(self, statement: str) -> Execute:
        tx = self.tx
        if statement == "run insert":
            return lambda: tx.value(RUN_INSERT, run_params())
        if statement == "run by id":
            return lambda: tx.one(RUN_BY_ID, {"id": READ_RUN_ID})
        return lambda: tx.many(EVENT_INSERT, [event_params()])

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        try:
            yield
        finally:
            self.conn.rollback()


class PostgresText(Way):
    """As postgres_db.py runs operations: writes in a pipelined transaction, reads outside one."""

    name = WAYS[0]

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn, row_factory=dict_row, autocommit=True)
        self.pipeline: psycopg.Pipeline | None = None

    def execute(self, statement: str) -> Execute:
        if statement == "run by id":
            reads = PostgresTx(self.conn, None)  # Store.read: no transaction block
            return lambda: reads.one(RUN_BY_ID, {"id": READ_RUN_ID})

        def write() -> None:
            assert self.pipeline is not None, "writes run in `writing()`"
            tx = PostgresTx(self.conn, self.pipeline)
            if statement == "run insert":
                tx.value(RUN_INSERT, run_params())  # reading `seq` waits for the result: one round trip
            else:
                tx.many(EVENT_INSERT, [event_params()])
                self.pipeline.sync()  # its round trip, which the pipeline would otherwise defer to COMMIT

        return write

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        with self.conn.pipeline() as pipeline:
            self.conn.execute("BEGIN")
            pipeline.sync()  # BEGIN's round trip, outside the timed statements
            self.pipeline = pipeline
            try:
                yield
            finally:
                self.pipeline = None
                self.conn.execute("ROLLBACK")


class Alchemy(Way):
    """Through a SQLAlchemy Connection: Core expressions, or `text()` (`core` False)."""

    def __init__(self, engine: sa.Engine, core: bool) -> None:
        self.name = WAYS[1] if core else WAYS[2]
        self.conn = engine.connect()
        #: Reads as the store makes them on PostgreSQL: one statement, no transaction block.
        self.reads = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "sqlite":
            self.conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        metadata = sa.MetaData()
        runs = sa.Table("runs", metadata, autoload_with=self.conn)
        events = sa.Table("run_events", metadata, autoload_with=self.conn)
        self.conn.rollback()
        self.run_insert: sa.Executable
        self.run_by_id: sa.Executable
        self.event_insert: sa.Executable
        if core:
            self.run_insert = sa.insert(runs).returning(runs.c.seq)
            self.run_by_id = sa.select(runs).where(runs.c.run_id == sa.bindparam("id"))
            self.event_insert = sa.insert(events).values(
                run_id=sa.bindparam("run_id"),
                seq=sa.bindparam("seq"),
                type=sa.bindparam("type"),
                message=sa.bindparam("message"),
                created_at=sa.bindparam("at"),
            )
        else:
            self.run_insert = sa.text(RUN_INSERT)
            self.run_by_id = sa.text(RUN_BY_ID)
            self.event_insert = sa.text(EVENT_INSERT)

    def close(self) -> None:
        self.conn.close()
        self.reads.close()

    def _checked(self, result: sa.CursorResult[Any]) -> sa.CursorResult[Any]:
        if result.context.cache_hit is not sa_default.CACHE_HIT:
            self.misses += 1
        return result

    def execute(self, statement: str) -> Execute:
        conn, checked = self.conn, self._checked
        if statement == "run insert":
            return lambda: checked(conn.execute(self.run_insert, run_params())).scalar_one()
        if statement == "run by id":
            return lambda: checked(self.reads.execute(self.run_by_id, {"id": READ_RUN_ID})).mappings().first()
        return lambda: checked(conn.execute(self.event_insert, [event_params()]))

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        self.conn.exec_driver_sql("SELECT 1").all()  # opens the transaction outside the timed statements
        try:
            yield
        finally:
            self.conn.rollback()


Samples = dict[tuple[str, str], tuple[list[float], list[float]]]  # (statement, way) -> (wall, cpu) in µs


def measure(ways: list[Way], rounds: int, per_round: int) -> Samples:
    samples: Samples = {(s, w.name): ([], []) for s in STATEMENTS for w in ways}
    for round_number in range(rounds + 1):  # round 0 warms up: compiles, caches, prepares
        order = ways if round_number % 2 else list(reversed(ways))
        for statement in STATEMENTS:
            for way in order:
                execute = way.execute(statement)
                walls, cpus = samples[(statement, way.name)]
                with way.writing() if statement != "run by id" else contextlib.nullcontext():
                    for _ in range(per_round):
                        w0, c0 = time.perf_counter(), time.thread_time()
                        execute()
                        c1, w1 = time.thread_time(), time.perf_counter()
                        if round_number:
                            walls.append((w1 - w0) * 1e6)
                            cpus.append((c1 - c0) * 1e6)
        if not round_number:
            for way in ways:
                way.misses = 0  # the first execution of each compiled; from here on, hits only
    return samples


def report(backend: str, ways: list[Way], samples: Samples) -> None:
    print(f"\n## {backend}")
    print(f"{'statement':13s} {'way':27s} {'wall p50':>9s} {'p90':>8s} {'ratio':>6s}   {'CPU p50':>8s} {'ratio':>6s}")
    for statement in STATEMENTS:
        base_wall = statistics.median(samples[(statement, WAYS[0])][0])
        base_cpu = statistics.median(samples[(statement, WAYS[0])][1])
        for way in ways:
            walls, cpus = samples[(statement, way.name)]
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            print(
                f"{statement:13s} {way.name:27s} {wall:7.1f}µs {percentile(walls, 90):6.1f}µs {wall / base_wall:5.2f}x"
                f"   {cpu:6.1f}µs {cpu / base_cpu:5.2f}x"
            )
    print(f"(SQLAlchemy compiled-cache misses in the timed rounds: {sum(way.misses for way in ways)})")


def seed(tx: Tx) -> None:
    tx.value(RUN_INSERT, run_params(READ_RUN_ID))


def sqlite_ways(path: Path) -> list[Way]:
    migrate.upgrade_sqlite(path)
    project = SQLiteText(path)
    with project.conn:
        seed(project.tx)
    engine = sa.create_engine(f"sqlite:///{path}")
    return [project, Alchemy(engine, core=True), Alchemy(engine, core=False)]


def postgres_ways(dsn: str) -> list[Way]:
    migrate.upgrade_postgres(dsn)
    project = PostgresText(dsn)
    with project.conn.transaction():
        seed(PostgresTx(project.conn, None))
    engine = sa.create_engine("postgresql+psycopg://" + dsn.split("://", 1)[1])
    return [project, Alchemy(engine, core=True), Alchemy(engine, core=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6, help="timed rounds per way (after one warm-up round)")
    parser.add_argument("--per-round", type=int, default=300, help="executions of each statement per round")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    print("# One hot-path statement: SQL text on the DBAPI (browserfn's store) vs SQLAlchemy Core vs text()")
    print(f"command: .venv/bin/python -m bench.sql_compile {' '.join(sys.argv[1:])}")
    print(f"machine: {machine()}")
    print(f"date:    {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")
    print(f"versions: SQLAlchemy {sa.__version__}, psycopg {psycopg.__version__}, SQLite {sqlite3.sqlite_version}")
    print(f"each statement: {args.rounds} rounds x {args.per_round} executions per way, alternated; µs per execution")
    with tempfile.TemporaryDirectory() as tmp:
        ways = sqlite_ways(Path(tmp) / "bench.sqlite3")
        report("SQLite (a file, WAL, synchronous=NORMAL)", ways, measure(ways, args.rounds, args.per_round))
    if not args.skip_postgres:
        for dsn in scratch_database():  # one database, dropped when the loop ends
            ways = postgres_ways(dsn)
            report("PostgreSQL (127.0.0.1, loopback)", ways, measure(ways, args.rounds, args.per_round))
            for way in ways:
                way.close()
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
