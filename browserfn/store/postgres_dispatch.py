"""Admission of queued runs into Procrastinate jobs, at most N running per account across
every worker. A run gets its job exactly when it takes a slot: in the transaction that queues
it if a slot is free, or in the one that ends a run of the same account (hand-off, oldest
first). A per-account advisory lock orders these transactions, so no two take the same slot."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import sqlalchemy as sa
from procrastinate.schema import SchemaManager

QUEUE = "browserfn_runs"
TASK_NAME = "browserfn.run"

Conn = psycopg.AsyncConnection[dict[str, Any]]


class Dispatcher:
    def __init__(self, account_concurrency: int) -> None:
        self.account_concurrency = account_concurrency

    def install_schema(self, connection: sa.Connection) -> None:
        """Procrastinate's tables and functions, installed once, beside ours (while migrating)."""
        if connection.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            connection.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]

    async def fill_slots(self, conn: Conn, account_id: str) -> list[str]:
        """Give free slots of the account to its oldest queued runs; returns the runs dispatched."""
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (account_id,))
        busy = await (
            await conn.execute(
                "SELECT COUNT(*) AS n FROM runs WHERE account_id = %s AND active"
                " AND (state = 'running' OR (state = 'queued' AND job_id IS NOT NULL))",
                (account_id,),
            )
        ).fetchone()
        free = self.account_concurrency - (busy["n"] if busy else 0)
        if free <= 0:
            return []
        waiting = await (
            await conn.execute(
                "SELECT run_id FROM runs WHERE account_id = %s AND state = 'queued' AND job_id IS NULL"
                " ORDER BY seq LIMIT %s FOR UPDATE",
                (account_id, free),
            )
        ).fetchall()
        for row in waiting:
            job = await (
                await conn.execute(
                    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(%s, %s, 0, NULL, NULL, %s::jsonb, NULL)"
                    "::procrastinate_job_to_defer_v1])) AS id",
                    (QUEUE, TASK_NAME, json.dumps({"run_id": row["run_id"]})),
                )
            ).fetchone()
            assert job is not None
            await conn.execute("UPDATE runs SET job_id = %s WHERE run_id = %s", (job["id"], row["run_id"]))
        return [row["run_id"] for row in waiting]
