"""Browser sessions to stored values and back, and the statements both backends run on them:
each backend gives its parameter mark (`?` or `%s`) and how it stores a time and JSON data
(SQLite: text; PostgreSQL: TIMESTAMPTZ and JSONB)."""

from __future__ import annotations

import dataclasses
from typing import Any

from browserfn.models import SessionRecord
from browserfn.store.automation_rows import utc, utc_or_none
from browserfn.store.automation_values import Encode, insert, optional
from browserfn.store.rows import Row, decoded

COLUMNS = (
    "session_id",
    "account_id",
    "run_id",
    "owner_url",
    "options",
    "idle_timeout_min",
    "max_duration_min",
    "status",
    "close_reason",
    "closed_by",
    "steps",
    "created_at",
    "last_accessed_at",
    "closed_at",
)
#: How a session's host is found dead: every host alive writes its heartbeat here.
_ENDED_BY_SWEEP = "UPDATE sessions SET status = 'error', close_reason = 'error', closed_by = {m}, closed_at = {m}"


@dataclasses.dataclass(frozen=True)
class SessionSql:
    """The statements, in one backend's parameter mark."""

    mark: str

    def _(self, template: str) -> str:
        return template.replace("{m}", self.mark)

    @property
    def insert(self) -> str:
        return insert("sessions", COLUMNS, self.mark)

    @property
    def get(self) -> str:
        return self._("SELECT * FROM sessions WHERE session_id = {m}")

    def listing(self, only_active: bool) -> str:
        active = " AND status = 'active'" if only_active else ""
        return self._(
            f"SELECT * FROM sessions WHERE account_id = {{m}}{active} ORDER BY seq DESC LIMIT {{m}} OFFSET {{m}}"
        )

    @property
    def activity(self) -> str:
        return self._(
            "UPDATE sessions SET last_accessed_at = {m}, steps = {m} WHERE session_id = {m} AND status = 'active'"
        )

    @property
    def finish(self) -> str:
        return self._(
            "UPDATE sessions SET status = {m}, close_reason = {m}, closed_by = {m}, closed_at = {m},"
            " last_accessed_at = {m}, steps = {m} WHERE session_id = {m} AND status = 'active'"
        )

    @property
    def heartbeat(self) -> str:
        return self._(
            "INSERT INTO session_hosts(owner_url, seen_at) VALUES ({m}, {m})"
            " ON CONFLICT (owner_url) DO UPDATE SET seen_at = excluded.seen_at"
        )

    @property
    def end_hosted(self) -> str:
        return self._(_ENDED_BY_SWEEP + " WHERE status = 'active' AND owner_url = {m} RETURNING session_id")

    @property
    def end_of_silent_hosts(self) -> str:
        return self._(
            _ENDED_BY_SWEEP + " WHERE status = 'active' AND owner_url <> {m} AND owner_url NOT IN"
            " (SELECT owner_url FROM session_hosts WHERE seen_at >= {m}) RETURNING session_id"
        )


def values(s: SessionRecord, time: Encode, data: Encode) -> tuple[Any, ...]:
    """In the order of COLUMNS."""
    return (
        s.session_id,
        s.account_id,
        s.run_id,
        s.owner_url,
        data(s.options),
        s.idle_timeout_min,
        s.max_duration_min,
        s.status,
        s.close_reason,
        s.closed_by,
        s.steps,
        time(s.created_at),
        time(s.last_accessed_at),
        optional(time, s.closed_at),
    )


def finish_values(s: SessionRecord, time: Encode) -> tuple[Any, ...]:
    """In the order of SessionSql.finish's marks."""
    return (
        s.status,
        s.close_reason,
        s.closed_by,
        optional(time, s.closed_at),
        time(s.last_accessed_at),
        s.steps,
        s.session_id,
    )


def record(row: Row) -> SessionRecord:
    return SessionRecord(
        session_id=row["session_id"],
        account_id=row["account_id"],
        run_id=row["run_id"],
        owner_url=row["owner_url"],
        options=decoded(row["options"]),
        idle_timeout_min=row["idle_timeout_min"],
        max_duration_min=row["max_duration_min"],
        created_at=utc(row["created_at"]),
        last_accessed_at=utc(row["last_accessed_at"]),
        status=row["status"],
        close_reason=row["close_reason"],
        closed_by=row["closed_by"],
        closed_at=utc_or_none(row["closed_at"]),
        steps=row["steps"],
    )
