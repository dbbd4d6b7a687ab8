"""Admission of queued runs into Procrastinate jobs, at most N running per account across
every worker. A run gets its job when it takes a slot: in the transaction that queues it if a
slot is free, or in the one that follows the end of a run of the same account (hand-off,
oldest first). The account's lock (the one queue admission takes, ops/runs.py) orders these
transactions, so no two take the same slot.

Both go through one SQL function, `browserfn_fill_slots`, installed with Procrastinate's schema:
it takes the account's lock, then counts and fills the free slots in one statement, which sees
every transaction that held the lock before (so a run queued while an end was committing is
seen, or saw the slot free itself). The hand-off is that function called alone, right after the
end has committed: one statement that PostgreSQL runs as a transaction of its own, so the lock
is held for the server's work only, not for a run's end to be made durable, and when no run
waits it writes nothing and its commit does not wait for the disk. A process that dies between
a run's end and its hand-off leaves the slot free for the account's next queued run, end, or the
sweep every process makes with its reaper (`PostgresStore.fill_free_slots`)."""

from __future__ import annotations

import sqlalchemy as sa
from procrastinate.schema import SchemaManager

from browserfn.store.jobs import QUEUE, TASK_NAME
from browserfn.store.ops.runs import account_lock
from browserfn.store.postgres_db import PostgresTx
from browserfn.store.tx import Tx


class Dispatcher:
    def __init__(self, account_concurrency: int) -> None:
        self.account_concurrency = account_concurrency

    def install_schema(self, connection: sa.Connection) -> None:
        """Procrastinate's tables and functions, installed once, beside ours, and the slot filler,
        replaced at every start (while migrating, under the migration lock): the one this code
        calls is the one it brought."""
        driver = connection.connection.driver_connection
        if connection.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            driver.execute(SchemaManager.get_schema())  # type: ignore[union-attr]
        driver.execute(_FILL_SLOTS_FUNCTION)  # type: ignore[union-attr]

    def fill_slots(self, tx: Tx, account_id: str) -> None:
        """Give free slots of the account to its oldest queued runs, in one statement sent
        without waiting: in the caller's transaction (queue admission), or as a transaction of
        its own (`Database.alone`: the hand-off after a run's end)."""
        assert isinstance(tx, PostgresTx), "Procrastinate dispatch needs PostgreSQL"
        params = {
            "lock": account_lock(account_id),
            "account": account_id,
            "slots": self.account_concurrency,
            "queue": QUEUE,
            "task": TASK_NAME,
        }
        tx.send("SELECT browserfn_fill_slots(:lock, :account, :slots, :queue, :task)", params)


#: Under the account's lock (the key and hash `PostgresTx.lock` uses; a transaction that holds it
#: already takes it again at no cost), in a statement of its own, so that its snapshot sees every
#: run committed before: count the busy slots, pick the oldest waiting runs for the free ones,
#: defer one job per run and record it. The job's only argument is the run's id. Returns how many
#: runs got a job.
_FILL_SLOTS_FUNCTION = """
CREATE OR REPLACE FUNCTION browserfn_fill_slots(
    lock_key text, for_account text, slots integer, job_queue text, job_task text
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    filled integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(lock_key, 0));
    UPDATE runs SET job_id = (procrastinate_defer_jobs_v1(ARRAY[
        ROW(job_queue, job_task, 0, NULL, NULL, jsonb_build_object('run_id', runs.run_id), NULL)
            ::procrastinate_job_to_defer_v1
    ]))[1]
    FROM (
        SELECT run_id FROM runs
        WHERE account_id = for_account AND state = 'queued' AND job_id IS NULL
        ORDER BY seq
        LIMIT GREATEST(0, slots - (
            SELECT COUNT(*) FROM runs WHERE account_id = for_account AND active
            AND (state = 'running' OR (state = 'queued' AND job_id IS NOT NULL))
        ))
        FOR UPDATE
    ) AS waiting
    WHERE runs.run_id = waiting.run_id;
    GET DIAGNOSTICS filled = ROW_COUNT;
    RETURN filled;
END
$$
"""
