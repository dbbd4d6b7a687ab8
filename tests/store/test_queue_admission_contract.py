"""Queue admission is one atomic step (issue 16 point 8): the count of an account's queued runs
and the insert of a new one happen under the account's lock, so a simultaneous burst never queues
more than the limit, on either backend, whether runs are created queued or moved into the queue."""

from __future__ import annotations

import asyncio

import pytest

from browserfn.models import Run, RunState
from browserfn.store.base import Store
from browserfn.store.ops.runs import QueueFull
from tests.store.run_fixtures import new_run, stored_function

LIMIT = 12
BURST = 40


async def _outcomes(calls: list) -> tuple[int, int]:  # type: ignore[type-arg]
    results = await asyncio.gather(*calls, return_exceptions=True)
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, QueueFull)]
    assert not unexpected, unexpected
    admitted = sum(1 for r in results if isinstance(r, Run))
    return admitted, sum(1 for r in results if isinstance(r, QueueFull))


async def test_a_burst_of_queued_runs_never_passes_the_limit(store: Store) -> None:
    function = await stored_function(store, "bursty")
    calls = [store.create_run(new_run(function, RunState.QUEUED), queue_limit=LIMIT) for _ in range(BURST)]
    assert await _outcomes(calls) == (LIMIT, BURST - LIMIT)
    assert await store.count_runs(function.account_id, [RunState.QUEUED]) == LIMIT
    with pytest.raises(QueueFull) as refused:
        await store.create_run(new_run(function, RunState.QUEUED), queue_limit=LIMIT)
    assert refused.value.queued == LIMIT and refused.value.status_code == 429


async def test_a_burst_of_starts_of_created_runs_never_passes_the_limit(store: Store) -> None:
    function = await stored_function(store, "starter")
    created = [await store.create_run(new_run(function, RunState.CREATED)) for _ in range(BURST)]
    calls = [
        store.transition_run(r.run_id, [RunState.CREATED], RunState.QUEUED, {}, queue_limit=LIMIT) for r in created
    ]
    assert await _outcomes(calls) == (LIMIT, BURST - LIMIT)
    assert await store.count_runs(function.account_id, [RunState.QUEUED]) == LIMIT
    assert await store.count_runs(function.account_id, [RunState.CREATED]) == BURST - LIMIT


async def test_the_limit_is_per_account(store: Store) -> None:
    full, other = await stored_function(store, "full"), await stored_function(store, "other")
    for _ in range(LIMIT):
        await store.create_run(new_run(full, RunState.QUEUED), queue_limit=LIMIT)
    assert (await store.create_run(new_run(other, RunState.QUEUED), queue_limit=LIMIT)).state is RunState.QUEUED
    with pytest.raises(QueueFull):
        await store.create_run(new_run(full, RunState.QUEUED), queue_limit=LIMIT)
