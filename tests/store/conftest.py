"""The `store` fixture: every test here runs once per backend, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from browserfn.store.base import Store
from browserfn.store.postgres import PostgresStore
from browserfn.store.postgres_dispatch import Dispatcher
from browserfn.store.sqlite import SQLiteStore

ADMIN_DSN = os.environ.get("BROWSERFN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def scratch_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"bfn_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    yield from scratch_database()


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        backend: Store = SQLiteStore(tmp_path / "store.sqlite3")
    else:
        dsn = request.getfixturevalue("pg_dsn")
        backend = PostgresStore(dsn, Dispatcher(account_concurrency=2))
    await backend.open()
    yield backend
    await backend.close()
