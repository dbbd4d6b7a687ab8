"""The schema, brought up to date at start-up: every Alembic migration in migrations/versions not
yet applied, in order, under a lock (several servers may start at once on one PostgreSQL; on
SQLite a file lock beside the database), through SQLAlchemy on a short-lived connection. The
store's own connections (raw DBAPI) open afterwards.

A database made before Alembic (main at 7b585af and earlier sessions' code: SQLite's
`PRAGMA user_version`, PostgreSQL's `browserfn_schema` table, five migrations) is stamped at
0001_baseline, which is that schema, and upgraded from there.

`python -m browserfn.store.migrate DB_URL` applies them by hand; `... --heads` lists the heads."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
BASELINE = "0001_baseline"
#: How many hand-written migrations the schema before Alembic had.
LEGACY_VERSION = 5
#: Key of the advisory lock held while migrating PostgreSQL (the one the code before Alembic used).
MIGRATION_LOCK_KEY = 0x62666E  # "bfn"


# Alembic announces each of its plugins at INFO on every start; the migrations it runs stay logged.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


class SchemaTooOld(RuntimeError):
    pass


def config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def heads() -> list[str]:
    return list(ScriptDirectory.from_config(config()).get_heads())


def upgrade_sqlite(path: Path) -> None:
    lock_path = path.with_name(path.name + ".migrate-lock")
    with (
        _file_lock(lock_path),
        _engine("sqlite://", lambda: sqlite3.connect(path)) as engine,
        engine.connect() as connection,
    ):
        legacy = connection.exec_driver_sql("PRAGMA user_version").scalar()
        _upgrade(connection, legacy if legacy else None)
        connection.commit()


def upgrade_postgres(dsn: str, after: Callable[[sa.Connection], None] | None = None) -> None:
    """Migrate under the advisory lock, then `after(connection)` still under it (in the same
    transaction: PostgreSQL's DDL is transactional, so a failed start leaves nothing half-done)."""
    import psycopg

    with _engine("postgresql+psycopg://", lambda: psycopg.connect(dsn)) as engine, engine.begin() as connection:
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        legacy = None
        if connection.execute(sa.text("SELECT to_regclass('browserfn_schema')")).scalar() is not None:
            legacy = connection.execute(sa.text("SELECT version FROM browserfn_schema")).scalar()
        _upgrade(connection, legacy)
        if after is not None:
            after(connection)


def _upgrade(connection: sa.Connection, legacy_version: int | None) -> None:
    cfg = config(connection)
    adopted = sa.inspect(connection).has_table("alembic_version")
    if legacy_version is not None and not adopted:
        if legacy_version != LEGACY_VERSION:
            raise SchemaTooOld(
                f"this database has schema version {legacy_version} of browserfn before 2026-12; open it once "
                f"with browserfn at commit 7b585af (schema version {LEGACY_VERSION}) to upgrade it, then with this one"
            )
        command.stamp(cfg, BASELINE)
    command.upgrade(cfg, "heads")


@contextlib.contextmanager
def _engine(url: str, creator: Callable[[], Any]) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url, creator=creator, poolclass=sa.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


if __name__ == "__main__":  # pragma: no cover - an operator's tool
    import sys

    if sys.argv[1:] == ["--heads"]:
        print("\n".join(heads()))
    elif len(sys.argv) == 2 and sys.argv[1].startswith("postgres"):
        upgrade_postgres(sys.argv[1])
    elif len(sys.argv) == 2:
        upgrade_sqlite(Path(sys.argv[1]))
    else:
        sys.exit("usage: python -m browserfn.store.migrate (DATABASE_PATH | POSTGRES_DSN | --heads)")
