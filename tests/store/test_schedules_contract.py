"""The schedules side of the AutomationStore contract, one suite for every backend (see
store/automation.py): whole records, a tick claimed once however many race for it, overlap."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from browserfn.automation import Schedule, ScheduleTick, TickOutcome
from browserfn.models import RunState
from browserfn.store.base import Store
from browserfn.store.tx import stamp
from browserfn.tokens import new_id
from tests.store.test_contract import _function, _message, _run, _setup

T0 = dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC)
FRESH_S = 60.0  # a claim younger than this, not started yet, blocks the next tick


def _schedule(function_id: str, account_id: str, key_id: str, *, allow_overlap: bool = False) -> Schedule:
    made = dt.datetime(2026, 2, 1, 8, 30, 15, 250_000, tzinfo=dt.UTC)
    return Schedule(new_id(), function_id, account_id, key_id, "* * * * *", "UTC", {"n": 1}, allow_overlap, made, made)


def _tick(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _claimed(schedule: Schedule, minutes: int, by: str, got: ScheduleTick | None) -> ScheduleTick:
    """The record a fresh claim must be (its creation time is the store's)."""
    assert got is not None
    expected = ScheduleTick(
        schedule.schedule_id, schedule.function_id, _tick(minutes), TickOutcome.CLAIMED, None, None, by, got.created_at
    )
    assert got == expected
    assert abs((dt.datetime.now(dt.UTC) - got.created_at).total_seconds()) < 30
    return got


async def test_schedule_put_get_list_delete(store: Store) -> None:
    account_id, key_id, function = await _setup(store)
    schedule = _schedule(function.function_id, account_id, key_id)
    assert await store.put_schedule(schedule) == schedule
    assert await store.get_schedule(function.function_id) == schedule

    # Replacing keeps the schedule's id and creation time, and takes everything else.
    later = schedule.updated_at + dt.timedelta(hours=1)
    other_key = new_id()
    change = Schedule(
        new_id(), function.function_id, account_id, other_key, "*/5 * * * *", "Europe/Paris", {}, True, later, later
    )
    replaced = dataclasses.replace(
        schedule,
        key_id=other_key,
        cron="*/5 * * * *",
        timezone="Europe/Paris",
        variables={},
        allow_overlap=True,
        updated_at=later,
    )
    assert await store.put_schedule(change) == replaced
    assert await store.get_schedule(function.function_id) == replaced

    second_function, version = _function(account_id)
    await store.create_function(second_function, version)
    elsewhere = dataclasses.replace(
        _schedule(second_function.function_id, "another-account", key_id),
        created_at=schedule.created_at + dt.timedelta(minutes=1),
    )
    await store.put_schedule(elsewhere)
    assert await store.list_schedules(account_id) == [replaced]
    assert await store.list_schedules(None) == [replaced, elsewhere]

    assert await store.delete_schedule(function.function_id) is True
    assert await store.delete_schedule(function.function_id) is False
    assert await store.get_schedule(function.function_id) is None
    assert await store.list_schedules(None) == [elsewhere]


async def test_racing_claims_of_one_tick_make_one_record(store: Store) -> None:
    account_id, key_id, function = await _setup(store)
    schedule = await store.put_schedule(_schedule(function.function_id, account_id, key_id))
    racers = [f"scheduler-{i}" for i in range(8)]
    results = await asyncio.gather(*(store.claim_schedule_tick(schedule, _tick(0), r, FRESH_S) for r in racers))
    won = [r for r in results if r is not None]
    assert len(won) == 1
    winner = _claimed(schedule, 0, won[0].claimed_by, won[0])
    assert winner.claimed_by in racers
    # Later tries, even after the tick settled, still find it taken.
    await store.settle_schedule_tick(schedule.schedule_id, _tick(0), TickOutcome.FAILED, None, "queue full")
    assert await store.claim_schedule_tick(schedule, _tick(0), "late", FRESH_S) is None
    failed = dataclasses.replace(winner, outcome=TickOutcome.FAILED, reason="queue full")
    assert await store.list_schedule_ticks(function.function_id, 10) == [failed]


async def test_overlapping_ticks_are_skipped_with_the_reason(store: Store) -> None:
    account_id, key_id, function = await _setup(store)
    schedule = await store.put_schedule(_schedule(function.function_id, account_id, key_id))
    fid, sid = function.function_id, schedule.schedule_id

    first = _claimed(schedule, 0, "a", await store.claim_schedule_tick(schedule, _tick(0), "a", FRESH_S))
    # The first claim has not started its run yet, and is fresh: the next tick is skipped.
    starting = await store.claim_schedule_tick(schedule, _tick(1), "b", FRESH_S)
    assert starting is not None
    assert starting == dataclasses.replace(
        first,
        tick=_tick(1),
        outcome=TickOutcome.SKIPPED,
        reason=f"the run of the tick at {stamp(_tick(0))} is still being started",
        claimed_by="b",
        created_at=starting.created_at,
    )

    run = await store.create_run(_run(function, key_id))
    await store.settle_schedule_tick(sid, _tick(0), TickOutcome.STARTED, run.run_id, None)
    started = dataclasses.replace(first, outcome=TickOutcome.STARTED, run_id=run.run_id)
    active = await store.claim_schedule_tick(schedule, _tick(2), "a", FRESH_S)
    assert active is not None
    assert (active.outcome, active.reason) == (
        TickOutcome.SKIPPED,
        f"run {run.run_id} of the tick at {stamp(_tick(0))} is still active",
    )

    # The run ended: the next tick is free.
    await store.finish_run(run.run_id, RunState.SUCCEEDED, result_json="1", reason=None, result_message=_message)
    free = _claimed(schedule, 3, "b", await store.claim_schedule_tick(schedule, _tick(3), "b", FRESH_S))
    # A claim older than stale_claim_s that never started its run does not block.
    stale = _claimed(schedule, 4, "a", await store.claim_schedule_tick(schedule, _tick(4), "a", 0.0))
    assert await store.list_schedule_ticks(fid, 10) == [stale, free, active, starting, started]
    assert await store.list_schedule_ticks(fid, 2) == [stale, free]


async def test_allow_overlap_claims_every_tick(store: Store) -> None:
    account_id, key_id, function = await _setup(store)
    schedule = await store.put_schedule(_schedule(function.function_id, account_id, key_id, allow_overlap=True))
    run = await store.create_run(_run(function, key_id))
    _claimed(schedule, 0, "a", await store.claim_schedule_tick(schedule, _tick(0), "a", FRESH_S))
    await store.settle_schedule_tick(schedule.schedule_id, _tick(0), TickOutcome.STARTED, run.run_id, None)
    _claimed(schedule, 1, "a", await store.claim_schedule_tick(schedule, _tick(1), "a", FRESH_S))
    _claimed(schedule, 2, "a", await store.claim_schedule_tick(schedule, _tick(2), "a", FRESH_S))
