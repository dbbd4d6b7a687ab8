"""The Executor seam: what runs queued runs. The embedded engine is LocalExecutor; a distributed
engine implements the same four calls."""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable

from browserfn.models import Run

log = logging.getLogger(__name__)
#: Called with a run's id after it ended, whatever the way (browser sessions close on it), and
#: the run as it ended when the caller has it (None: the listener reads it if it needs it).
RunEndedListener = Callable[[str, Run | None], Awaitable[None]]


class Executor(abc.ABC):
    def __init__(self) -> None:
        self._ended_listeners: list[RunEndedListener] = []

    def on_run_ended(self, listener: RunEndedListener) -> None:
        self._ended_listeners.append(listener)

    async def _notify_ended(self, run_id: str, ended: Run | None = None) -> None:
        for listener in self._ended_listeners:
            try:
                await listener(run_id, ended)
            except Exception:  # a listener's failure must not stop the others or the engine
                log.exception("run-ended listener failed for %s", run_id)

    def unstored_end(self, run_id: str) -> str | None:
        """Why `run_id` ended, if it has ended here but its end cannot be stored yet (the storage
        fails; the executor keeps trying); None otherwise, or where the executor cannot tell."""
        return None

    @abc.abstractmethod
    async def start(self) -> None:
        """Begin executing; recover what a previous life left (running runs fail, queued ones run)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop every running run and release every process."""

    @abc.abstractmethod
    async def submit(self, run: Run) -> None:
        """Execute a run that the store holds as QUEUED, when the account has a free slot."""

    @abc.abstractmethod
    async def stop(self, run_id: str) -> bool:
        """Stop a queued or running run; its `result` event follows. False if it had ended."""
