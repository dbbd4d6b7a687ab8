"""Browsers launched ahead of demand take only spare CPU (SCHED_IDLE) while another stands ready;
a session's browser, and a launch the next session will wait for, run at the normal policy: real
Chromium, real pool, the scheduling policy read from the kernel."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from browserfn.browser.pool import BrowserPool, PooledBrowser
from browserfn.sandbox import proctree

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changing a policy back to normal takes root")

SCHED_IDLE = 5


def _policies(browser: PooledBrowser) -> set[int]:
    """The scheduling policies of every thread of the browser's processes."""
    found = set()
    for pid in [browser.chromium.pid, *proctree.descendants(browser.chromium.pid)]:
        for thread in os.listdir(f"/proc/{pid}/task"):
            try:
                found.add(os.sched_getscheduler(int(thread)))
            except OSError:
                continue  # ended meanwhile
    return found


async def _until_ready(pool: BrowserPool, count: int) -> None:
    for _ in range(300):
        if len(pool._ready) >= count and not pool._launching:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the pool did not fill")


def test_background_launches_are_idle_and_a_taken_browser_is_normal(tmp_path: Path) -> None:
    async def scenario() -> None:
        pool = BrowserPool("/usr/bin/chromium", tmp_path / "browsers", 2, 20.0)
        await pool.start()
        try:
            await _until_ready(pool, 2)
            # Nobody had a browser to fall back on: both first launches ran normally.
            assert [_policies(b) for b in pool._ready] == [{os.SCHED_OTHER}] * 2
            first = await pool.acquire()
            await _until_ready(pool, 2)
            replacement = pool._ready[-1]  # launched while one browser was left ready
            assert SCHED_IDLE in _policies(replacement) and os.SCHED_OTHER not in _policies(replacement)
            taken = [await pool.acquire() for _ in range(2)]
            assert replacement in taken and _policies(replacement) == {os.SCHED_OTHER}
            # The second take left no ready browser: the launch in the background (started by the
            # first) became urgent, and was brought to the foreground before it was up.
            await _until_ready(pool, 2)
            assert [_policies(b) for b in pool._ready] == [{os.SCHED_OTHER}] * 2
            for browser in [first, *taken]:
                await browser.close()
        finally:
            await pool.close()

    asyncio.run(scenario())
