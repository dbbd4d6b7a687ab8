"""Notte's prompt help for agents: `POST /prompts/improve` rewrites a task, `POST /prompts/nudge`
writes the message for a stuck agent (browserfn/agents/prompts.py). Both need the server's
language model: 501 without one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from browserfn.agents import prompts
from browserfn.api.access import requires
from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.browser.llm import Caller, require
from browserfn.models import Scope

#: What an agent's caller may ask: a run's key runs agents too.
router = APIRouter(prefix="/prompts", tags=["prompts"], dependencies=[requires(Scope.SESSIONS)])
MAX_PROMPT_CHARS = 20_000
Text = Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS)]


class ImprovePromptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: Text


class NudgePromptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: Text
    agent_messages: list[dict[str, JsonValue]] = Field(
        max_length=1000, description="The agent's conversation so far (chat messages: role, content)"
    )


@router.post("/improve")
async def improve_prompt(svc: ServicesDep, principal: PrincipalDep, body: ImprovePromptRequest) -> dict[str, Any]:
    """The task rewritten for an agent, with the values that change between runs as
    `{{placeholders}}`; `variables` names them."""
    layer = require(svc.sessions.llm, "improving a prompt")
    return await prompts.improve(layer, body.prompt, Caller(principal.account_id, principal.run_id))


@router.post("/nudge")
async def nudge_prompt(svc: ServicesDep, principal: PrincipalDep, body: NudgePromptRequest) -> dict[str, Any]:
    """The one message to send an agent that seems stuck on `task`, from its latest messages."""
    layer = require(svc.sessions.llm, "nudging an agent")
    caller = Caller(principal.account_id, principal.run_id)
    return await prompts.nudge(layer, body.task, body.agent_messages, caller)
