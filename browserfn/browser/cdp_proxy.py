"""The CDP WebSocket a Playwright or Puppeteer client connects to: relayed frame by frame to the
one Chromium of the session whose token the URL carries. Every frame counts as activity, so a
session driven only over CDP does not hit its idle timeout."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from browserfn.browser.sessions import Session

#: A policy violation close code: the URL's credential does not open this session.
REFUSED = 1008


async def relay(websocket: WebSocket, session: Session) -> None:
    """Accept `websocket` and relay it to the session's browser until either side closes."""
    if session.browser is None:
        await websocket.close(code=REFUSED)
        return
    upstream_url = session.browser.chromium.ws_url
    async with connect(upstream_url, max_size=None, ping_interval=None, compression=None) as upstream:
        await websocket.accept()

        async def client_to_browser() -> None:
            with contextlib.suppress(WebSocketDisconnect, ConnectionClosed):
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        return
                    session.touch()
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
    with contextlib.suppress(RuntimeError):
        await websocket.close()
