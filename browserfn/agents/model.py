"""An agent as browserfn keeps it: what it was asked, where it stands, the steps it took."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from browserfn.models import utcnow

#: Fine states; on the wire an agent is `active` (running) or `closed` (the rest).
RUNNING, SUCCEEDED, FAILED, STOPPED = "running", "succeeded", "failed", "stopped"


@dataclasses.dataclass
class Agent:
    agent_id: str
    account_id: str
    session_id: str
    run_id: str | None  #: the run whose key started it, if any
    task: str
    url: str | None
    response_format: dict[str, Any] | None
    model: str
    max_steps: int
    session_offset: int | None = None
    vault_id: str | None = None  #: the vault it fills credentials from (its persona's, or the session's)
    persona_id: str | None = None
    created_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    state: str = RUNNING
    success: bool | None = None
    answer: str | None = None
    reason: str | None = None  #: why it ended as it did, in words
    closed_at: dt.datetime | None = None
    start_url: str | None = None  #: the page it started on (the workflow code opens it first)
    steps: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state == RUNNING

    def finish(self, state: str, success: bool, answer: str, reason: str) -> bool:
        """End it (only once); False if it had already ended."""
        if not self.active:
            return False
        self.state, self.success, self.answer, self.reason = state, success, answer, reason
        self.closed_at = utcnow()
        return True

    def usage(self) -> dict[str, Any]:
        """What its model calls cost, in sum."""
        calls = [call for step in self.steps for call in step.get("llm_calls") or []]
        return {
            "llm_calls": len(calls),
            "tokens_in": sum(c["tokens_in"] for c in calls),
            "tokens_out": sum(c["tokens_out"] for c in calls),
            "models": sorted({c["model"] for c in calls}),
        }

    def response(self) -> dict[str, Any]:
        """Notte's AgentResponse."""
        return {
            "agent_id": self.agent_id,
            "created_at": self.created_at.isoformat(),
            "session_id": self.session_id,
            "status": "active" if self.active else "closed",
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "saved": False,
        }

    def status_response(self) -> dict[str, Any]:
        """Notte's AgentStatusResponse, with the fine state, the reason and the model usage beside."""
        return {
            **self.response(),
            "task": self.task,
            "url": self.url,
            "success": self.success,
            "answer": self.answer,
            "steps": self.steps,
            "state": self.state,
            "reason": self.reason,
            "reasoning_model": self.model,
            "vault_id": self.vault_id,
            "persona_id": self.persona_id,
            "max_steps": self.max_steps,
            "usage": self.usage(),
        }
