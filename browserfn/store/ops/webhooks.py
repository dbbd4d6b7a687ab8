"""Webhooks, the account's `callback_url` secret, and deliveries. Deliveries are unique per
(run, target), so enqueueing twice for a run is harmless; `claim_due` leases what it returns
(moves `next_attempt_at` forward), skipping rows another dispatcher is leasing right now, so two
dispatchers never send the same attempt at the same time."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

from browserfn.automation import DeliveryAttempt, DeliveryStatus, Webhook, WebhookDelivery
from browserfn.store.tx import Row, Tx, data, insert_sql, stamp, undata, when, when_or_none

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
_ENQUEUE = insert_sql("webhook_deliveries", DELIVERY_COLUMNS) + " ON CONFLICT (run_id, target) DO NOTHING"


def webhook(row: Row) -> Webhook:
    return Webhook(
        webhook_id=row["webhook_id"],
        function_id=row["function_id"],
        account_id=row["account_id"],
        url=row["url"],
        secret=row["secret"],
        created_at=when(row["created_at"]),
    )


def attempts_data(attempts: Iterable[DeliveryAttempt]) -> list[dict[str, Any]]:
    """Attempts as JSON data (times as `stamp` text)."""
    return [{"at": stamp(a.at), "status_code": a.status_code, "error": a.error} for a in attempts]


def delivery(row: Row) -> WebhookDelivery:
    attempts = tuple(DeliveryAttempt(when(a["at"]), a["status_code"], a["error"]) for a in undata(row["attempts"]))
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
        next_attempt_at=when_or_none(row["next_attempt_at"]),
        created_at=when(row["created_at"]),
        updated_at=when(row["updated_at"]),
    )


def create(tx: Tx, w: Webhook) -> Webhook:
    tx.run(
        "INSERT INTO webhooks(webhook_id, function_id, account_id, url, secret, created_at)"
        " VALUES (:webhook_id, :function_id, :account_id, :url, :secret, :created_at)",
        dataclasses.asdict(w),
    )
    return w


def listing(tx: Tx, function_id: str) -> list[Webhook]:
    found = tx.all("SELECT * FROM webhooks WHERE function_id = :id ORDER BY created_at", {"id": function_id})
    return [webhook(r) for r in found]


def delete(tx: Tx, function_id: str, webhook_id: str) -> bool:
    changed = tx.run(
        "DELETE FROM webhooks WHERE function_id = :function AND webhook_id = :id",
        {"function": function_id, "id": webhook_id},
    )
    return changed == 1


def account_secret(tx: Tx, account_id: str, new_secret: str) -> str:
    """The account's secret for signing `callback_url` deliveries; `new_secret` if it had none."""
    params = {"account": account_id, "secret": new_secret, "now": dt.datetime.now(dt.UTC)}
    tx.run(
        "INSERT INTO account_webhook_secrets(account_id, secret, created_at) VALUES (:account, :secret, :now)"
        " ON CONFLICT (account_id) DO NOTHING",
        params,
    )
    return str(tx.value("SELECT secret FROM account_webhook_secrets WHERE account_id = :account", params))


def set_run_callback(tx: Tx, run_id: str, url: str) -> None:
    tx.run(
        "INSERT INTO run_callbacks(run_id, url) VALUES (:run, :url)"
        " ON CONFLICT (run_id) DO UPDATE SET url = excluded.url",
        {"run": run_id, "url": url},
    )


def run_receivers(tx: Tx, function_id: str, run_id: str) -> tuple[list[Webhook], str | None]:
    """The function's webhooks, and the run's `callback_url` if it has one: one statement (read
    after every run's end), a row with no webhook when the function has none."""
    found = tx.all(_RECEIVERS, {"run": run_id, "id": function_id})
    url = found[0]["callback_url"] if found else None
    return [webhook(r) for r in found if r["webhook_id"] is not None], (str(url) if url is not None else None)


_RECEIVERS = (
    "SELECT (SELECT url FROM run_callbacks WHERE run_id = :run) AS callback_url, w.*"
    " FROM (SELECT 1 AS one) AS one LEFT JOIN webhooks w ON w.function_id = :id ORDER BY w.created_at"
)


def enqueue(tx: Tx, deliveries: list[WebhookDelivery]) -> int:
    """Insert deliveries not already owed (same run and target); how many were new."""
    added = 0
    for d in deliveries:
        values = {name: getattr(d, name) for name in DELIVERY_COLUMNS}
        added += tx.run(_ENQUEUE, {**values, "status": d.status.value, "attempts": data(attempts_data(d.attempts))})
    return added


def claim_due(tx: Tx, now: dt.datetime, lease_s: float, limit: int) -> list[WebhookDelivery]:
    """Pending deliveries due by `now`, leased for `lease_s`."""
    found = tx.all(
        "UPDATE webhook_deliveries SET next_attempt_at = :lease WHERE delivery_id IN ("
        " SELECT delivery_id FROM webhook_deliveries WHERE status = :pending AND next_attempt_at <= :now"
        f" ORDER BY next_attempt_at LIMIT :limit{tx.skip_locked}) RETURNING *",
        {
            "lease": now + dt.timedelta(seconds=lease_s),
            "pending": DeliveryStatus.PENDING.value,
            "now": now,
            "limit": limit,
        },
    )
    return [delivery(r) for r in found]


def record_attempt(
    tx: Tx, delivery_id: str, attempt: DeliveryAttempt, status: DeliveryStatus, next_attempt_at: dt.datetime | None
) -> WebhookDelivery | None:
    row = tx.one(f"SELECT * FROM webhook_deliveries WHERE delivery_id = :id{tx.for_update}", {"id": delivery_id})
    if row is None:
        return None
    before = delivery(row)
    after = dataclasses.replace(
        before,
        attempts=(*before.attempts, attempt),
        status=status,
        next_attempt_at=next_attempt_at,
        updated_at=attempt.at,
    )
    tx.run(
        "UPDATE webhook_deliveries SET attempts = :attempts, status = :status, next_attempt_at = :next,"
        " updated_at = :at WHERE delivery_id = :id",
        {
            "attempts": data(attempts_data(after.attempts)),
            "status": status.value,
            "next": next_attempt_at,
            "at": attempt.at,
            "id": delivery_id,
        },
    )
    return after


def listing_deliveries(tx: Tx, function_id: str, limit: int) -> list[WebhookDelivery]:
    """The function's deliveries, newest first."""
    found = tx.all(
        "SELECT * FROM webhook_deliveries WHERE function_id = :id ORDER BY seq DESC LIMIT :limit",
        {"id": function_id, "limit": limit},
    )
    return [delivery(r) for r in found]
