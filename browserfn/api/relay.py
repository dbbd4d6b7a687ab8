"""Any server answers for any session: a call under `/sessions/{id}/` for a session whose browser
lives in another process (its `owner_url` in the store) is relayed there before routing, with the
caller's headers, and the owner's answer goes back unchanged. The owner authenticates it as any
call; the links it gives are on this server's base URL (RELAYED_FOR_HEADER), so a client that
only reaches this server still reaches the session. The CDP WebSocket is relayed frame by frame.

Relayed: every call on an open session hosted elsewhere, and calls on a closed one answered
from its host's disk (replay, files, network logs, workflow code: HOST_DATA_CALLS). The rest
(status, listing, closed sessions) is answered here from the store. An owner that does not
answer is a 503 saying so; its heartbeat stops too, and whoever sweeps next ends its sessions (browser/sessions.py).
"""

from __future__ import annotations

import logging
import re

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from browserfn.api.deps import RELAYED_FOR_HEADER, Services
from browserfn.api.errors import error_response
from browserfn.browser import cdp_proxy
from browserfn.errors import BrowserfnError
from browserfn.models import SessionRecord

log = logging.getLogger(__name__)
_SESSION_CALL = re.compile(r"^/sessions/(?P<session_id>[^/]+)/(?P<call>[^/]+)")
#: The legacy storage routes of a session's downloads (routes/storage.py): its files, relayed as such.
_STORAGE_CALL = re.compile(r"^/storage/(?P<session_id>(?!uploads/)[^/]+)/(?P<call>downloads)(/|$)")
#: Calls answered from what a session left on its host's disk, relayed there after it closed too.
HOST_DATA_CALLS = frozenset({"replay", "files", "network", "workflow", "downloads"})
#: Headers that describe one hop, not the request (RFC 9110 section 7.6.1), and those httpx sets itself.
_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length"}
)
CONNECT_TIMEOUT_S = 5.0
#: Longest a relayed call may take (page actions wait for pages and selectors).
ANSWER_TIMEOUT_S = 180.0


class SessionRelay:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        owner = await self._owner(scope) if scope["type"] in ("http", "websocket") else None
        if owner is None:
            await self.app(scope, receive, send)
        elif isinstance(owner, Response):
            await owner(scope, receive, send)
        elif scope["type"] == "http":
            answer = await self._relay_http(Request(scope, receive), owner)
            await answer(scope, receive, send)
        else:
            websocket = WebSocket(scope, receive, send)
            await cdp_proxy.pipe(websocket, "ws" + owner.owner_url.removeprefix("http") + _path_and_query(scope))

    async def _owner(self, scope: Scope) -> SessionRecord | Response | None:
        """The session's record if the call goes to another process; an error answer if the store
        cannot say; None to answer here."""
        match = _SESSION_CALL.match(scope["path"]) or _STORAGE_CALL.match(scope["path"])
        headers = dict(scope.get("headers", ()))
        if match is None or RELAYED_FOR_HEADER.encode() in headers:  # relayed once: never again
            return None
        session_id = match["session_id"]
        if self.services.sessions.hosted(session_id) is not None:
            return None
        try:
            record = await self.services.store.get_session(session_id)
        except BrowserfnError as exc:
            return error_response(exc.status_code, exc.message)
        if record is None or record.owner_url == self.services.sessions.owner_url:
            return None
        return record if record.active or match["call"] in HOST_DATA_CALLS else None

    async def _relay_http(self, request: Request, owner: SessionRecord) -> Response:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS]
        headers.append((RELAYED_FOR_HEADER, self.services.settings.base_url))
        timeout = httpx.Timeout(ANSWER_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                answer = await client.request(
                    request.method,
                    owner.owner_url + _path_and_query(request.scope),
                    headers=headers,
                    content=await request.body(),
                )
        except httpx.TimeoutException as exc:
            if not isinstance(exc, httpx.ConnectTimeout):
                return error_response(
                    504, f"the server hosting session {owner.session_id} did not answer within {ANSWER_TIMEOUT_S:g} s"
                )
            return _unreachable(owner, exc)
        except httpx.TransportError as exc:
            return _unreachable(owner, exc)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS | {"content-encoding"}}
        return Response(answer.content, status_code=answer.status_code, headers=kept)


def _unreachable(owner: SessionRecord, exc: Exception) -> Response:
    log.warning("session %s: its host %s does not answer: %r", owner.session_id, owner.owner_url, exc)
    return error_response(
        503,
        f"the server hosting session {owner.session_id} does not answer (it stopped or is cut off); "
        "the session will be ended as an error",
    )


def _path_and_query(scope: Scope) -> str:
    path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return (path + (b"?" + query if query else b"")).decode("latin-1")
