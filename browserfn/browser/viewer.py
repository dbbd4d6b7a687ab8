"""The live viewer of a session: its current tab as a CDP screencast (Page.startScreencast), and,
when the operator allows, a person's clicks, keys and scrolls sent into it (take over a login,
solve a captcha by hand). It follows the session's current tab as actions switch tabs.

A viewer is reached through a signed link (`link`), like a replay's: the signature is derived from
the session's CDP credential, so any server checks it and relays the viewer's socket to the
session's host (api/relay.py). The link opens a view of the browser, never its CDP.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from browserfn import tokens
from browserfn.browser.sessions import Session

log = logging.getLogger(__name__)
#: How long a viewer link stays valid (a session lasts at most a day).
LINK_TTL_S = 24 * 3600
#: How often the viewer looks whether the session's current tab changed.
FOLLOW_TICK_S = 0.3
SCREENCAST = {"format": "jpeg", "quality": 70, "maxWidth": 1920, "maxHeight": 1920, "everyNthFrame": 1}
#: A frame: JPEG bytes and where it stands (Page.screencastFrame's metadata plus the tab's URL).
SendFrame = Callable[[bytes, dict[str, Any]], Awaitable[None]]


def signature(cdp_token: str, session_id: str, expires: int) -> str:
    return tokens.sign(cdp_token.encode(), "viewer", session_id, str(expires))


def query(cdp_token: str, session_id: str, created_s: float) -> str:
    """The query string that opens a session's viewer, for LINK_TTL_S from the session's start (one
    link per session: every answer gives the same)."""
    expires = int(created_s) + LINK_TTL_S
    return f"expires={expires}&signature={signature(cdp_token, session_id, expires)}"


def link(base_url: str, cdp_token: str, session_id: str, created_s: float) -> str:
    return f"{base_url}/sessions/{session_id}/viewer?{query(cdp_token, session_id, created_s)}"


def valid(cdp_token: str, session_id: str, expires: int, signed: str, now_s: float) -> bool:
    return now_s < expires and tokens.verify(cdp_token.encode(), signed, "viewer", session_id, str(expires))


class ViewerStream:
    """One viewer connection to a session: frames out (`send_frame`), input in (`act`)."""

    def __init__(self, session: Session, send_frame: SendFrame) -> None:
        self._session = session
        self._send_frame = send_frame
        self._page: Any = None
        self._cdp: Any = None
        self._frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=2)

    async def run(self) -> None:
        """Stream the session's current tab until the session closes (or the task is cancelled)."""
        sender = asyncio.create_task(self._send_forever())
        try:
            while self._session.active and self._session.driver is not None:
                page = self._session.driver.current()
                if page is not self._page:
                    await self._follow(page)
                if sender.done():
                    return
                await asyncio.sleep(FOLLOW_TICK_S)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            await self._stop_screencast()

    async def _follow(self, page: Any) -> None:
        await self._stop_screencast()
        self._page = page
        if page is None:
            return
        try:
            self._cdp = await page.context.new_cdp_session(page)
            self._cdp.on("Page.screencastFrame", self._on_frame)
            await self._cdp.send("Page.startScreencast", SCREENCAST)
        except Exception as exc:  # the tab closed or was navigating: the next tick tries again
            log.debug("viewer: could not screencast %s: %s", getattr(page, "url", "?"), exc)
            await self._stop_screencast()
            self._page = None  # not followed: a tab still open is followed again, not left unwatched

    async def _stop_screencast(self) -> None:
        cdp, self._cdp = self._cdp, None
        if cdp is not None:
            with contextlib.suppress(Exception):
                await cdp.send("Page.stopScreencast")
                await cdp.detach()

    def _on_frame(self, frame: dict[str, Any]) -> None:
        if self._frames.full():  # the viewer is slow: the newest frame wins
            with contextlib.suppress(asyncio.QueueEmpty):
                self._frames.get_nowait()
        self._frames.put_nowait({**frame, "cdp": self._cdp, "url": getattr(self._page, "url", "")})

    async def _send_forever(self) -> None:
        while True:
            frame = await self._frames.get()
            metadata = {**frame.get("metadata", {}), "url": frame["url"]}
            await self._send_frame(base64.b64decode(frame["data"]), metadata)
            cdp = frame["cdp"]
            if cdp is not None:  # the next frame comes once this one is acknowledged
                with contextlib.suppress(Exception):
                    await cdp.send("Page.screencastFrameAck", {"sessionId": frame["sessionId"]})

    async def act(self, event: dict[str, Any]) -> None:
        """A person's input, in the page's CSS pixels: `click` (x, y), `key` (a KeyboardEvent key
        such as `a` or `Enter`), `text` (pasted text), `wheel` (x, y, dx, dy)."""
        page = self._page
        if page is None or page.is_closed():
            return
        self._session.drive()
        kind = event.get("type")
        with contextlib.suppress(Exception):  # a page that navigates away mid-input drops it
            if kind == "click":
                await page.mouse.click(_number(event, "x"), _number(event, "y"))
            elif kind == "key" and isinstance(event.get("key"), str) and 0 < len(event["key"]) <= 32:
                await page.keyboard.press(event["key"])
            elif kind == "text" and isinstance(event.get("text"), str):
                await page.keyboard.insert_text(event["text"][:10000])
            elif kind == "wheel":
                await page.mouse.move(_number(event, "x"), _number(event, "y"))
                await page.mouse.wheel(_number(event, "dx"), _number(event, "dy"))


def _number(event: dict[str, Any], name: str) -> float:
    value = event.get(name, 0)
    return float(value) if isinstance(value, int | float) and abs(value) < 100000 else 0.0
