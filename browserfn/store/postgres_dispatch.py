"""Admission of queued runs into Procrastinate jobs, at most N running per account across
every worker. A run gets its job exactly when it takes a slot: in the transaction that queues
it if a slot is free, or in the one that ends a run of the same account (hand-off, oldest
first). The account's lock (the one queue admission takes, ops/runs.py) orders these
transactions, so no two take the same slot."""

from __future__ import annotations

import json

import sqlalchemy as sa
from procrastinate.schema import SchemaManager

from browserfn.store.postgres_db import PostgresTx
from browserfn.store.tx import Tx

QUEUE = "browserfn_runs"
TASK_NAME = "browserfn.run"


class Dispatcher:
    def __init__(self, account_concurrency: int) -> None:
        self.account_concurrency = account_concurrency

    def install_schema(self, connection: sa.Connection) -> None:
        """Procrastinate's tables and functions, installed once, beside ours (while migrating)."""
        if connection.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            connection.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]

    def fill_slots(self, tx: Tx, account_id: str) -> list[str]:
        """Give free slots of the account to its oldest queued runs; returns the runs dispatched."""
        assert isinstance(tx, PostgresTx), "Procrastinate dispatch needs PostgreSQL"
        tx.lock("runs-of:" + account_id)
        busy = tx.value(
            "SELECT COUNT(*) FROM runs WHERE account_id = :account AND active"
            " AND (state = 'running' OR (state = 'queued' AND job_id IS NOT NULL))",
            {"account": account_id},
        )
        free = self.account_concurrency - busy
        if free <= 0:
            return []
        waiting = tx.all(
            "SELECT run_id FROM runs WHERE account_id = :account AND state = 'queued' AND job_id IS NULL"
            " ORDER BY seq LIMIT :free FOR UPDATE",
            {"account": account_id, "free": free},
        )
        for row in waiting:
            job = tx.conn.execute(
                "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(%s, %s, 0, NULL, NULL, %s::jsonb, NULL)"
                "::procrastinate_job_to_defer_v1])) AS id",
                (QUEUE, TASK_NAME, json.dumps({"run_id": row["run_id"]})),
            ).fetchone()
            assert job is not None
            tx.run("UPDATE runs SET job_id = :job WHERE run_id = :run", {"job": job["id"], "run": row["run_id"]})
        return [row["run_id"] for row in waiting]
