"""SQLStore: the Store, written once for every backend. Each method runs one store operation
(browserfn/store/ops/) on the backend's `Database`; what differs per backend is the Database
(sqlite_db.py, postgres_db.py) and, on PostgreSQL, the queue hand-off (postgres_dispatch.py)."""

from __future__ import annotations

import datetime as dt

from browserfn.models import SessionRecord
from browserfn.store.base import Store
from browserfn.store.ops import sessions


class SQLStore(Store):
    # -- browser sessions -------------------------------------------------------------------------
    async def create_session(self, session: SessionRecord) -> None:
        await self.call(sessions.create, session)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self.call(sessions.get, session_id)

    async def list_sessions(self, account_id: str, only_active: bool, offset: int, limit: int) -> list[SessionRecord]:
        return await self.call(sessions.listing, account_id, only_active, offset, limit)

    async def record_session_activity(self, session_id: str, last_accessed_at: dt.datetime, steps: int) -> bool:
        return await self.call(sessions.record_activity, session_id, last_accessed_at, steps)

    async def finish_session(self, session: SessionRecord) -> bool:
        return await self.call(sessions.finish, session)

    async def session_host_alive(self, owner_url: str) -> None:
        await self.call(sessions.host_alive, owner_url)

    async def end_hosted_sessions(self, owner_url: str, closed_by: str) -> list[str]:
        return await self.call(sessions.end_hosted, owner_url, closed_by)

    async def end_sessions_of_silent_hosts(self, alive_url: str, silent_s: float, closed_by: str) -> list[str]:
        return await self.call(sessions.end_of_silent_hosts, alive_url, silent_s, closed_by)
