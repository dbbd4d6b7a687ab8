"""The Executor seam: what runs queued runs. The embedded engine is LocalExecutor; a distributed
engine implements the same four calls."""

from __future__ import annotations

import abc

from browserfn.models import Run


class Executor(abc.ABC):
    @abc.abstractmethod
    async def start(self) -> None:
        """Begin executing; recover what a previous life left (running runs fail, queued ones run)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop every running run and release every process."""

    @abc.abstractmethod
    async def admit(self, account_id: str) -> None:
        """Raise TooManyRequests if the account's queue is full. Called before a run is queued."""

    @abc.abstractmethod
    async def submit(self, run: Run) -> None:
        """Execute a run that the store holds as QUEUED, when the account has a free slot."""

    @abc.abstractmethod
    async def stop(self, run_id: str) -> bool:
        """Stop a queued or running run; its `result` event follows. False if it had ended."""
