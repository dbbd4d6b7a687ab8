"""Notte's agents API: start an agent on a session, list, status with its steps, stop, the
workflow code of its steps, and the live log WebSocket the clients watch."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, field_validator

from browserfn import tokens
from browserfn.agents import notifier, workflow
from browserfn.api.access import requires
from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.api.openapi_doc import ERROR_SCHEMA
from browserfn.api.paging import offset, page_of
from browserfn.api.routes.functions import PageQuery, PageSizeQuery
from browserfn.browser.scrape import check_schema
from browserfn.errors import Forbidden, InvalidInput
from browserfn.models import Scope

#: A run's key may run agents on the sessions it sees (Notte's function scripts do).
router = APIRouter(prefix="/agents", tags=["agents"], dependencies=[requires(Scope.SESSIONS)])
#: WebSocket close code when the token or the agent is not the caller's.
REFUSED = 4401


#: An id the store can look up (it refuses the NUL character).
NO_NUL = r"^[^\x00]+$"


class StartAgentRequest(BaseModel):
    """Notte's AgentStartRequest (both clients' fields); unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(min_length=1, pattern=NO_NUL)
    task: str = Field(min_length=1, max_length=20_000)
    url: str | None = Field(default=None, pattern=r"^https?://")
    response_format: dict[str, Any] | None = None
    session_offset: int | None = Field(default=None, ge=0)
    reasoning_model: str | None = None
    #: Accepted, no effect: the agent reads the page as text (its actions and Markdown), not screenshots.
    use_vision: bool = True
    max_steps: int = Field(default=20, ge=1, le=150)
    #: The vault whose credentials the agent may type (the model sees placeholders, never a secret).
    vault_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    #: The persona the agent acts for (its identity; its inbox through `email_read`; its vault).
    persona_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    #: Notte's e-mail notifier, sent the agent's report when it ends; other types are refused.
    notifier_config: notifier.EmailNotifier | None = None

    @field_validator("response_format")
    @classmethod
    def _schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_schema(value)

    @field_validator("notifier_config", mode="before")
    @classmethod
    def _notifier_type(cls, value: Any) -> Any:
        return notifier.check_type(value)


#: The body names a session, and maybe a vault and a persona: each may be unknown or another account's.
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "The session, vault or persona is not found, or another account's",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}},
    }
}


@router.post("/start", responses=_NOT_FOUND)
async def start_agent(svc: ServicesDep, principal: PrincipalDep, body: StartAgentRequest) -> dict[str, Any]:
    """Start an agent on one of the caller's open sessions; it runs until it completes."""
    if (body.vault_id or body.persona_id) and Scope.BROWSER_DATA not in principal.scopes:
        raise Forbidden("vault_id, persona_id: a run of another account's shared function cannot use this account's")
    agent = await svc.agents.start(principal, body.model_dump(exclude={"notifier_config"}), body.notifier_config)
    return agent.response()


@router.get("", dependencies=[requires(Scope.LIST_SESSIONS)])
@router.get("/", include_in_schema=False, dependencies=[requires(Scope.LIST_SESSIONS)])
async def list_agents(
    svc: ServicesDep,
    principal: PrincipalDep,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 10,
    only_active: Annotated[bool, Query(description="Only agents still running")] = False,
    only_saved: Annotated[bool, Query(description="Only agents saved as workflows (none here)")] = False,
) -> dict[str, Any]:
    """The caller's agents, newest first."""
    found = [] if only_saved else await svc.agents.list(principal, only_active, offset(page, page_size), page_size + 1)
    return page_of(found, page, page_size, lambda agent: agent.response())


@router.get("/{agent_id}")
async def get_agent(svc: ServicesDep, principal: PrincipalDep, agent_id: str) -> dict[str, Any]:
    """Status, answer and every step so far."""
    return (await svc.agents.get(principal, agent_id)).status_response()


@router.delete("/{agent_id}/stop")
async def stop_agent(
    svc: ServicesDep, principal: PrincipalDep, agent_id: str, session_id: str | None = None
) -> dict[str, Any]:
    """Stop the agent (its session stays open)."""
    agent = await svc.agents.get(principal, agent_id)
    if session_id is not None and session_id != agent.session_id:
        raise InvalidInput(f"agent {agent_id} runs on session {agent.session_id}, not {session_id}")
    return (await svc.agents.stop(principal, agent_id)).status_response()


@router.get("/{agent_id}/workflow/code")
async def workflow_code(
    svc: ServicesDep, principal: PrincipalDep, agent_id: str, as_workflow: bool = False
) -> dict[str, Any]:
    """The agent's steps as plain actions (and a Python script of them) that replay with no model."""
    agent = await svc.agents.get(principal, agent_id)
    return {"python_script": workflow.python_script(agent, as_workflow), "json_actions": workflow.json_actions(agent)}


@router.websocket("/{agent_id}/debug/logs")
async def agent_logs(websocket: WebSocket, agent_id: str, token: str = "", session_id: str = "") -> None:
    """Each step as it is taken, then the final AgentStatusResponse (which ends the TypeScript
    client's wait). The token is the caller's API key. (The Python client 1.9.x follows an agent
    by polling its status: it only opens this socket with a log token from the session's debug
    answer, which this server does not give.)"""
    svc = websocket.app.state.services
    principal = await svc.store.find_principal(tokens.hash_secret(token)) if token else None
    agent = await svc.agents.find(principal, agent_id) if principal is not None else None
    if agent is None or (session_id and session_id != agent.session_id):
        await websocket.close(code=REFUSED)
        return
    await websocket.accept()
    queue = svc.agents.watch(agent)
    try:
        for step in list(agent.steps):
            await websocket.send_json(step)
        sent = len(agent.steps)
        while (step := await queue.get()) is not None:
            if agent.steps.index(step) >= sent:
                await websocket.send_json(step)
        await websocket.send_json(agent.status_response())
        await websocket.close()
    except (WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
        pass
    finally:
        svc.agents.unwatch(agent, queue)
        with contextlib.suppress(Exception):
            await websocket.close()
