"""The CDP WebSocket a Playwright or Puppeteer client connects to: relayed to the browser of the
session whose token the URL carries. A session with a browser process of its own gets its frames
relayed as they are; one with a context in its account's browser gets them through a
`cdp_filter.ContextFilter` (only its own contexts' targets are seen or reached), and its connection
ends when the session closes. Every frame counts as activity, so a session driven only over CDP
does not hit its idle timeout. `pipe` also relays the socket of a session hosted by another server
to that server (api/relay.py)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from playwright.async_api import Error as PlaywrightError
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from browserfn.browser.account_browsers import ContextLease
from browserfn.browser.cdp_filter import ContextFilter
from browserfn.browser.sessions import Session
from browserfn.concurrency import until_first_ends

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
    browser = session.browser
    if browser is None:
        await close(websocket, REFUSED)
        return
    if isinstance(browser, ContextLease):
        await _filtered(websocket, browser, session.drive)
    else:
        await pipe(websocket, browser.ws_url, session.drive)


async def pipe(websocket: WebSocket, upstream_url: str, on_frame: Callable[[], None] = lambda: None) -> None:
    """Accept `websocket` once `upstream_url` answers and relay frames both ways until either side
    closes. An upstream that refuses closes the client as refused; one that does not answer, as
    unreachable."""

    async def relay_frames(upstream: Any) -> None:
        async def client_to_browser() -> None:
            with contextlib.suppress(ConnectionClosed):  # the browser went away
                async for frame in _client_frames(websocket, on_frame):
                    await upstream.send(frame)

        async def browser_to_client() -> None:
            with contextlib.suppress(WebSocketDisconnect, ConnectionClosed, RuntimeError):
                async for frame in upstream:
                    if isinstance(frame, str):
                        await websocket.send_text(frame)
                    else:
                        await websocket.send_bytes(frame)

        await until_first_ends(client_to_browser(), browser_to_client())

    await _connected(websocket, upstream_url, relay_frames)


async def _filtered(websocket: WebSocket, lease: ContextLease, on_frame: Callable[[], None]) -> None:
    """Relay through a ContextFilter for the lease's contexts, until either side closes or the
    session is released. A session whose context's id cannot be learnt (its browser gone
    meanwhile) closes the client as unreachable."""
    try:
        view = ContextFilter(await lease.context_id(), lease.contexts)
    except PlaywrightError as exc:
        log.warning("could not reach the session's browser context: %s", exc)
        await close(websocket, UNREACHABLE)
        return

    async def relay_frames(upstream: Any) -> None:
        async def deliver(to_browser: list[dict[str, Any]], to_client: list[dict[str, Any]]) -> None:
            for message in to_browser:
                await upstream.send(json.dumps(message))
            for message in to_client:
                await websocket.send_text(json.dumps(message))

        async def client_to_browser() -> None:
            with contextlib.suppress(WebSocketDisconnect, ConnectionClosed, RuntimeError):  # either side gone
                async for frame in _client_frames(websocket, on_frame):
                    try:
                        command = json.loads(frame)
                    except ValueError:
                        continue  # not a CDP command: Chromium would drop it too
                    if isinstance(command, dict):
                        await deliver(*view.from_client(command))

        async def browser_to_client() -> None:
            with contextlib.suppress(WebSocketDisconnect, ConnectionClosed, RuntimeError):
                async for frame in upstream:
                    await deliver(*view.from_browser(json.loads(frame)))

        await until_first_ends(client_to_browser(), browser_to_client(), lease.wait_closed())

    await _connected(websocket, lease.ws_url, relay_frames)


async def _client_frames(websocket: WebSocket, on_frame: Callable[[], None]) -> AsyncIterator[str | bytes]:
    """The client's frames until it disconnects (or the relay is cancelled), each counted by
    `on_frame`."""
    with contextlib.suppress(WebSocketDisconnect, ConnectionClosed):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            on_frame()
            if message.get("text") is not None:
                yield message["text"]
            elif message.get("bytes") is not None:
                yield message["bytes"]


async def _connected(websocket: WebSocket, upstream_url: str, relay_frames: Callable[[Any], Awaitable[None]]) -> None:
    """Connect to `upstream_url`, accept `websocket`, run `relay_frames(upstream)`, close both."""
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
        await relay_frames(upstream)
    await close(websocket)
