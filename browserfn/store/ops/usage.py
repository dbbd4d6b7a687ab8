"""Usage per account and period: runs and run seconds (from `runs`), browser sessions and
session minutes (from `sessions`), model tokens (from `model_calls`, one row per call to a
language model, written by the model layer). The usage log lists the same three, newest first."""

from __future__ import annotations

import dataclasses
import datetime as dt

from browserfn.store.tx import Tx, when

#: The usage log's names for what the tables hold (Notte's endpoint names).
RUN_ENDPOINT = "workflows.runs.start"
SESSION_ENDPOINT = "sessions.start"


@dataclasses.dataclass(frozen=True)
class UsageTotals:
    run_count: int
    run_seconds: float
    function_count: int  #: distinct functions run
    session_count: int
    session_minutes: float
    prompt_tokens: int
    completion_tokens: int


@dataclasses.dataclass(frozen=True)
class UsageEntry:
    endpoint: str
    created_at: dt.datetime
    duration_ms: int


#: The usage log's name for a model call, by its purpose (model_calls.purpose).
MODEL_ENDPOINTS = {
    "scrape": "page.scrape",
    "observe": "page.observe",
    "agent": "agents.start",
    "form_fill": "page.execute",
    "infer_response_format": "sessions.script",
}


def active_runs_by_state(tx: Tx) -> dict[str, int]:
    """Runs not ended, counted by state, the whole deployment (for metrics; the active index)."""
    return {
        row["state"]: int(row["n"])
        for row in tx.all("SELECT state, COUNT(*) AS n FROM runs WHERE active GROUP BY state")
    }


def _seconds(tx: Tx, start: str, end: str) -> str:
    """SQL for the seconds from `start` to `end` (time columns or parameters), per dialect."""
    if tx.dialect == "postgresql":
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def totals(tx: Tx, account_id: str, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> UsageTotals:
    """What `account_id` used in [start, end): things are counted in the period they began in;
    one still going counts up to `now`."""
    window = {"account": account_id, "start": start, "end": end, "now": now}
    in_window = "account_id = :account AND created_at >= :start AND created_at < :end"
    runs = tx.one(
        f"SELECT COUNT(*) AS n, COUNT(DISTINCT function_id) AS functions,"
        f" COALESCE(SUM({_seconds(tx, 'started_at', 'COALESCE(ended_at, :now)')}), 0) AS seconds"
        f" FROM runs WHERE {in_window}",
        window,
    )
    sessions = tx.one(
        f"SELECT COUNT(*) AS n, COALESCE(SUM({_seconds(tx, 'created_at', 'COALESCE(closed_at, :now)')}), 0) AS seconds"
        f" FROM sessions WHERE {in_window}",
        window,
    )
    tokens = tx.one(
        "SELECT COALESCE(SUM(tokens_in), 0) AS prompt, COALESCE(SUM(tokens_out), 0) AS completion"
        " FROM model_calls WHERE account_id = :account AND at >= :start AND at < :end",
        window,
    )
    assert runs is not None and sessions is not None and tokens is not None
    return UsageTotals(
        run_count=int(runs["n"]),
        run_seconds=round(float(runs["seconds"]), 3),
        function_count=int(runs["functions"]),
        session_count=int(sessions["n"]),
        session_minutes=round(float(sessions["seconds"]) / 60, 3),
        prompt_tokens=int(tokens["prompt"]),
        completion_tokens=int(tokens["completion"]),
    )


def entries(
    tx: Tx,
    account_id: str,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    endpoint: str | None,
    offset: int,
    limit: int,
) -> list[UsageEntry]:
    """The usage log of [start, end), newest first: runs, sessions and metered model calls."""
    window = "account_id = :account AND created_at >= :start AND created_at < :end"
    parts = [
        f"SELECT '{RUN_ENDPOINT}' AS endpoint, created_at,"
        f" COALESCE({_seconds(tx, 'started_at', 'COALESCE(ended_at, :now)')}, 0) * 1000 AS ms FROM runs WHERE {window}",
        f"SELECT '{SESSION_ENDPOINT}' AS endpoint, created_at,"
        f" {_seconds(tx, 'created_at', 'COALESCE(closed_at, :now)')} * 1000 AS ms FROM sessions WHERE {window}",
    ]
    endpoint_of = " ".join(f"WHEN '{purpose}' THEN '{name}'" for purpose, name in MODEL_ENDPOINTS.items())
    parts.append(
        f"SELECT CASE purpose {endpoint_of} ELSE purpose END AS endpoint, at AS created_at, duration_ms AS ms"
        " FROM model_calls WHERE account_id = :account AND at >= :start AND at < :end"
    )
    sql = " UNION ALL ".join(f"SELECT * FROM ({part}) AS p{i}" for i, part in enumerate(parts))
    params = {"account": account_id, "start": start, "end": end, "now": now, "limit": limit, "offset": offset}
    if endpoint is not None:
        sql = f"SELECT * FROM ({sql}) AS u WHERE endpoint = :endpoint"
        params["endpoint"] = endpoint
    rows = tx.all(f"{sql} ORDER BY created_at DESC LIMIT :limit OFFSET :offset", params)
    return [UsageEntry(row["endpoint"], when(row["created_at"]), max(0, round(float(row["ms"])))) for row in rows]
