"""Upgrading in place: a database made by an older browserfn opens with the current one,
keeps its data, and gains what the new migrations add (run ordinals for paging)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from browserfn.store.postgres import PostgresStore
from browserfn.store.postgres_dispatch import Dispatcher
from browserfn.store.postgres_schema import MIGRATIONS as PG_MIGRATIONS
from browserfn.store.sqlite import SQLiteStore
from browserfn.store.sqlite_schema import MIGRATIONS as SQLITE_MIGRATIONS

RUN_COLUMNS = (
    "run_id, function_id, function_version, account_id, key_id, state, active, variables, created_at, updated_at"
)
OLD_RUNS = [
    ("r1", "f1", "1", "a1", "k", "succeeded", 0, "{}", "2026-01-01T00:00:01+00:00", "2026-01-01T00:00:01+00:00"),
    ("r2", "f2", "1", "a1", "k", "succeeded", 0, "{}", "2026-01-01T00:00:02+00:00", "2026-01-01T00:00:02+00:00"),
    ("r3", "f1", "1", "a1", "k", "failed", 0, "{}", "2026-01-01T00:00:03+00:00", "2026-01-01T00:00:03+00:00"),
    ("r4", "f1", "1", "a2", "k", "succeeded", 0, "{}", "2026-01-01T00:00:04+00:00", "2026-01-01T00:00:04+00:00"),
    ("r5", "f1", "1", "a1", "k", "succeeded", 0, "{}", "2026-01-01T00:00:05+00:00", "2026-01-01T00:00:05+00:00"),
]


async def _listing(store: SQLiteStore | PostgresStore) -> dict[str, list[str]]:
    pages = {}
    for name, offset in (("all", 0), ("past two", 2)):
        found = await store.list_runs("f1", account_id="a1", key_id=None, only_active=False, offset=offset, limit=10)
        pages[name] = [r.run_id for r in found]
    return pages


async def test_sqlite_database_from_before_ordinals_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        for number, script in enumerate(SQLITE_MIGRATIONS[:2], start=1):
            conn.executescript(f"{script}; PRAGMA user_version = {number};")
        conn.executemany(f"INSERT INTO runs({RUN_COLUMNS}) VALUES ({', '.join('?' * 10)})", OLD_RUNS)
    store = SQLiteStore(path)
    await store.open()
    try:
        assert await _listing(store) == {"all": ["r5", "r3", "r1"], "past two": ["r1"]}
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == len(SQLITE_MIGRATIONS)
    finally:
        await store.close()


async def test_postgres_database_from_before_ordinals_upgrades_in_place(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE browserfn_schema (version INTEGER NOT NULL)")
        for script in PG_MIGRATIONS[:2]:
            conn.execute(script)
        conn.execute("INSERT INTO browserfn_schema(version) VALUES (2)")
        conn.cursor().executemany(
            f"INSERT INTO runs({RUN_COLUMNS}) VALUES ({', '.join(['%s'] * 10)})",
            [(*row[:6], bool(row[6]), *row[7:]) for row in OLD_RUNS],
        )
    store = PostgresStore(pg_dsn, Dispatcher(account_concurrency=2))
    await store.open()
    try:
        assert await _listing(store) == {"all": ["r5", "r3", "r1"], "past two": ["r1"]}
        with psycopg.connect(pg_dsn) as conn:
            assert conn.execute("SELECT version FROM browserfn_schema").fetchone() == (len(PG_MIGRATIONS),)
    finally:
        await store.close()
