"""Rows to schedules, ticks, webhooks and deliveries, for every backend (the automation side of
rows.py): SQLite hands back text and ints where PostgreSQL hands back datetimes, booleans and
decoded JSON; these functions accept both. Also the overlap rule, which both backends apply to
the row their own query finds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from browserfn.automation import (
    DeliveryAttempt,
    DeliveryStatus,
    Schedule,
    ScheduleTick,
    TickOutcome,
    Webhook,
    WebhookDelivery,
)
from browserfn.store.rows import Row, decoded, when, when_or_none


def stamp(value: dt.datetime) -> str:
    """Fixed-width UTC text: SQLite's stored form of a time (text order is time order)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def utc(value: Any) -> dt.datetime:
    return when(value).astimezone(dt.UTC)


def utc_or_none(value: Any) -> dt.datetime | None:
    moment = when_or_none(value)
    return moment.astimezone(dt.UTC) if moment is not None else None


def schedule(row: Row) -> Schedule:
    return Schedule(
        schedule_id=row["schedule_id"],
        function_id=row["function_id"],
        account_id=row["account_id"],
        key_id=row["key_id"],
        cron=row["cron"],
        timezone=row["timezone"],
        variables=decoded(row["variables"]),
        allow_overlap=bool(row["allow_overlap"]),
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
    )


def tick(row: Row) -> ScheduleTick:
    return ScheduleTick(
        schedule_id=row["schedule_id"],
        function_id=row["function_id"],
        tick=utc(row["tick"]),
        outcome=TickOutcome(row["outcome"]),
        run_id=row["run_id"],
        reason=row["reason"],
        claimed_by=row["claimed_by"],
        created_at=utc(row["created_at"]),
    )


def overlap_reason(previous: Row | None, now: dt.datetime, stale_s: float) -> str | None:
    """Why a tick must be skipped, or None, given its latest CLAIMED or STARTED predecessor (columns
    tick, outcome, run_id, created_at and `active`, its run's)."""
    if previous is None:
        return None
    at = stamp(utc(previous["tick"]))
    if previous["outcome"] == TickOutcome.STARTED.value and previous["active"]:
        return f"run {previous['run_id']} of the tick at {at} is still active"
    fresh = now - utc(previous["created_at"]) < dt.timedelta(seconds=stale_s)
    if previous["outcome"] == TickOutcome.CLAIMED.value and fresh:
        return f"the run of the tick at {at} is still being started"
    return None


def webhook(row: Row) -> Webhook:
    return Webhook(
        webhook_id=row["webhook_id"],
        function_id=row["function_id"],
        account_id=row["account_id"],
        url=row["url"],
        secret=row["secret"],
        created_at=utc(row["created_at"]),
    )


def attempts_data(attempts: Iterable[DeliveryAttempt]) -> list[dict[str, Any]]:
    """Attempts as JSON data (times as `stamp` text), the stored form in both backends."""
    return [{"at": stamp(a.at), "status_code": a.status_code, "error": a.error} for a in attempts]


def delivery(row: Row) -> WebhookDelivery:
    attempts = tuple(DeliveryAttempt(utc(a["at"]), a["status_code"], a["error"]) for a in decoded(row["attempts"]))
    return WebhookDelivery(
        delivery_id=row["delivery_id"],
        run_id=row["run_id"],
        function_id=row["function_id"],
        account_id=row["account_id"],
        target=row["target"],
        url=row["url"],
        secret=row["secret"],
        payload=row["payload"],
        status=DeliveryStatus(row["status"]),
        attempts=attempts,
        next_attempt_at=utc_or_none(row["next_attempt_at"]),
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
    )
