"""SQLite side of schedules and webhooks, mixed into SQLiteStore (which supplies `_call`: one
transaction on the store's thread). Times are stored as fixed-width UTC text, so text order is
time order."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from browserfn.automation import (
    DeliveryAttempt,
    DeliveryStatus,
    Schedule,
    ScheduleTick,
    TickOutcome,
    Webhook,
    WebhookDelivery,
)
from browserfn.store import automation_rows as mapping
from browserfn.store import automation_values as values
from browserfn.store.automation_rows import stamp

T = TypeVar("T")


class SQLiteAutomation:
    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError  # supplied by SQLiteStore

    # -- schedules --------------------------------------------------------------------------------
    async def put_schedule(self, schedule: Schedule) -> Schedule:
        s = schedule

        def op(c: sqlite3.Connection) -> Schedule:
            c.execute(
                values.insert("schedules", values.SCHEDULE_COLUMNS, "?") + values.SCHEDULE_UPSERT,
                values.schedule_values(s, stamp, json.dumps),
            )
            return mapping.schedule(
                c.execute("SELECT * FROM schedules WHERE function_id = ?", (s.function_id,)).fetchone()
            )

        return await self._call(op)

    async def get_schedule(self, function_id: str) -> Schedule | None:
        def op(c: sqlite3.Connection) -> Schedule | None:
            row = c.execute("SELECT * FROM schedules WHERE function_id = ?", (function_id,)).fetchone()
            return mapping.schedule(row) if row is not None else None

        return await self._call(op)

    async def list_schedules(self, account_id: str | None) -> list[Schedule]:
        def op(c: sqlite3.Connection) -> list[Schedule]:
            if account_id is None:
                rows = c.execute("SELECT * FROM schedules ORDER BY created_at").fetchall()
            else:
                rows = c.execute(
                    "SELECT * FROM schedules WHERE account_id = ? ORDER BY created_at", (account_id,)
                ).fetchall()
            return [mapping.schedule(r) for r in rows]

        return await self._call(op)

    async def delete_schedule(self, function_id: str) -> bool:
        def op(c: sqlite3.Connection) -> bool:
            return c.execute("DELETE FROM schedules WHERE function_id = ?", (function_id,)).rowcount == 1

        return await self._call(op)

    async def claim_schedule_tick(
        self, schedule: Schedule, tick: dt.datetime, claimed_by: str, stale_claim_s: float
    ) -> ScheduleTick | None:
        now = dt.datetime.now(dt.UTC)
        key = stamp(tick)

        def op(c: sqlite3.Connection) -> ScheduleTick | None:
            # Write first: the insert takes the write lock, so the overlap check below reads a
            # state no other scheduler can change before this transaction commits.
            inserted = c.execute(
                "INSERT INTO schedule_ticks(schedule_id, tick, function_id, outcome, claimed_by, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(schedule_id, tick) DO NOTHING",
                (
                    schedule.schedule_id,
                    key,
                    schedule.function_id,
                    TickOutcome.CLAIMED.value,
                    claimed_by,
                    stamp(now),
                    stamp(now),
                ),
            ).rowcount
            if inserted != 1:
                return None
            reason = None if schedule.allow_overlap else self._overlap(c, schedule.schedule_id, key, now, stale_claim_s)
            if reason is not None:
                c.execute(
                    "UPDATE schedule_ticks SET outcome = ?, reason = ? WHERE schedule_id = ? AND tick = ?",
                    (TickOutcome.SKIPPED.value, reason, schedule.schedule_id, key),
                )
            row = c.execute(
                "SELECT * FROM schedule_ticks WHERE schedule_id = ? AND tick = ?", (schedule.schedule_id, key)
            ).fetchone()
            return mapping.tick(row)

        return await self._call(op)

    @staticmethod
    def _overlap(c: sqlite3.Connection, schedule_id: str, key: str, now: dt.datetime, stale_s: float) -> str | None:
        """Why the tick `key` must be skipped, or None: its predecessor's run is still going."""
        row = c.execute(
            "SELECT t.tick, t.outcome, t.run_id, t.created_at, r.active FROM schedule_ticks t"
            " LEFT JOIN runs r ON r.run_id = t.run_id"
            " WHERE t.schedule_id = ? AND t.tick < ? AND t.outcome IN (?, ?) ORDER BY t.tick DESC LIMIT 1",
            (schedule_id, key, TickOutcome.CLAIMED.value, TickOutcome.STARTED.value),
        ).fetchone()
        return mapping.overlap_reason(row, now, stale_s)

    async def settle_schedule_tick(
        self, schedule_id: str, tick: dt.datetime, outcome: TickOutcome, run_id: str | None, reason: str | None
    ) -> None:
        def op(c: sqlite3.Connection) -> None:
            c.execute(
                "UPDATE schedule_ticks SET outcome = ?, run_id = ?, reason = ?, updated_at = ?"
                " WHERE schedule_id = ? AND tick = ?",
                (outcome.value, run_id, reason, stamp(dt.datetime.now(dt.UTC)), schedule_id, stamp(tick)),
            )

        await self._call(op)

    async def list_schedule_ticks(self, function_id: str, limit: int) -> list[ScheduleTick]:
        def op(c: sqlite3.Connection) -> list[ScheduleTick]:
            rows = c.execute(
                "SELECT * FROM schedule_ticks WHERE function_id = ? ORDER BY tick DESC LIMIT ?", (function_id, limit)
            ).fetchall()
            return [mapping.tick(r) for r in rows]

        return await self._call(op)

    # -- webhooks ---------------------------------------------------------------------------------
    async def create_webhook(self, webhook: Webhook) -> Webhook:
        w = webhook

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO webhooks(webhook_id, function_id, account_id, url, secret, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (w.webhook_id, w.function_id, w.account_id, w.url, w.secret, stamp(w.created_at)),
            )

        await self._call(op)
        return webhook

    async def list_webhooks(self, function_id: str) -> list[Webhook]:
        return await self._call(_webhooks, function_id)

    async def delete_webhook(self, function_id: str, webhook_id: str) -> bool:
        def op(c: sqlite3.Connection) -> bool:
            cur = c.execute("DELETE FROM webhooks WHERE function_id = ? AND webhook_id = ?", (function_id, webhook_id))
            return cur.rowcount == 1

        return await self._call(op)

    async def account_webhook_secret(self, account_id: str, new_secret: str) -> str:
        def op(c: sqlite3.Connection) -> str:
            c.execute(
                "INSERT INTO account_webhook_secrets(account_id, secret, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT(account_id) DO NOTHING",
                (account_id, new_secret, stamp(dt.datetime.now(dt.UTC))),
            )
            row = c.execute("SELECT secret FROM account_webhook_secrets WHERE account_id = ?", (account_id,))
            return str(row.fetchone()[0])

        return await self._call(op)

    async def set_run_callback(self, run_id: str, url: str) -> None:
        def op(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO run_callbacks(run_id, url) VALUES (?, ?)"
                " ON CONFLICT(run_id) DO UPDATE SET url = excluded.url",
                (run_id, url),
            )

        await self._call(op)

    async def run_receivers(self, function_id: str, run_id: str) -> tuple[list[Webhook], str | None]:
        def op(c: sqlite3.Connection) -> tuple[list[Webhook], str | None]:
            row = c.execute("SELECT url FROM run_callbacks WHERE run_id = ?", (run_id,)).fetchone()
            return _webhooks(c, function_id), str(row[0]) if row is not None else None

        return await self._call(op)

    async def enqueue_deliveries(self, deliveries: Iterable[WebhookDelivery]) -> int:
        rows = [values.delivery_values(d, stamp, json.dumps) for d in deliveries]

        def op(c: sqlite3.Connection) -> int:
            added = 0
            for row in rows:
                added += c.execute(
                    values.insert("webhook_deliveries", values.DELIVERY_COLUMNS, "?")
                    + " ON CONFLICT(run_id, target) DO NOTHING",
                    row,
                ).rowcount
            return added

        return await self._call(op) if rows else 0

    async def claim_due_deliveries(self, now: dt.datetime, lease_s: float, limit: int) -> list[WebhookDelivery]:
        lease = stamp(now + dt.timedelta(seconds=lease_s))

        def op(c: sqlite3.Connection) -> list[WebhookDelivery]:
            rows = c.execute(
                "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE delivery_id IN ("
                " SELECT delivery_id FROM webhook_deliveries WHERE status = ? AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at LIMIT ?) RETURNING *",
                (lease, DeliveryStatus.PENDING.value, stamp(now), limit),
            ).fetchall()
            return [mapping.delivery(r) for r in rows]

        return await self._call(op)

    async def record_delivery_attempt(
        self,
        delivery_id: str,
        attempt: DeliveryAttempt,
        status: DeliveryStatus,
        next_attempt_at: dt.datetime | None,
    ) -> WebhookDelivery | None:
        def op(c: sqlite3.Connection) -> WebhookDelivery | None:
            row = c.execute("SELECT * FROM webhook_deliveries WHERE delivery_id = ?", (delivery_id,)).fetchone()
            if row is None:
                return None
            before = mapping.delivery(row)
            after = dataclasses.replace(
                before,
                attempts=(*before.attempts, attempt),
                status=status,
                next_attempt_at=next_attempt_at,
                updated_at=attempt.at,  # as stored below
            )
            c.execute(
                "UPDATE webhook_deliveries SET attempts = ?, status = ?, next_attempt_at = ?, updated_at = ?"
                " WHERE delivery_id = ?",
                (
                    json.dumps(mapping.attempts_data(after.attempts)),
                    status.value,
                    stamp(next_attempt_at) if next_attempt_at else None,
                    stamp(attempt.at),
                    delivery_id,
                ),
            )
            return after

        return await self._call(op)

    async def list_deliveries(self, function_id: str, limit: int) -> list[WebhookDelivery]:
        def op(c: sqlite3.Connection) -> list[WebhookDelivery]:
            rows = c.execute(
                "SELECT * FROM webhook_deliveries WHERE function_id = ? ORDER BY seq DESC LIMIT ?",
                (function_id, limit),
            ).fetchall()
            return [mapping.delivery(r) for r in rows]

        return await self._call(op)


def _webhooks(c: sqlite3.Connection, function_id: str) -> list[Webhook]:
    rows = c.execute("SELECT * FROM webhooks WHERE function_id = ? ORDER BY created_at", (function_id,)).fetchall()
    return [mapping.webhook(r) for r in rows]
