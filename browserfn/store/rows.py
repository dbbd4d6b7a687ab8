"""Rows to models, for every backend: SQLite hands back text and ints where PostgreSQL hands
back datetimes, booleans and decoded JSON; these functions accept both."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from browserfn.models import ApiKey, Event, EventType, Function, FunctionVersion, Parameter, Run, RunState

Row = Mapping[str, Any]


def when(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def when_or_none(value: Any) -> dt.datetime | None:
    return None if value is None else when(value)


def decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def parameters(value: Any) -> tuple[Parameter, ...]:
    return tuple(Parameter(**p) for p in decoded(value))


def api_key(row: Row) -> ApiKey:
    return ApiKey(
        row["key_id"],
        row["account_id"],
        row["name"],
        row["prefix"],
        when(row["created_at"]),
        when_or_none(row["revoked_at"]),
    )


def function(row: Row, versions: Sequence[Row]) -> Function:
    """A function from its row and its versions' rows (version, parameters) in order."""
    latest = next(v for v in versions if v["version"] == row["latest_version"])
    return Function(
        function_id=row["function_id"],
        account_id=row["account_id"],
        name=row["name"],
        description=row["description"],
        shared=bool(row["shared"]),
        latest_version=row["latest_version"],
        versions=tuple(v["version"] for v in versions),
        parameters=parameters(latest["parameters"]),
        created_at=when(row["created_at"]),
        updated_at=when(row["updated_at"]),
        reference_function_id=row["reference_function_id"],
        timeout_s=row["timeout_s"],
        default_runtime=row["default_runtime"],
    )


def function_version(row: Row) -> FunctionVersion:
    return FunctionVersion(
        function_id=row["function_id"],
        version=row["version"],
        code=row["code"],
        parameters=parameters(row["parameters"]),
        restricted=bool(row["restricted"]),
        created_at=when(row["created_at"]),
    )


def run(row: Row) -> Run:
    return Run(
        run_id=row["run_id"],
        function_id=row["function_id"],
        function_version=row["function_version"],
        account_id=row["account_id"],
        key_id=row["key_id"],
        state=RunState(row["state"]),
        variables=decoded(row["variables"]),
        created_at=when(row["created_at"]),
        updated_at=when(row["updated_at"]),
        timeout_s=row["timeout_s"],
        session_id=row["session_id"],
        result_json=row["result_json"],
        reason=row["reason"],
        started_at=when_or_none(row["started_at"]),
        ended_at=when_or_none(row["ended_at"]),
        local=bool(row["local"]),
        origin=row["origin"],
        seq=row["seq"],
    )


def event(row: Row) -> Event:
    return Event(row["run_id"], row["seq"], EventType(row["type"]), row["message"], when(row["created_at"]))


#: Run fields a state change may set, besides state itself.
RUN_FIELDS = frozenset({"session_id", "started_at", "timeout_s", "result_json", "reason", "variables", "token_hash"})
#: Function fields `update_function` may set.
FUNCTION_FIELDS = frozenset({"name", "description", "shared", "timeout_s", "default_runtime"})


def check_fields(fields: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not {what} fields: {sorted(unknown)}")


def ordinal_window(
    account_id: str | None,
    key_id: str | None,
    only_active: bool,
    before_seq: int | None,
    states: Iterable[RunState] | None = None,
) -> bool:
    """Whether a listing can read a range of per-(function, account) ordinals instead of skipping
    `offset` rows: yes for an account's whole history, the listing that grows without bound.
    (Active runs are few and have their own index; a key filter skips rows.)"""
    return account_id is not None and key_id is None and not only_active and before_seq is None and states is None


def ordinal_range(last_ordinal: int, offset: int, limit: int) -> tuple[int, int] | None:
    """The ordinals (low, high) of a page, newest first; None past the end."""
    high = last_ordinal - offset
    return None if high < 1 else (max(1, high - limit + 1), high)


def run_filter(
    function_id: str,
    account_id: str | None,
    key_id: str | None,
    only_active: bool,
    before_seq: int | None,
    active_clause: str,
    states: Iterable[RunState] | None = None,
) -> tuple[str, list[Any]]:
    """The WHERE clause of a runs listing, with `?` placeholders, and its parameters. PostgreSQL
    callers turn `?` into `%s`. `active_clause` is written as the backend's partial index is
    (SQLite matches index conditions by their text: `active = 1`, not `active = TRUE`)."""
    where = ["function_id = ?"]
    params: list[Any] = [function_id]
    for clause, value in (("account_id = ?", account_id), ("key_id = ?", key_id), ("seq <= ?", before_seq)):
        if value is not None:
            where.append(clause)
            params.append(value)
    if only_active:
        where.append(active_clause)
    if states is not None:
        wanted = sorted(state.value for state in states)
        where.append(f"state IN ({', '.join('?' * len(wanted))})" if wanted else "1 = 0")
        params.extend(wanted)
    return " AND ".join(where), params
