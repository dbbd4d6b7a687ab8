"""The part of the Store that schedules and webhooks use (mixed into `Store`).

Contract, on top of the Store's:
- `claim_schedule_tick` is the one place a tick is decided: at most one row per (schedule, tick)
  ever exists, so however many schedulers race, one wins and the others see TAKEN.
- Deliveries are unique per (run, target): enqueueing twice for the same run is harmless.
- `claim_due_deliveries` leases what it returns (moves `next_attempt_at` forward), so two
  dispatchers never send the same attempt at the same time.

The methods are not abstract so that a backend can be written before it holds schedules and
webhooks: until it does, they raise NotImplementedError and the scheduler and the webhook
dispatcher stop with a warning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from browserfn.automation import (
    DeliveryAttempt,
    DeliveryStatus,
    Schedule,
    ScheduleTick,
    TickOutcome,
    Webhook,
    WebhookDelivery,
)


def _unsupported(store: object) -> NotImplementedError:
    return NotImplementedError(f"{type(store).__name__} does not hold schedules and webhooks yet")


class AutomationStore:
    # -- schedules --------------------------------------------------------------------------------
    async def put_schedule(self, schedule: Schedule) -> Schedule:
        """Set the function's schedule, replacing the one it had (its tick history stays)."""
        raise _unsupported(self)

    async def get_schedule(self, function_id: str) -> Schedule | None:
        raise _unsupported(self)

    async def list_schedules(self, account_id: str | None) -> list[Schedule]:
        """The account's schedules (every account's with None), oldest first."""
        raise _unsupported(self)

    async def delete_schedule(self, function_id: str) -> bool:
        raise _unsupported(self)

    async def claim_schedule_tick(
        self, schedule: Schedule, tick: dt.datetime, claimed_by: str, stale_claim_s: float
    ) -> ScheduleTick | None:
        """Record the tick, atomically. Without `allow_overlap`, a tick whose previous scheduled run
        is still active (or whose previous claim, younger than `stale_claim_s`, has not started its
        run yet) is recorded SKIPPED. Returns the recorded tick, or None if it was already taken."""
        raise _unsupported(self)

    async def settle_schedule_tick(
        self, schedule_id: str, tick: dt.datetime, outcome: TickOutcome, run_id: str | None, reason: str | None
    ) -> None:
        """Record how a CLAIMED tick ended: STARTED with its run, or FAILED with the reason."""
        raise _unsupported(self)

    async def list_schedule_ticks(self, function_id: str, limit: int) -> list[ScheduleTick]:
        """The function's recorded ticks, newest first."""
        raise _unsupported(self)

    # -- webhooks ---------------------------------------------------------------------------------
    async def create_webhook(self, webhook: Webhook) -> Webhook:
        raise _unsupported(self)

    async def list_webhooks(self, function_id: str) -> list[Webhook]:
        raise _unsupported(self)

    async def delete_webhook(self, function_id: str, webhook_id: str) -> bool:
        raise _unsupported(self)

    async def account_webhook_secret(self, account_id: str, new_secret: str) -> str:
        """The account's secret for signing `callback_url` deliveries; `new_secret` if it had none."""
        raise _unsupported(self)

    async def set_run_callback(self, run_id: str, url: str) -> None:
        raise _unsupported(self)

    async def run_receivers(self, function_id: str, run_id: str) -> tuple[list[Webhook], str | None]:
        """Who hears of a run's end, in one call (it is made for every run): the function's
        webhooks, and the run's `callback_url` if it has one."""
        raise _unsupported(self)

    async def enqueue_deliveries(self, deliveries: Iterable[WebhookDelivery]) -> int:
        """Insert deliveries not already owed (same run and target); returns how many were new."""
        raise _unsupported(self)

    async def claim_due_deliveries(self, now: dt.datetime, lease_s: float, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries due by `now`, leased for `lease_s`."""
        raise _unsupported(self)

    async def record_delivery_attempt(
        self,
        delivery_id: str,
        attempt: DeliveryAttempt,
        status: DeliveryStatus,
        next_attempt_at: dt.datetime | None,
    ) -> WebhookDelivery | None:
        raise _unsupported(self)

    async def list_deliveries(self, function_id: str, limit: int) -> list[WebhookDelivery]:
        """The function's deliveries, newest first."""
        raise _unsupported(self)
