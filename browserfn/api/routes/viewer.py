"""The live viewer behind a session's `viewer_url` (and `debug_url`): a self-contained page and its
WebSocket, both opened by a signed link, no API key (see browser/viewer.py). A viewer of a session
hosted by another server is relayed there like any session call (api/relay.py)."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.responses import FileResponse
from starlette.websockets import WebSocketDisconnect

from browserfn.api.deps import ServicesDep
from browserfn.browser import cdp_proxy, viewer
from browserfn.concurrency import until_first_ends
from browserfn.errors import NotFound

router = APIRouter(prefix="/sessions", tags=["sessions"])
PAGE = Path(__file__).resolve().parents[2] / "browser" / "viewer.html"
#: The page loads nothing from elsewhere and may be framed only by this server's own pages (the console).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'self'",
}
#: Largest input message a viewer may send.
MAX_INPUT_BYTES = 16 * 1024


@router.get("/{session_id}/viewer", response_class=FileResponse)
async def viewer_page(svc: ServicesDep, session_id: str, expires: int = 0, signature: str = "") -> FileResponse:
    """The viewer page of a session (the link's signature is the credential)."""
    if not viewer.valid(svc.sessions.cdp_token(session_id), session_id, expires, signature, time.time()):
        raise NotFound(f"no viewer for session {session_id} (the link is wrong or expired)")
    return FileResponse(PAGE, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.websocket("/{session_id}/viewer/ws")
async def viewer_socket(
    websocket: WebSocket, session_id: str, expires: int = 0, signature: str = "", raw: bool = False
) -> None:
    """Frames of the session's current tab: JSON `{"type": "frame", "data": <base64 JPEG>,
    "metadata": {...}}` (with `raw=1`: the JPEG bytes alone, as Notte's recording socket); input
    back as JSON when the operator allows it (`viewer_input`)."""
    services = websocket.app.state.services
    sessions = services.sessions
    allowed = viewer.valid(sessions.cdp_token(session_id), session_id, expires, signature, time.time())
    if not allowed:
        await websocket.close(code=cdp_proxy.REFUSED)
        return
    await websocket.accept()
    session = sessions.hosted(session_id)
    if session is None or not session.active:  # closed (a session hosted elsewhere was relayed there)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.send_text(json.dumps({"type": "closed"}))
            await websocket.close()
        return
    takes_input = bool(services.settings.viewer_input) and not raw

    async def send_frame(data: bytes, metadata: dict[str, Any]) -> None:
        if raw:
            await websocket.send_bytes(data)
        else:
            await websocket.send_text(json.dumps({"type": "frame", "data": _b64(data), "metadata": metadata}))

    if not raw:
        await websocket.send_text(json.dumps({"type": "hello", "input": takes_input}))
    stream = viewer.ViewerStream(session, send_frame)

    async def receive() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await websocket.receive_text()
                if takes_input and len(text) <= MAX_INPUT_BYTES:
                    with contextlib.suppress(ValueError):
                        event = json.loads(text)
                        if isinstance(event, dict):
                            await stream.act(event)

    await until_first_ends(stream.run(), receive())
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        if not raw:
            await websocket.send_text(json.dumps({"type": "closed"}))
        await websocket.close()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
