"""Upgrading in place: a database made by the store before Alembic (main at 7b585af, with runs,
events, sessions, schedules, webhooks, deliveries and secrets in it; see legacy/fill.py for how
the dumps were made with that code) opens with today's store, which reads back exactly what that
code read, keeps working on it, and ends with the same schema as a fresh database."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from browserfn.models import EventType, NewEvent, RunState
from browserfn.store import migrate
from browserfn.store.base import Store
from browserfn.store.postgres import PostgresStore
from browserfn.store.postgres_dispatch import Dispatcher
from browserfn.store.sqlite import SQLiteStore
from tests.store.conftest import scratch_database
from tests.store.legacy import fill


def _with_fields_added_since(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What main's code read back, with the fields models gained since, at the value an upgraded
    row must read as (a key or run token from before guest runs existed is not a guest's)."""
    for backend in snapshot.values():
        for name in ("principal", "run_principal"):
            backend[name] = {**backend[name], "guest": False}
    return snapshot


EXPECTED = _with_fields_added_since(json.loads(fill.SNAPSHOT.read_text()))


def schema(engine: sa.Engine) -> dict[str, Any]:
    """Tables, columns (type, nullability), keys and indexes (with partial conditions), as
    SQLAlchemy reflects them; column order left out (ALTER TABLE appends)."""
    found: dict[str, Any] = {}
    inspector = sa.inspect(engine)
    for table in sorted(inspector.get_table_names()):
        if table.startswith("procrastinate") or table == "alembic_version":
            continue
        found[table] = {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in inspector.get_columns(table)
            ),
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            "indexes": sorted(
                (
                    i["name"],
                    tuple(i["column_names"]),
                    i["unique"],
                    str(i.get("dialect_options", {}).get("sqlite_where", ""))
                    + str(i.get("dialect_options", {}).get("postgresql_where", "")),
                )
                for i in inspector.get_indexes(table)
            ),
        }
    return found


async def _keeps_working(store: Store) -> None:
    """The upgraded database takes new writes: runs continue their numbering and ordinals."""
    before = await store.list_runs("fn-1", account_id=None, key_id=None, only_active=False, offset=0, limit=100)
    run = await store.transition_run("run-created", [RunState.CREATED], RunState.QUEUED, {"variables": {"x": 1}})
    assert run is not None
    assert await store.append_events("run-5", [NewEvent(EventType.LOG, "after the upgrade")]) != []
    events = await store.list_events("run-5")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].message == "after the upgrade"
    account = (await store.ensure_account("acme")).account_id
    page = await store.list_runs("fn-1", account_id=account, key_id=None, only_active=False, offset=0, limit=100)
    assert {r.run_id for r in page} == {r.run_id for r in before}


async def test_sqlite_database_made_by_main_upgrades_and_loses_nothing(tmp_path: Path) -> None:
    old = tmp_path / "data" / "old.sqlite3"
    old.parent.mkdir()
    with sqlite3.connect(old) as conn:
        conn.executescript(fill.SQLITE_DUMP.read_text())
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrate.LEGACY_VERSION
    store = SQLiteStore(old)
    await store.open()
    try:
        assert await fill.snapshot(store) == EXPECTED["sqlite"]
        await _keeps_working(store)
    finally:
        await store.close()
    fresh = tmp_path / "data" / "fresh.sqlite3"
    migrate.upgrade_sqlite(fresh)
    upgraded_schema, fresh_schema = (schema(sa.create_engine(f"sqlite:///{path}")) for path in (old, fresh))
    assert upgraded_schema == fresh_schema


async def test_postgres_database_made_by_main_upgrades_and_loses_nothing() -> None:
    databases = scratch_database(), scratch_database()
    old_dsn, fresh_dsn = (next(d) for d in databases)
    try:
        subprocess.run(
            ["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-f", str(fill.POSTGRES_DUMP), old_dsn],
            check=True,
            capture_output=True,
        )
        store = PostgresStore(old_dsn, Dispatcher(account_concurrency=2))
        await store.open()
        try:
            assert await fill.snapshot(store) == EXPECTED["postgres"]
            await _keeps_working(store)
        finally:
            await store.close()
        migrate.upgrade_postgres(fresh_dsn)
        upgraded_schema, fresh_schema = (
            schema(sa.create_engine(dsn.replace("postgresql://", "postgresql+psycopg://")))
            for dsn in (old_dsn, fresh_dsn)
        )
        assert upgraded_schema == fresh_schema
    finally:
        for database in databases:
            next(database, None)


def test_a_database_older_than_main_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "older.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 3")
    with pytest.raises(migrate.SchemaTooOld, match="7b585af"):
        migrate.upgrade_sqlite(path)


async def test_racing_servers_migrate_a_postgres_database_once(pg_dsn: str) -> None:
    import asyncio

    stores = [PostgresStore(pg_dsn, Dispatcher(account_concurrency=2)) for _ in range(3)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        with psycopg.connect(pg_dsn) as conn:
            versions = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
        assert versions == set(migrate.heads())
    finally:
        for s in stores:
            await s.close()
