"""The live tail of run event logs. The store holds the events; the bus only says "run X has new
events", so a reader wakes and reads them from the store. Losing a notification costs latency,
never an event: readers also re-check the store on a timeout."""

from __future__ import annotations

import abc
import asyncio
import collections
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
        """Return when `publish(run_id)` is called, or after `timeout_s`; at once if it was
        called since the last wait on this run while nobody waited."""


class LocalEventBus(EventBus):
    """For one process: API and executor in the same event loop.

    A publish that finds nobody waiting is remembered (for the last `UNHEARD_KEPT` runs), and the
    next wait on that run returns at once: a reader that read the store just before the publish
    and waits just after it is not left waiting for its timeout."""

    #: How many runs' unheard publishes are remembered (the oldest is forgotten first).
    UNHEARD_KEPT = 1024

    def __init__(self) -> None:
        self._waiters: dict[str, asyncio.Event] = {}
        self._unheard: collections.OrderedDict[str, None] = collections.OrderedDict()

    def publish(self, run_id: str) -> None:
        event = self._waiters.pop(run_id, None)
        if event is not None:
            event.set()
            return
        self._unheard[run_id] = None
        self._unheard.move_to_end(run_id)
        if len(self._unheard) > self.UNHEARD_KEPT:
            self._unheard.popitem(last=False)

    async def wait(self, run_id: str, timeout_s: float) -> None:
        if run_id in self._unheard:
            del self._unheard[run_id]
            return
        # The event is dropped by the next publish on this run (every run ends with one).
        event = self._waiters.setdefault(run_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
