"""Admission of queued runs into Procrastinate jobs, at most N running per account across
every worker. A run gets its job when it takes a slot: in the transaction that queues it if a
slot is free, or in the one that follows the end of a run of the same account (hand-off,
oldest first). The account's lock (the one queue admission takes, ops/runs.py) orders these
transactions, so no two take the same slot.

The hand-off is a transaction of its own, right after the end has committed: lock, then one
statement that counts and fills the free slots (it sees every transaction that held the lock
before, so a run queued while the end was committing is seen, or saw the slot free itself).
It is sent in one round trip, and when no run waits it writes nothing, so its commit does not
wait for the disk: the lock is held for the server's work alone, not for a run's end to be
made durable. A process that dies between a run's end and its hand-off leaves the slot free
for the account's next queued run, end, or the sweep every process makes with its reaper
(`PostgresStore.fill_free_slots`)."""

from __future__ import annotations

import sqlalchemy as sa
from procrastinate.schema import SchemaManager

from browserfn.store.jobs import QUEUE, TASK_NAME
from browserfn.store.postgres_db import PostgresTx
from browserfn.store.tx import Tx


class Dispatcher:
    def __init__(self, account_concurrency: int) -> None:
        self.account_concurrency = account_concurrency

    def install_schema(self, connection: sa.Connection) -> None:
        """Procrastinate's tables and functions, installed once, beside ours (while migrating)."""
        if connection.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            connection.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]

    def fill_slots(self, tx: Tx, account_id: str) -> None:
        """Give free slots of the account to its oldest queued runs, in one statement sent
        without waiting (the caller's transaction goes on, or commits, behind it)."""
        assert isinstance(tx, PostgresTx), "Procrastinate dispatch needs PostgreSQL"
        tx.lock("runs-of:" + account_id)
        slots = self.account_concurrency
        tx.send(_FILL_SLOTS, {"account": account_id, "slots": slots, "queue": QUEUE, "task": TASK_NAME})


#: Under the account's lock (taken by the statement before, so this one's snapshot sees every
#: run committed before it): count the busy slots, pick the oldest waiting runs for the free
#: ones, defer one job per run and record it. The job's only argument is the run's id.
_FILL_SLOTS = """
UPDATE runs SET job_id = (procrastinate_defer_jobs_v1(ARRAY[
    ROW(:queue, :task, 0, NULL, NULL, jsonb_build_object('run_id', runs.run_id), NULL)::procrastinate_job_to_defer_v1
]))[1]
FROM (
    SELECT run_id FROM runs
    WHERE account_id = :account AND state = 'queued' AND job_id IS NULL
    ORDER BY seq
    LIMIT GREATEST(0, :slots - (
        SELECT COUNT(*) FROM runs WHERE account_id = :account AND active
        AND (state = 'running' OR (state = 'queued' AND job_id IS NOT NULL))
    ))
    FOR UPDATE
) AS waiting
WHERE runs.run_id = waiting.run_id
"""
