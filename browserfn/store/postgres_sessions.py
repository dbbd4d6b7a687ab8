"""PostgreSQL side of browser sessions, mixed into PostgresStore (see postgres_part.py). Every API
server reads these rows; only a session's host (or a sweep for dead hosts) writes them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from psycopg.types.json import Jsonb

from browserfn.models import SessionRecord, utcnow
from browserfn.store import session_rows
from browserfn.store.postgres_part import PostgresPart, native

if TYPE_CHECKING:
    from browserfn.store.postgres import Conn

SQL = session_rows.SessionSql("%s")


class PostgresSessions(PostgresPart):
    async def create_session(self, session: SessionRecord) -> None:
        async def op(c: Conn) -> None:
            await c.execute(SQL.insert, session_rows.values(session, native, Jsonb))

        await self._call(op)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        async def op(c: Conn) -> SessionRecord | None:
            row = await self._one(c, SQL.get, (session_id,))
            return session_rows.record(row) if row is not None else None

        return await self._call(op)

    async def list_sessions(self, account_id: str, only_active: bool, offset: int, limit: int) -> list[SessionRecord]:
        async def op(c: Conn) -> list[SessionRecord]:
            return [
                session_rows.record(r)
                for r in await self._all(c, SQL.listing(only_active), (account_id, limit, offset))
            ]

        return await self._call(op)

    async def record_session_activity(self, session_id: str, last_accessed_at: dt.datetime, steps: int) -> bool:
        async def op(c: Conn) -> bool:
            return (await c.execute(SQL.activity, (last_accessed_at, steps, session_id))).rowcount == 1

        return await self._call(op)

    async def finish_session(self, session: SessionRecord) -> bool:
        async def op(c: Conn) -> bool:
            return (await c.execute(SQL.finish, session_rows.finish_values(session, native))).rowcount == 1

        return await self._call(op)

    async def session_host_alive(self, owner_url: str) -> None:
        async def op(c: Conn) -> None:
            await c.execute(SQL.heartbeat, (owner_url, utcnow()))

        await self._call(op)

    async def end_hosted_sessions(self, owner_url: str, closed_by: str) -> list[str]:
        async def op(c: Conn) -> list[str]:
            return [r["session_id"] for r in await self._all(c, SQL.end_hosted, (closed_by, utcnow(), owner_url))]

        return await self._call(op)

    async def end_sessions_of_silent_hosts(self, alive_url: str, silent_s: float, closed_by: str) -> list[str]:
        now = utcnow()
        params = (closed_by, now, alive_url, now - dt.timedelta(seconds=silent_s))

        async def op(c: Conn) -> list[str]:
            return [r["session_id"] for r in await self._all(c, SQL.end_of_silent_hosts, params)]

        return await self._call(op)
