"""PostgreSQL with distributed execution: a queued run gets its job when it takes one of its
account's slots, at its queueing if one is free, else at the end of an earlier run (the hand-off,
one statement of its own through `browserfn_fill_slots`), oldest first; and a slot whose hand-off
never happened (its process died right after the end) is handed on by the reapers' sweep."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from browserfn.models import Run, RunState
from browserfn.store.postgres import PostgresStore
from browserfn.store.postgres_dispatch import Dispatcher
from tests.store.run_fixtures import new_run, stored_function

SLOTS = 2


@pytest.fixture
async def pg_store(pg_dsn: str) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(pg_dsn, Dispatcher(account_concurrency=SLOTS))
    await store.open()
    yield store
    await store.close()


async def _queued_runs(store: PostgresStore, count: int) -> list[Run]:
    function = await stored_function(store, "handoff")
    return [await store.create_run(new_run(function, RunState.QUEUED)) for _ in range(count)]


async def _with_jobs(store: PostgresStore, runs: list[Run]) -> list[bool]:
    return [await store.job_of(run.run_id) is not None for run in runs]


async def _end(store: PostgresStore, run: Run) -> None:
    await store.transition_run(run.run_id, [RunState.QUEUED], RunState.RUNNING, {})
    ended = await store.finish_run(
        run.run_id, RunState.SUCCEEDED, result_json="null", reason=None, result_message=lambda _: "done"
    )
    assert ended is not None


async def test_a_runs_end_hands_its_slot_to_the_oldest_waiting_run(pg_store: PostgresStore) -> None:
    runs = await _queued_runs(pg_store, 5)
    assert await _with_jobs(pg_store, runs) == [True, True, False, False, False]
    await _end(pg_store, runs[1])
    assert await _with_jobs(pg_store, runs) == [True, True, True, False, False]
    await _end(pg_store, runs[0])
    await _end(pg_store, runs[2])
    assert await _with_jobs(pg_store, runs) == [True, True, True, True, True]


async def test_a_slot_left_by_an_end_without_its_hand_off_goes_at_the_sweep(
    pg_store: PostgresStore, pg_dsn: str
) -> None:
    runs = await _queued_runs(pg_store, 3)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:  # the end committed; its process died
        conn.execute(
            "UPDATE runs SET state = 'failed', active = false, ended_at = now() WHERE run_id = %s",
            (runs[0].run_id,),
        )
    assert await _with_jobs(pg_store, runs) == [True, True, False]
    await pg_store.fill_free_slots()
    assert await _with_jobs(pg_store, runs) == [True, True, True]
