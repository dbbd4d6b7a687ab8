"""Browser profiles (browserfn/profiles.py): a saved browser state per account, and the write
lease that lets one session at a time save into a profile. Every query filters by account: another
account's profile is simply not found."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from browserfn.store.tx import Row, Tx, data, insert_sql, undata, when

INSERT = insert_sql(
    "profiles", ("profile_id", "account_id", "name", "state", "created_at", "updated_at", "writer_session_id")
)
#: A lease is free when nobody holds it, its holder asks again, or its holder is no longer an open
#: session (ended, or its host died) and took it more than `stale` ago (a session being opened
#: holds it before its record exists).
_LEASE_FREE = (
    "(writer_session_id IS NULL OR writer_session_id = :session OR (writer_since < :stale AND NOT EXISTS"
    " (SELECT 1 FROM sessions WHERE sessions.session_id = profiles.writer_session_id AND sessions.status = 'active')))"
)


@dataclasses.dataclass(frozen=True)
class Profile:
    profile_id: str
    account_id: str
    name: str | None
    state: dict[str, Any]  #: {"cookies": [...], "local_storage": {origin: {k: v}}, "session_storage": {...}}
    created_at: dt.datetime
    updated_at: dt.datetime
    writer_session_id: str | None


def profile(row: Row) -> Profile:
    return Profile(
        profile_id=row["profile_id"],
        account_id=row["account_id"],
        name=row["name"],
        state=undata(row["state"]),
        created_at=when(row["created_at"]),
        updated_at=when(row["updated_at"]),
        writer_session_id=row["writer_session_id"],
    )


def _key(account_id: str, profile_id: str) -> dict[str, Any]:
    return {"account": account_id, "id": profile_id}


def create(
    tx: Tx, account_id: str, profile_id: str, name: str | None, state: dict[str, Any], now: dt.datetime
) -> Profile:
    values = {"profile_id": profile_id, "account_id": account_id, "name": name, "state": data(state)}
    tx.run(INSERT, {**values, "created_at": now, "updated_at": now, "writer_session_id": None})
    found = get(tx, account_id, profile_id)
    assert found is not None
    return found


def get(tx: Tx, account_id: str, profile_id: str) -> Profile | None:
    row = tx.one(
        "SELECT * FROM profiles WHERE profile_id = :id AND account_id = :account", _key(account_id, profile_id)
    )
    return profile(row) if row is not None else None


def listing(tx: Tx, account_id: str, name: str | None, offset: int, limit: int) -> list[Profile]:
    named = " AND name = :name" if name is not None else ""
    rows = tx.all(
        f"SELECT * FROM profiles WHERE account_id = :account{named} ORDER BY seq DESC LIMIT :limit OFFSET :offset",
        {"account": account_id, "name": name, "limit": limit, "offset": offset},
    )
    return [profile(r) for r in rows]


def lease(
    tx: Tx, account_id: str, profile_id: str, session_id: str, now: dt.datetime, stale: dt.datetime
) -> str | None:
    """Take the profile's write lease for `session_id`; None if taken, else who holds it
    ("" if there is no such profile)."""
    params = {**_key(account_id, profile_id), "session": session_id, "now": now, "stale": stale}
    taken = tx.run(
        "UPDATE profiles SET writer_session_id = :session, writer_since = :now"
        f" WHERE profile_id = :id AND account_id = :account AND {_LEASE_FREE}",
        params,
    )
    return None if taken else _holder(tx, account_id, profile_id)


def release(tx: Tx, profile_id: str, session_id: str) -> None:
    tx.run(
        "UPDATE profiles SET writer_session_id = NULL, writer_since = NULL"
        " WHERE profile_id = :id AND writer_session_id = :session",
        {"id": profile_id, "session": session_id},
    )


def save_state(
    tx: Tx, account_id: str, profile_id: str, state: dict[str, Any], writer: str, now: dt.datetime, stale: dt.datetime
) -> str | None:
    """Replace the profile's state, unless another open session holds its lease; None if saved,
    else the holder ("" if there is no such profile). `writer`: the saving session ("" for none)."""
    params = {**_key(account_id, profile_id), "session": writer, "state": data(state), "now": now, "stale": stale}
    saved = tx.run(
        "UPDATE profiles SET state = :state, updated_at = :now"
        f" WHERE profile_id = :id AND account_id = :account AND {_LEASE_FREE}",
        params,
    )
    return None if saved else _holder(tx, account_id, profile_id)


def delete(tx: Tx, account_id: str, profile_id: str, stale: dt.datetime) -> str | None:
    """Delete it unless an open session holds its lease; None if deleted, else as `save_state`."""
    params = {**_key(account_id, profile_id), "session": "", "stale": stale}
    deleted = tx.run(f"DELETE FROM profiles WHERE profile_id = :id AND account_id = :account AND {_LEASE_FREE}", params)
    return None if deleted else _holder(tx, account_id, profile_id)


def _holder(tx: Tx, account_id: str, profile_id: str) -> str:
    """Who holds the profile's lease ("" if there is no such profile)."""
    found = get(tx, account_id, profile_id)
    return "" if found is None else found.writer_session_id or ""
