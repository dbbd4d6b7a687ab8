"""RunJobs: what distributed execution needs from a store that is also its runs' job queue.

On PostgreSQL with distributed execution the store queues runs itself: a run gets its job in the
transaction that gives it one of its account's slots (postgres_dispatch.py). The executor runs
those jobs with a job engine connected to the same database (`dsn`), stops a run through its job,
and ends the runs of jobs whose worker died. `browserfn.store.job_queue` gives this view of the
store, or None when the store queues no jobs (SQLite: the embedded executor keeps the queue).
"""

from __future__ import annotations

from typing import Protocol

from browserfn.models import Run

#: The job engine's queue that holds run jobs, and the task each job runs (its one argument: the
#: run's id). The store defers jobs under these names; the executor's workers take them.
QUEUE = "browserfn_runs"
TASK_NAME = "browserfn.run"


class RunJobs(Protocol):
    @property
    def dsn(self) -> str:
        """The connection string of the database the jobs live in (the store's own)."""

    async def job_of(self, run_id: str) -> int | None:
        """The job executing this run, if it has one."""

    async def fill_free_slots(self) -> None:
        """Give every account's free slots to its waiting runs (a job each): what the end of a run
        does right after it commits, again, for an end whose process died between the two."""

    async def runs_of_jobs(self, job_ids: list[int]) -> list[Run]:
        """The active runs these jobs execute."""
