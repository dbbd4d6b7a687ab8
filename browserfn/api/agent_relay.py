"""Any server answers for any agent, as for sessions (api/relay.py): an agent runs in the process
hosting its session, so `POST /agents/start` for a session hosted elsewhere, and a stop or the
log WebSocket of an agent running elsewhere, are relayed to that process. Status, listing and
workflow code are answered from the store by whichever server is asked."""

from __future__ import annotations

import json
import re

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from browserfn.api.deps import RELAYED_FOR_HEADER, Services
from browserfn.api.guards import replaying
from browserfn.api.relay import forward, path_and_query
from browserfn.browser import cdp_proxy
from browserfn.store.ops import agents
from browserfn.store.tx import Unstorable

_AGENT_CALL = re.compile(r"^/agents/(?P<agent_id>[^/]+)/(?P<call>stop|debug/logs)$")


class AgentRelay:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        relayed = RELAYED_FOR_HEADER.encode() in dict(scope.get("headers", ()))
        if scope["type"] not in ("http", "websocket") or relayed or not scope["path"].startswith("/agents/"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == "/agents/start" and scope["method"] == "POST":
            body, receive = await _read_body(receive)
            owner = await self._session_owner(body)
        else:
            owner = await self._agent_owner(scope)
        if owner is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            base_url = self.services.settings.base_url
            answer = await forward(Request(scope, receive), owner, base_url, "the agent's session")
            await answer(scope, receive, send)
        else:
            await cdp_proxy.pipe(
                WebSocket(scope, receive, send), "ws" + owner.removeprefix("http") + path_and_query(scope)
            )

    def _elsewhere(self, owner_url: str | None, hosted_here: bool) -> str | None:
        return owner_url if owner_url and not hosted_here and owner_url != self.services.sessions.owner_url else None

    async def _session_owner(self, body: bytes) -> str | None:
        """Where the session an agent is to start on lives, if another process (the start is then
        relayed there); None to answer here (including every malformed request)."""
        try:
            session_id = json.loads(body).get("session_id")
        except (ValueError, AttributeError):
            return None
        if not isinstance(session_id, str) or self.services.sessions.hosted(session_id) is not None:
            return None
        try:
            record = await self.services.store.get_session(session_id)
        except Unstorable:  # an id no session can have: answered here, by the route's own checks
            return None
        return self._elsewhere(record.owner_url, False) if record is not None and record.active else None

    async def _agent_owner(self, scope: Scope) -> str | None:
        match = _AGENT_CALL.match(scope["path"])
        if match is None:
            return None
        try:
            found = await self.services.store.call(agents.owner, match["agent_id"])
        except Unstorable:
            return None
        if found is None or not found[1]:  # unknown or ended: answered here, from the store
            return None
        return self._elsewhere(found[0], self.services.agents.running_here(match["agent_id"]))


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a `receive` that gives it again (then the original's messages)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, replaying(body, receive)
