"""The browser pool's refill, with launches that finish when the test says (no Chromium)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from browserfn.browser.pool import BrowserPool


async def _settle() -> None:
    """Let every task and callback that is ready run."""
    for _ in range(5):
        await asyncio.sleep(0)


class _Chromium:
    def foreground(self) -> None:
        pass


class _Browser:
    alive = True
    chromium = _Chromium()

    async def close(self) -> None:
        pass


class _GatedPool(BrowserPool):
    """A pool whose every launch waits until the test finishes it."""

    def __init__(self, root: Path, size: int) -> None:
        super().__init__("chromium", root, size, launch_timeout_s=5.0)
        self.launches: list[asyncio.Future[None]] = []

    async def _start_driver(self) -> Any:
        return None

    async def launch(self, extra_flags: tuple[str, ...] = (), background: bool = False) -> Any:
        gate = asyncio.get_running_loop().create_future()
        self.launches.append(gate)
        await gate
        return _Browser()

    def in_flight(self) -> int:
        return sum(not gate.done() for gate in self.launches)

    async def finish_launches(self) -> None:
        for gate in self.launches:
            if not gate.done():
                gate.set_result(None)
        await _settle()


def test_each_browser_taken_is_replaced_at_once_even_while_another_launch_runs(tmp_path: Path) -> None:
    async def scenario() -> None:
        pool = _GatedPool(tmp_path / "browsers", size=2)
        await pool.start()
        await _settle()
        assert pool.in_flight() == 2
        await pool.finish_launches()
        await pool.acquire()
        await _settle()
        assert pool.in_flight() == 1
        await pool.acquire()
        await _settle()
        # The second browser taken is replaced at once too, beside the first one's replacement.
        assert (len(pool.launches), pool.in_flight()) == (4, 2)
        waiting = asyncio.create_task(pool.acquire())
        await _settle()
        assert not waiting.done() and len(pool.launches) == 4, "it waits for a launch under way, starts none"
        await pool.finish_launches()
        await waiting
        assert (len(pool.launches), pool.in_flight()) == (5, 1)
        await pool.close()
        assert pool.launches[-1].cancelled(), "closing the pool cancels the launch under way"

    asyncio.run(scenario())
