"""Agents: written by the process running them (`owner_url`) when they start, after each step and
when they end; read by any server. Always filtered by account: another account's agent is not found."""

from __future__ import annotations

from typing import Any

from browserfn.agents.model import FAILED, Agent
from browserfn.models import utcnow
from browserfn.store.tx import Row, Tx, data, insert_sql, text, undata, untext, when, when_or_none

COLUMNS = ("agent_id", "account_id", "session_id", "run_id", "owner_url", "request", "model", "state", "active",
           "success", "answer", "reason", "start_url", "steps", "created_at", "closed_at")  # fmt: skip
INSERT = insert_sql("agents", COLUMNS)
_REQUEST = ("task", "url", "response_format", "max_steps", "session_offset", "vault_id", "persona_id")


def agent(row: Row) -> Agent:
    request: dict[str, Any] = undata(row["request"])
    found = Agent(
        agent_id=row["agent_id"],
        account_id=row["account_id"],
        session_id=row["session_id"],
        run_id=row["run_id"],
        model=row["model"],
        created_at=when(row["created_at"]),
        task=request["task"],
        url=request.get("url"),
        response_format=request.get("response_format"),
        max_steps=request["max_steps"],
        session_offset=request.get("session_offset"),
        vault_id=request.get("vault_id"),
        persona_id=request.get("persona_id"),
    )
    found.state = row["state"]
    found.success = None if row["success"] is None else bool(row["success"])
    found.answer, found.reason = untext(row["answer"]), untext(row["reason"])
    found.start_url, found.closed_at = row["start_url"], when_or_none(row["closed_at"])
    found.steps = undata(row["steps"])
    return found


def _values(a: Agent) -> dict[str, Any]:
    return {
        "state": a.state,
        "active": a.active,
        "success": a.success,
        "answer": text(a.answer),
        "reason": text(a.reason),
        "start_url": a.start_url,
        "steps": data(a.steps),
        "closed_at": a.closed_at,
    }


def create(tx: Tx, a: Agent, owner_url: str) -> None:
    request = {name: getattr(a, name) for name in _REQUEST}
    tx.run(INSERT, {
        "agent_id": a.agent_id, "account_id": a.account_id, "session_id": a.session_id, "run_id": a.run_id,
        "owner_url": owner_url, "request": data(request), "model": a.model, "created_at": a.created_at, **_values(a),
    })  # fmt: skip


def save(tx: Tx, a: Agent) -> None:
    """Its state and steps as they are now (an ended agent is not written again)."""
    tx.run(
        "UPDATE agents SET state = :state, active = :active, success = :success, answer = :answer,"
        " reason = :reason, start_url = :start_url, steps = :steps, closed_at = :closed_at"
        " WHERE agent_id = :id AND active",
        {**_values(a), "id": a.agent_id},
    )


def get(tx: Tx, account_id: str, agent_id: str) -> Agent | None:
    row = tx.one(
        "SELECT * FROM agents WHERE agent_id = :id AND account_id = :account", {"id": agent_id, "account": account_id}
    )
    return agent(row) if row is not None else None


def listing(tx: Tx, account_id: str, only_active: bool, offset: int, limit: int) -> list[Agent]:
    active = " AND active" if only_active else ""
    found = tx.all(
        f"SELECT * FROM agents WHERE account_id = :account{active} ORDER BY seq DESC LIMIT :limit OFFSET :offset",
        {"account": account_id, "limit": limit, "offset": offset},
    )
    return [agent(row) for row in found]


def end_owned(tx: Tx, owner_url: str, reason: str) -> int:
    """Agents a previous life of this process left running end failed, saying why."""
    return tx.run(
        "UPDATE agents SET state = :failed, active = :no, success = :no, answer = :reason, reason = :reason,"
        " closed_at = :now WHERE owner_url = :owner AND active",
        {"failed": FAILED, "no": False, "reason": text(reason), "now": utcnow(), "owner": owner_url},
    )


def owner(tx: Tx, agent_id: str) -> tuple[str, bool] | None:
    """(the process running it, whether it still runs) of any account's agent: for relaying a
    call to that process, which then checks the caller as any call."""
    row = tx.one("SELECT owner_url, active FROM agents WHERE agent_id = :id", {"id": agent_id})
    return (row["owner_url"], bool(row["active"])) if row is not None else None
