"""Plain data for what acts on runs without a caller: schedules (start runs on a cron) and
webhooks (told when runs end). No I/O here."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any

#: The `target` of a delivery made for a run's own `callback_url` (others name their webhook).
CALLBACK_TARGET = "callback"


@dataclasses.dataclass(frozen=True)
class Schedule:
    """One per function (Notte's shape): `cron` in `timezone`, runs as the key that set it."""

    schedule_id: str
    function_id: str
    account_id: str
    key_id: str
    cron: str
    timezone: str
    variables: dict[str, Any]
    allow_overlap: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class TickOutcome(enum.StrEnum):
    CLAIMED = "claimed"  #: a scheduler owns this tick and is starting its run
    STARTED = "started"  #: the tick's run was started
    SKIPPED = "skipped"  #: the previous scheduled run was still active (no overlap)
    FAILED = "failed"  #: starting the run failed (function deleted, queue full...)
    TAKEN = "taken"  #: not stored: another scheduler had claimed the tick already


@dataclasses.dataclass(frozen=True)
class ScheduleTick:
    """The record of one cron tick: claimed exactly once, whatever the number of schedulers."""

    schedule_id: str
    function_id: str
    tick: dt.datetime
    outcome: TickOutcome
    run_id: str | None
    reason: str | None
    claimed_by: str
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Webhook:
    webhook_id: str
    function_id: str
    account_id: str
    url: str
    secret: str
    created_at: dt.datetime


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  #: waiting for its next attempt
    DELIVERED = "delivered"  #: the receiver answered 2xx
    FAILED = "failed"  #: every attempt failed


@dataclasses.dataclass(frozen=True)
class DeliveryAttempt:
    at: dt.datetime
    status_code: int | None
    error: str | None


@dataclasses.dataclass(frozen=True)
class WebhookDelivery:
    """One POST owed to one receiver for one ended run, with the history of its attempts."""

    delivery_id: str
    run_id: str
    function_id: str
    account_id: str
    target: str  #: the webhook id, or CALLBACK_TARGET
    url: str
    secret: str
    payload: str  #: the exact JSON body, signed as is
    status: DeliveryStatus
    attempts: tuple[DeliveryAttempt, ...]
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
