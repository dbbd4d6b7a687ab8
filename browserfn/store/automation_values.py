"""Schedules and deliveries to stored values, for every backend, and the statements that insert
them: each backend says how it stores a time and JSON data (SQLite: text; PostgreSQL: TIMESTAMPTZ
and JSONB) and its parameter mark (`?` or `%s`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from browserfn.automation import Schedule, WebhookDelivery
from browserfn.store.automation_rows import attempts_data

#: How a backend stores a time, or JSON data.
Encode = Callable[[Any], Any]

SCHEDULE_COLUMNS = (
    "schedule_id",
    "function_id",
    "account_id",
    "key_id",
    "cron",
    "timezone",
    "variables",
    "allow_overlap",
    "created_at",
    "updated_at",
)
#: Setting a function's schedule replaces the one it had, keeping its id and creation time.
SCHEDULE_UPSERT = (
    " ON CONFLICT (function_id) DO UPDATE SET key_id = excluded.key_id, cron = excluded.cron,"
    " timezone = excluded.timezone, variables = excluded.variables,"
    " allow_overlap = excluded.allow_overlap, updated_at = excluded.updated_at"
)
DELIVERY_COLUMNS = (
    "delivery_id",
    "run_id",
    "function_id",
    "account_id",
    "target",
    "url",
    "secret",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
)


def insert(table: str, columns: Sequence[str], mark: str) -> str:
    return f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def schedule_values(s: Schedule, time: Encode, data: Encode) -> tuple[Any, ...]:
    """In the order of SCHEDULE_COLUMNS."""
    return (
        s.schedule_id,
        s.function_id,
        s.account_id,
        s.key_id,
        s.cron,
        s.timezone,
        data(s.variables),
        s.allow_overlap,
        time(s.created_at),
        time(s.updated_at),
    )


def delivery_values(d: WebhookDelivery, time: Encode, data: Encode) -> tuple[Any, ...]:
    """In the order of DELIVERY_COLUMNS."""
    return (
        d.delivery_id,
        d.run_id,
        d.function_id,
        d.account_id,
        d.target,
        d.url,
        d.secret,
        d.payload,
        d.status.value,
        data(attempts_data(d.attempts)),
        optional(time, d.next_attempt_at),
        time(d.created_at),
        time(d.updated_at),
    )


def optional(time: Encode, value: dt.datetime | None) -> Any:
    return None if value is None else time(value)
