"""The record of every call to a language model, for usage: who made it (account, run, session,
agent), for what, on which model, tokens in and out, how long it took, whether it failed."""

from __future__ import annotations

from typing import Any

from browserfn.browser.llm import ModelCall
from browserfn.store.tx import Row, Tx, insert_sql, text, untext, when

COLUMNS = ("account_id", "run_id", "session_id", "agent_id", "purpose", "model", "tokens_in", "tokens_out",
           "duration_ms", "ok", "error", "at")  # fmt: skip
INSERT = insert_sql("model_calls", COLUMNS)


def call(row: Row) -> ModelCall:
    values: dict[str, Any] = {name: row[name] for name in COLUMNS}
    values.update(ok=bool(row["ok"]), error=untext(row["error"]), at=when(row["at"]))
    return ModelCall(**values)


def record(tx: Tx, c: ModelCall) -> None:
    tx.run(INSERT, {**{name: getattr(c, name) for name in COLUMNS}, "error": text(c.error)})


def of_account(
    tx: Tx, account_id: str, *, session_id: str | None = None, run_id: str | None = None, limit: int = 1000
) -> list[ModelCall]:
    """The account's calls, newest first; only a session's or a run's if given."""
    where, params = "account_id = :account", {"account": account_id, "limit": limit}
    if session_id is not None:
        where, params["session"] = f"{where} AND session_id = :session", session_id
    if run_id is not None:
        where, params["run"] = f"{where} AND run_id = :run", run_id
    found = tx.all(f"SELECT * FROM model_calls WHERE {where} ORDER BY seq DESC LIMIT :limit", params)
    return [call(row) for row in found]
