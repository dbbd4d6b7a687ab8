"""Schedules: cron → runs, exactly once per tick, whatever the number of schedulers.

Every scheduler (one per server process) polls the schedules and, for each, works out the latest
tick that is due. The tick is claimed in the store (one row per schedule and tick: the first claim
wins, later ones see it taken), and only the winner starts the run. Without `allow_overlap`, a tick
whose previous scheduled run is still active is recorded as skipped instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from browserfn import tokens
from browserfn.automation import Schedule, ScheduleTick, TickOutcome
from browserfn.config import Settings
from browserfn.errors import BrowserfnError, InvalidInput
from browserfn.functions import FunctionService
from browserfn.models import Principal, utcnow
from browserfn.runs import RunService
from browserfn.store.base import Store

log = logging.getLogger(__name__)
#: A claim older than this whose run never started (its scheduler died) no longer blocks later ticks.
STALE_CLAIM_S = 60.0
#: Origin recorded on runs a schedule started.
SCHEDULE_ORIGIN = "schedule"


def check_cron(cron: str, timezone: str) -> None:
    """Raise InvalidInput unless `cron` (5 fields, or 6 with seconds last) and `timezone` are valid."""
    if not croniter.is_valid(cron):
        raise InvalidInput(f"invalid cron expression {cron!r}: use 5 fields (minute first) or 6 (seconds last)")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown timezone {timezone!r}: use an IANA name such as 'Europe/Paris'") from exc


def latest_tick(cron: str, timezone: str, now: dt.datetime) -> dt.datetime:
    """The latest tick at or before `now`, in UTC (the cron is read in `timezone`)."""
    local = (now + dt.timedelta(milliseconds=1)).astimezone(ZoneInfo(timezone))
    found: dt.datetime = croniter(cron, local).get_prev(dt.datetime)
    return found.astimezone(dt.UTC)


def next_tick(cron: str, timezone: str, now: dt.datetime) -> dt.datetime:
    local = now.astimezone(ZoneInfo(timezone))
    found: dt.datetime = croniter(cron, local).get_next(dt.datetime)
    return found.astimezone(dt.UTC)


class Scheduler:
    def __init__(
        self,
        store: Store,
        functions: FunctionService,
        runs: RunService,
        *,
        poll_s: float,
        misfire_grace_s: float,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.name = f"scheduler-{tokens.new_id()[:8]}"
        self._store = store
        self._functions = functions
        self._runs = runs
        self._poll_s = poll_s
        self._misfire_grace_s = misfire_grace_s
        self._clock = clock
        self._seen: dict[str, dt.datetime] = {}  # schedule id → the last tick this scheduler handled
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, functions: FunctionService, runs: RunService) -> Scheduler:
        return cls(
            store,
            functions,
            runs,
            poll_s=settings.schedule_poll_s,
            misfire_grace_s=settings.schedule_misfire_grace_s,
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.fire_due()
            except NotImplementedError as exc:
                log.warning("schedules are off: %s", exc)
                return
            except Exception:  # one bad pass must not end scheduling for good
                log.exception("scheduler pass failed")
            await asyncio.sleep(self._poll_s)

    async def fire_due(self, now: dt.datetime | None = None) -> list[ScheduleTick]:
        """One pass: claim and act on every due tick; returns the ticks this scheduler recorded."""
        now = now or self._clock()
        recorded = []
        for schedule in await self._store.list_schedules(None):
            tick = latest_tick(schedule.cron, schedule.timezone, now)
            if tick <= schedule.updated_at or (now - tick).total_seconds() > self._misfire_grace_s:
                continue  # set after this tick, or missed it long ago (the server was down)
            if self._seen.get(schedule.schedule_id) == tick:
                continue
            self._seen[schedule.schedule_id] = tick
            claimed = await self._store.claim_schedule_tick(schedule, tick, self.name, STALE_CLAIM_S)
            if claimed is None:
                continue  # another scheduler has it
            if claimed.outcome is TickOutcome.CLAIMED:
                claimed = await self._start(schedule, claimed)
            else:
                log.info("schedule %s: tick %s %s: %s", schedule.schedule_id, tick, claimed.outcome, claimed.reason)
            recorded.append(claimed)
        return recorded

    async def _start(self, schedule: Schedule, tick: ScheduleTick) -> ScheduleTick:
        principal = Principal(schedule.account_id, schedule.key_id)
        try:
            function = await self._functions.get_visible(principal, schedule.function_id)
            version = await self._functions.version_of(function, None)
            run = await self._runs.start(
                principal, function, version, schedule.variables, timeout_s=None, origin=SCHEDULE_ORIGIN
            )
        except BrowserfnError as exc:
            await self._store.settle_schedule_tick(
                schedule.schedule_id, tick.tick, TickOutcome.FAILED, None, exc.message
            )
            return dataclasses.replace(tick, outcome=TickOutcome.FAILED, reason=exc.message)
        await self._store.settle_schedule_tick(schedule.schedule_id, tick.tick, TickOutcome.STARTED, run.run_id, None)
        return dataclasses.replace(tick, outcome=TickOutcome.STARTED, run_id=run.run_id)
