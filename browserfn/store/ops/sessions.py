"""Browser sessions (any server answers for any session) and the heartbeats of the processes
hosting them. A session is written by its host (`owner_url`) and ended once: the first of its
host, or a sweep for hosts that stopped their heartbeats, decides how it ended."""

from __future__ import annotations

import datetime as dt

from browserfn.models import SessionRecord, utcnow
from browserfn.store.tx import Row, Tx, data, insert_sql, undata, when, when_or_none

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
INSERT = insert_sql("sessions", COLUMNS)
ENDED_BY_SWEEP = (
    "UPDATE sessions SET status = 'error', close_reason = 'error', closed_by = :closed_by, closed_at = :now"
    " WHERE status = 'active'"
)


def record(row: Row) -> SessionRecord:
    return SessionRecord(
        session_id=row["session_id"],
        account_id=row["account_id"],
        run_id=row["run_id"],
        owner_url=row["owner_url"],
        options=undata(row["options"]),
        idle_timeout_min=row["idle_timeout_min"],
        max_duration_min=row["max_duration_min"],
        created_at=when(row["created_at"]),
        last_accessed_at=when(row["last_accessed_at"]),
        status=row["status"],
        close_reason=row["close_reason"],
        closed_by=row["closed_by"],
        closed_at=when_or_none(row["closed_at"]),
        steps=row["steps"],
    )


def create(tx: Tx, s: SessionRecord) -> None:
    values = {name: getattr(s, name) for name in COLUMNS}
    tx.run(INSERT, {**values, "options": data(s.options)})


def get(tx: Tx, session_id: str) -> SessionRecord | None:
    row = tx.one("SELECT * FROM sessions WHERE session_id = :id", {"id": session_id})
    return record(row) if row is not None else None


def listing(tx: Tx, account_id: str, only_active: bool, offset: int, limit: int) -> list[SessionRecord]:
    active = " AND status = 'active'" if only_active else ""
    found = tx.all(
        f"SELECT * FROM sessions WHERE account_id = :account{active} ORDER BY seq DESC LIMIT :limit OFFSET :offset",
        {"account": account_id, "limit": limit, "offset": offset},
    )
    return [record(row) for row in found]


def record_activity(tx: Tx, session_id: str, last_accessed_at: dt.datetime, steps: int) -> bool:
    return (
        tx.run(
            "UPDATE sessions SET last_accessed_at = :at, steps = :steps WHERE session_id = :id AND status = 'active'",
            {"at": last_accessed_at, "steps": steps, "id": session_id},
        )
        == 1
    )


def finish(tx: Tx, s: SessionRecord) -> bool:
    changed = tx.run(
        "UPDATE sessions SET status = :status, close_reason = :close_reason, closed_by = :closed_by,"
        " closed_at = :closed_at, last_accessed_at = :last_accessed_at, steps = :steps"
        " WHERE session_id = :session_id AND status = 'active'",
        {name: getattr(s, name) for name in COLUMNS if name not in ("options",)},
    )
    return changed == 1


def host_alive(tx: Tx, owner_url: str) -> None:
    tx.run(
        "INSERT INTO session_hosts(owner_url, seen_at) VALUES (:url, :now)"
        " ON CONFLICT (owner_url) DO UPDATE SET seen_at = excluded.seen_at",
        {"url": owner_url, "now": utcnow()},
    )


def end_hosted(tx: Tx, owner_url: str, closed_by: str) -> list[str]:
    found = tx.all(
        ENDED_BY_SWEEP + " AND owner_url = :url RETURNING session_id",
        {"closed_by": closed_by, "now": utcnow(), "url": owner_url},
    )
    return [row["session_id"] for row in found]


def end_of_silent_hosts(tx: Tx, alive_url: str, silent_s: float, closed_by: str) -> list[str]:
    now = utcnow()
    found = tx.all(
        ENDED_BY_SWEEP + " AND owner_url <> :alive AND owner_url NOT IN"
        " (SELECT owner_url FROM session_hosts WHERE seen_at >= :since) RETURNING session_id",
        {"closed_by": closed_by, "now": now, "alive": alive_url, "since": now - dt.timedelta(seconds=silent_s)},
    )
    return [row["session_id"] for row in found]
