"""What the parts of PostgresStore mixed in beside its core (postgres_automation.py,
postgres_sessions.py) get from it: `_call` (one transaction, retried while the database is
unreachable) and the `_one`/`_all` helpers; and how they hand PostgreSQL a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from browserfn.store.postgres import Conn

T = TypeVar("T")


def native(value: dt.datetime) -> dt.datetime:
    """PostgreSQL stores times as they are (TIMESTAMPTZ)."""
    return value


class PostgresPart:
    if TYPE_CHECKING:  # supplied by PostgresStore

        async def _call(self, op: Callable[[Conn], Awaitable[T]]) -> T: ...

        @staticmethod
        async def _one(conn: Conn, sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None: ...

        @staticmethod
        async def _all(conn: Conn, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]: ...
