"""PostgresStore: the scale-out backend (postgres_db.py). Several API servers and workers share
it. Beyond the Store contract, in the same transactions as the writes they follow:
- a run's events wake its readers in every process (`tx.notify` in ops/runs.py);
- with `dispatch` set it is the queue: a run gets its Procrastinate job exactly when it takes
  one of its account's concurrency slots (postgres_dispatch.py)."""

from __future__ import annotations

from browserfn.models import Run
from browserfn.store.ops import runs
from browserfn.store.postgres_db import DatabaseUnavailable, PostgresDatabase
from browserfn.store.postgres_dispatch import Dispatcher
from browserfn.store.sql_store import SQLStore

__all__ = ["DatabaseUnavailable", "PostgresStore"]


class PostgresStore(SQLStore):
    def __init__(self, dsn: str, dispatch: Dispatcher | None = None, pool_size: int = 10) -> None:
        self.dsn = dsn
        install = dispatch.install_schema if dispatch is not None else None
        super().__init__(PostgresDatabase(dsn, pool_size, install), dispatch.fill_slots if dispatch else None)
        self._dispatcher = dispatch

    # -- distributed execution --------------------------------------------------------------------
    async def job_of(self, run_id: str) -> int | None:
        """The Procrastinate job executing this run, if it has one."""
        return await self.read(runs.job_of, run_id)

    async def fill_free_slots(self) -> None:
        """Give every account's free slots to its waiting runs: what the end of a run does right
        after it commits, again, for an end whose process died between the two."""
        if self._dispatcher is None:
            return
        for account_id in await self.read(runs.accounts_waiting):
            await self.db.alone(self._dispatcher.fill_slots, account_id)

    async def runs_of_jobs(self, job_ids: list[int]) -> list[Run]:
        return await self.read(runs.of_jobs, job_ids)
