"""The live tail of run event logs. The store holds the events; the bus only says "run X has new
events", so a reader wakes and reads them from the store. Losing a notification costs latency,
never an event: readers also re-check the store on a timeout."""

from __future__ import annotations

import abc
import asyncio
import contextlib


class EventBus(abc.ABC):
    async def start(self) -> None:  # noqa: B027 - optional hook: a single process has nothing to start
        """Begin receiving wake-ups from elsewhere."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Stop receiving."""

    @abc.abstractmethod
    def publish(self, run_id: str) -> None:
        """Wake everyone waiting on this run."""

    @abc.abstractmethod
    async def wait(self, run_id: str, timeout_s: float) -> None:
        """Return when `publish(run_id)` is called, or after `timeout_s`."""


class LocalEventBus(EventBus):
    """For one process: API and executor in the same event loop."""

    def __init__(self) -> None:
        self._waiters: dict[str, asyncio.Event] = {}

    def publish(self, run_id: str) -> None:
        event = self._waiters.pop(run_id, None)
        if event is not None:
            event.set()

    async def wait(self, run_id: str, timeout_s: float) -> None:
        # The event is dropped by the next publish on this run (every run ends with one).
        event = self._waiters.setdefault(run_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
