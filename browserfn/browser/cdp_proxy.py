"""The CDP WebSocket a Playwright or Puppeteer client connects to: relayed frame by frame to the
one Chromium of the session whose token the URL carries. Every frame counts as activity, so a
session driven only over CDP does not hit its idle timeout. `pipe` also relays the socket of a
session hosted by another server to that server (api/relay.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from browserfn.browser.sessions import Session

log = logging.getLogger(__name__)
#: A policy violation close code: the URL's credential does not open this session.
REFUSED = 1008
#: The other end could not be reached ("try again later").
UNREACHABLE = 1013
CONNECT_TIMEOUT_S = 5.0


async def close(websocket: WebSocket, code: int = 1000) -> None:
    """Close `websocket` unless its client is gone already: a client that disconnects first (what
    Playwright and Puppeteer do when a script ends) is the normal end of a CDP connection, not an error."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.close(code=code)


async def relay(websocket: WebSocket, session: Session) -> None:
    """Accept `websocket` and relay it to the session's browser until either side closes."""
    if session.browser is None:
        await close(websocket, REFUSED)
        return
    await pipe(websocket, session.browser.ws_url, session.touch)


async def pipe(websocket: WebSocket, upstream_url: str, on_frame: Callable[[], None] = lambda: None) -> None:
    """Accept `websocket` once `upstream_url` answers and relay frames both ways until either side
    closes. An upstream that refuses closes the client as refused; one that does not answer, as
    unreachable."""
    try:
        upstream = await connect(
            upstream_url, max_size=None, ping_interval=None, compression=None, open_timeout=CONNECT_TIMEOUT_S
        )
    except InvalidStatus:
        await close(websocket, REFUSED)
        return
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        log.warning("could not reach the CDP endpoint %s: %s", upstream_url.split("?", 1)[0], exc)
        await close(websocket, UNREACHABLE)
        return
    async with upstream:
        try:
            await websocket.accept()
        except (WebSocketDisconnect, RuntimeError, OSError):  # gone while the browser was reached
            return

        async def client_to_browser() -> None:
            with contextlib.suppress(WebSocketDisconnect, ConnectionClosed):
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        return
                    on_frame()
                    if message.get("text") is not None:
                        await upstream.send(message["text"])
                    elif message.get("bytes") is not None:
                        await upstream.send(message["bytes"])

        async def browser_to_client() -> None:
            with contextlib.suppress(WebSocketDisconnect, ConnectionClosed, RuntimeError):
                async for frame in upstream:
                    if isinstance(frame, str):
                        await websocket.send_text(frame)
                    else:
                        await websocket.send_bytes(frame)

        tasks = [asyncio.create_task(client_to_browser()), asyncio.create_task(browser_to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    await close(websocket)
