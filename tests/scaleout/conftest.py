"""Scale-out tests need the real PostgreSQL of this machine (scripts/services.sh starts it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.store.conftest import scratch_database


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    yield from scratch_database()
