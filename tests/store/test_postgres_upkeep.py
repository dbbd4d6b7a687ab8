"""A PostgreSQL store warns at its start when the server's autovacuum is off, which browserfn's
cached plans need on (docs/operators.md, "PostgreSQL's upkeep"), and says nothing when it is on."""

from __future__ import annotations

import logging

import psycopg
import pytest

from browserfn.store.postgres import PostgresStore
from browserfn.store.postgres_dispatch import Dispatcher


async def test_the_store_warns_at_its_start_when_autovacuum_is_off(
    pg_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        found = conn.execute("SHOW autovacuum").fetchone()
    assert found is not None
    store = PostgresStore(pg_dsn, Dispatcher(account_concurrency=1))
    with caplog.at_level(logging.WARNING, logger="browserfn.store.postgres_db"):
        await store.open()
    await store.close()
    warned = [r.getMessage() for r in caplog.records if "autovacuum is off" in r.getMessage()]
    assert len(warned) == (1 if found[0] == "off" else 0), (found[0], warned)
    assert all("VACUUM ANALYZE" in message for message in warned)
