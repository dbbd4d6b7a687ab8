"""SQLite side of browser sessions, mixed into SQLiteStore (which supplies `_call`: one
transaction on the store's thread). Times are fixed-width UTC text, so text order is time order."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from browserfn.models import SessionRecord, utcnow
from browserfn.store import session_rows
from browserfn.store.automation_rows import stamp

T = TypeVar("T")
SQL = session_rows.SessionSql("?")


class SQLiteSessions:
    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError  # supplied by SQLiteStore

    async def create_session(self, session: SessionRecord) -> None:
        def op(c: sqlite3.Connection) -> None:
            c.execute(SQL.insert, session_rows.values(session, stamp, json.dumps))

        await self._call(op)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        def op(c: sqlite3.Connection) -> SessionRecord | None:
            row = c.execute(SQL.get, (session_id,)).fetchone()
            return session_rows.record(row) if row is not None else None

        return await self._call(op)

    async def list_sessions(self, account_id: str, only_active: bool, offset: int, limit: int) -> list[SessionRecord]:
        def op(c: sqlite3.Connection) -> list[SessionRecord]:
            found = c.execute(SQL.listing(only_active), (account_id, limit, offset)).fetchall()
            return [session_rows.record(row) for row in found]

        return await self._call(op)

    async def record_session_activity(self, session_id: str, last_accessed_at: dt.datetime, steps: int) -> bool:
        def op(c: sqlite3.Connection) -> bool:
            return c.execute(SQL.activity, (stamp(last_accessed_at), steps, session_id)).rowcount == 1

        return await self._call(op)

    async def finish_session(self, session: SessionRecord) -> bool:
        def op(c: sqlite3.Connection) -> bool:
            return c.execute(SQL.finish, session_rows.finish_values(session, stamp)).rowcount == 1

        return await self._call(op)

    async def session_host_alive(self, owner_url: str) -> None:
        def op(c: sqlite3.Connection) -> None:
            c.execute(SQL.heartbeat, (owner_url, stamp(utcnow())))

        await self._call(op)

    async def end_hosted_sessions(self, owner_url: str, closed_by: str) -> list[str]:
        def op(c: sqlite3.Connection) -> list[str]:
            return [r[0] for r in c.execute(SQL.end_hosted, (closed_by, stamp(utcnow()), owner_url)).fetchall()]

        return await self._call(op)

    async def end_sessions_of_silent_hosts(self, alive_url: str, silent_s: float, closed_by: str) -> list[str]:
        now = utcnow()
        since = now - dt.timedelta(seconds=silent_s)

        def op(c: sqlite3.Connection) -> list[str]:
            found = c.execute(SQL.end_of_silent_hosts, (closed_by, stamp(now), alive_url, stamp(since)))
            return [r[0] for r in found.fetchall()]

        return await self._call(op)
