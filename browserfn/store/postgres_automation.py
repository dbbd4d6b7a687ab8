"""PostgreSQL side of schedules and webhooks, mixed into PostgresStore (see postgres_part.py). Several API
servers share these tables, each with its scheduler and webhook dispatcher:
- a tick is claimed by the insert of its (schedule_id, tick) primary key: one insert wins;
- the overlap check runs under a per-schedule transaction lock, so it reads every earlier claim;
- due deliveries are leased with FOR UPDATE SKIP LOCKED: two dispatchers never take the same one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from psycopg.types.json import Jsonb

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
from browserfn.store.postgres_part import PostgresPart, native

if TYPE_CHECKING:
    from browserfn.store.postgres import Conn

#: First key of the transaction lock that serialises the claims of one schedule's ticks (the
#: second is the hash of its id); two-key advisory locks do not meet the one-key migration lock.
TICK_LOCK_CLASS = 0x626674  # "bft"


class PostgresAutomation(PostgresPart):
    # -- schedules --------------------------------------------------------------------------------
    async def put_schedule(self, schedule: Schedule) -> Schedule:
        s = schedule

        async def op(c: Conn) -> Schedule:
            row = await self._one(
                c,
                values.insert("schedules", values.SCHEDULE_COLUMNS, "%s") + values.SCHEDULE_UPSERT + " RETURNING *",
                values.schedule_values(s, native, Jsonb),
            )
            assert row is not None
            return mapping.schedule(row)

        return await self._call(op)

    async def get_schedule(self, function_id: str) -> Schedule | None:
        async def op(c: Conn) -> Schedule | None:
            row = await self._one(c, "SELECT * FROM schedules WHERE function_id = %s", (function_id,))
            return mapping.schedule(row) if row is not None else None

        return await self._call(op)

    async def list_schedules(self, account_id: str | None) -> list[Schedule]:
        where, params = ("", ()) if account_id is None else (" WHERE account_id = %s", (account_id,))

        async def op(c: Conn) -> list[Schedule]:
            found = await self._all(c, f"SELECT * FROM schedules{where} ORDER BY created_at", params)
            return [mapping.schedule(r) for r in found]

        return await self._call(op)

    async def delete_schedule(self, function_id: str) -> bool:
        async def op(c: Conn) -> bool:
            cur = await c.execute("DELETE FROM schedules WHERE function_id = %s", (function_id,))
            return cur.rowcount == 1

        return await self._call(op)

    async def claim_schedule_tick(
        self, schedule: Schedule, tick: dt.datetime, claimed_by: str, stale_claim_s: float
    ) -> ScheduleTick | None:
        now = dt.datetime.now(dt.UTC)
        sid = schedule.schedule_id

        async def op(c: Conn) -> ScheduleTick | None:
            # Held to commit: a claim of this schedule's other ticks waits, then sees this one.
            await c.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (TICK_LOCK_CLASS, sid))
            row = await self._one(
                c,
                "INSERT INTO schedule_ticks(schedule_id, tick, function_id, outcome, claimed_by, created_at,"
                " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (schedule_id, tick) DO NOTHING"
                " RETURNING *",
                (sid, tick, schedule.function_id, TickOutcome.CLAIMED.value, claimed_by, now, now),
            )
            if row is None:
                return None
            reason = None if schedule.allow_overlap else await self._overlap(c, sid, tick, now, stale_claim_s)
            if reason is not None:
                row = await self._one(
                    c,
                    "UPDATE schedule_ticks SET outcome = %s, reason = %s WHERE schedule_id = %s AND tick = %s"
                    " RETURNING *",
                    (TickOutcome.SKIPPED.value, reason, sid, tick),
                )
                assert row is not None
            return mapping.tick(row)

        return await self._call(op)

    async def _overlap(
        self, c: Conn, schedule_id: str, tick: dt.datetime, now: dt.datetime, stale_s: float
    ) -> str | None:
        """Why `tick` must be skipped, or None: its predecessor's run is still going."""
        previous = await self._one(
            c,
            "SELECT t.tick, t.outcome, t.run_id, t.created_at, r.active FROM schedule_ticks t"
            " LEFT JOIN runs r ON r.run_id = t.run_id"
            " WHERE t.schedule_id = %s AND t.tick < %s AND t.outcome = ANY(%s) ORDER BY t.tick DESC LIMIT 1",
            (schedule_id, tick, [TickOutcome.CLAIMED.value, TickOutcome.STARTED.value]),
        )
        return mapping.overlap_reason(previous, now, stale_s)

    async def settle_schedule_tick(
        self, schedule_id: str, tick: dt.datetime, outcome: TickOutcome, run_id: str | None, reason: str | None
    ) -> None:
        async def op(c: Conn) -> None:
            await c.execute(
                "UPDATE schedule_ticks SET outcome = %s, run_id = %s, reason = %s, updated_at = %s"
                " WHERE schedule_id = %s AND tick = %s",
                (outcome.value, run_id, reason, dt.datetime.now(dt.UTC), schedule_id, tick),
            )

        await self._call(op)

    async def list_schedule_ticks(self, function_id: str, limit: int) -> list[ScheduleTick]:
        async def op(c: Conn) -> list[ScheduleTick]:
            found = await self._all(
                c,
                "SELECT * FROM schedule_ticks WHERE function_id = %s ORDER BY tick DESC LIMIT %s",
                (function_id, limit),
            )
            return [mapping.tick(r) for r in found]

        return await self._call(op)

    # -- webhooks ---------------------------------------------------------------------------------
    async def create_webhook(self, webhook: Webhook) -> Webhook:
        w = webhook

        async def op(c: Conn) -> None:
            await c.execute(
                "INSERT INTO webhooks(webhook_id, function_id, account_id, url, secret, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (w.webhook_id, w.function_id, w.account_id, w.url, w.secret, w.created_at),
            )

        await self._call(op)
        return webhook

    async def list_webhooks(self, function_id: str) -> list[Webhook]:
        return await self._call(lambda c: self._webhooks(c, function_id))

    async def _webhooks(self, c: Conn, function_id: str) -> list[Webhook]:
        found = await self._all(c, "SELECT * FROM webhooks WHERE function_id = %s ORDER BY created_at", (function_id,))
        return [mapping.webhook(r) for r in found]

    async def delete_webhook(self, function_id: str, webhook_id: str) -> bool:
        async def op(c: Conn) -> bool:
            cur = await c.execute(
                "DELETE FROM webhooks WHERE function_id = %s AND webhook_id = %s", (function_id, webhook_id)
            )
            return cur.rowcount == 1

        return await self._call(op)

    async def account_webhook_secret(self, account_id: str, new_secret: str) -> str:
        async def op(c: Conn) -> str:
            await c.execute(
                "INSERT INTO account_webhook_secrets(account_id, secret, created_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (account_id) DO NOTHING",
                (account_id, new_secret, dt.datetime.now(dt.UTC)),
            )
            row = await self._one(c, "SELECT secret FROM account_webhook_secrets WHERE account_id = %s", (account_id,))
            assert row is not None
            return str(row["secret"])

        return await self._call(op)

    async def set_run_callback(self, run_id: str, url: str) -> None:
        async def op(c: Conn) -> None:
            await c.execute(
                "INSERT INTO run_callbacks(run_id, url) VALUES (%s, %s)"
                " ON CONFLICT (run_id) DO UPDATE SET url = excluded.url",
                (run_id, url),
            )

        await self._call(op)

    async def run_receivers(self, function_id: str, run_id: str) -> tuple[list[Webhook], str | None]:
        async def op(c: Conn) -> tuple[list[Webhook], str | None]:
            row = await self._one(c, "SELECT url FROM run_callbacks WHERE run_id = %s", (run_id,))
            return await self._webhooks(c, function_id), str(row["url"]) if row is not None else None

        return await self._call(op)

    async def enqueue_deliveries(self, deliveries: Iterable[WebhookDelivery]) -> int:
        rows = [values.delivery_values(d, native, Jsonb) for d in deliveries]

        async def op(c: Conn) -> int:
            added = 0
            for row in rows:
                cur = await c.execute(
                    values.insert("webhook_deliveries", values.DELIVERY_COLUMNS, "%s")
                    + " ON CONFLICT (run_id, target) DO NOTHING",
                    row,
                )
                added += cur.rowcount
            return added

        return await self._call(op) if rows else 0

    async def claim_due_deliveries(self, now: dt.datetime, lease_s: float, limit: int) -> list[WebhookDelivery]:
        lease = now + dt.timedelta(seconds=lease_s)

        async def op(c: Conn) -> list[WebhookDelivery]:
            # SKIP LOCKED: a delivery another dispatcher is leasing right now is left to it.
            found = await self._all(
                c,
                "UPDATE webhook_deliveries SET next_attempt_at = %s WHERE delivery_id IN ("
                " SELECT delivery_id FROM webhook_deliveries WHERE status = %s AND next_attempt_at <= %s"
                " ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *",
                (lease, DeliveryStatus.PENDING.value, now, limit),
            )
            return [mapping.delivery(r) for r in found]

        return await self._call(op)

    async def record_delivery_attempt(
        self,
        delivery_id: str,
        attempt: DeliveryAttempt,
        status: DeliveryStatus,
        next_attempt_at: dt.datetime | None,
    ) -> WebhookDelivery | None:
        async def op(c: Conn) -> WebhookDelivery | None:
            row = await self._one(
                c,
                "UPDATE webhook_deliveries SET attempts = attempts || %s, status = %s, next_attempt_at = %s,"
                " updated_at = %s WHERE delivery_id = %s RETURNING *",
                (Jsonb(mapping.attempts_data([attempt])), status.value, next_attempt_at, attempt.at, delivery_id),
            )
            return mapping.delivery(row) if row is not None else None

        return await self._call(op)

    async def list_deliveries(self, function_id: str, limit: int) -> list[WebhookDelivery]:
        async def op(c: Conn) -> list[WebhookDelivery]:
            found = await self._all(
                c,
                "SELECT * FROM webhook_deliveries WHERE function_id = %s ORDER BY seq DESC LIMIT %s",
                (function_id, limit),
            )
            return [mapping.delivery(r) for r in found]

        return await self._call(op)
