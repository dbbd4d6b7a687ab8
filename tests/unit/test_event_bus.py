"""LocalEventBus: a wait wakes on its run's publish, and a publish nobody heard is not lost on the
next wait (a reader reads the store, the run's publish comes, then the reader waits)."""

from __future__ import annotations

import asyncio
import time

from browserfn.bus import LocalEventBus


async def test_a_wait_wakes_on_its_runs_publish_only() -> None:
    bus = LocalEventBus()
    waiting = asyncio.create_task(bus.wait("run-a", 30))
    await asyncio.sleep(0.05)
    bus.publish("run-b")
    await asyncio.sleep(0.05)
    assert not waiting.done()
    bus.publish("run-a")
    await asyncio.wait_for(waiting, 5)


async def test_a_publish_before_the_wait_ends_that_wait_at_once_and_only_that_one() -> None:
    bus = LocalEventBus()
    bus.publish("run-a")
    started = time.monotonic()
    await bus.wait("run-a", 30)
    assert time.monotonic() - started < 5
    started = time.monotonic()
    await bus.wait("run-a", 0.2)  # heard already: this one waits for its timeout
    assert time.monotonic() - started >= 0.19


async def test_unheard_publishes_are_kept_for_the_latest_runs_only() -> None:
    bus = LocalEventBus()
    for n in range(LocalEventBus.UNHEARD_KEPT):  # as many as are kept
        bus.publish(f"run-{n}")
    bus.publish("run-0")  # published again: now the latest, no longer the oldest
    bus.publish("run-extra")  # forgets the oldest: run-1
    started = time.monotonic()
    await bus.wait("run-1", 0.2)
    assert time.monotonic() - started >= 0.19
    for kept in ("run-0", "run-2", f"run-{LocalEventBus.UNHEARD_KEPT - 1}", "run-extra"):
        started = time.monotonic()
        await bus.wait(kept, 30)
        assert time.monotonic() - started < 5
