"""A session on a browser this server did not start (`cdp_url`): the server connects to it over
CDP and drives it like its own, and closing the session only disconnects; the browser keeps
running, as its owner left it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from browserfn.errors import InvalidInput

CONNECT_TIMEOUT_S = 10.0


@dataclasses.dataclass
class AttachedBrowser:
    browser: Any  #: playwright.async_api.Browser, connected over CDP
    ws_url: str  #: the browser-level CDP WebSocket (the CDP relay's upstream)
    attached: bool = True

    @property
    def alive(self) -> bool:
        return bool(self.browser.is_connected())

    @property
    def context(self) -> Any:
        """The browser's default context (attach checks it has one)."""
        return self.browser.contexts[0]

    async def close(self) -> None:
        """Disconnect (Playwright's close of a CDP-connected browser ends only its connection)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.browser.close(), 5.0)


async def browser_ws_url(cdp_url: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str:
    """The browser-level WebSocket of a CDP endpoint: a ws:// URL as given, an http:// one through
    its /json/version."""
    parts = urlsplit(cdp_url)
    if parts.scheme in ("ws", "wss"):
        return cdp_url
    version = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/json/version", parts.query, ""))
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
            answer = await client.get(version)
        answer.raise_for_status()
        found = answer.json()["webSocketDebuggerUrl"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            f"cdp_url: no CDP endpoint answers at {_shown(cdp_url)} ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(found, str) or urlsplit(found).scheme not in ("ws", "wss"):
        raise InvalidInput(f"cdp_url: {_shown(cdp_url)} did not name a CDP WebSocket")
    # Chromium names itself by the address it listens on; keep the host the caller reached it at.
    return urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc, urlsplit(found).path, "", ""))


async def attach(playwright: Any, cdp_url: str, timeout_s: float = CONNECT_TIMEOUT_S) -> AttachedBrowser:
    """Connect to the browser at `cdp_url`; an endpoint that does not answer as CDP is a 422."""
    ws_url = await browser_ws_url(cdp_url, timeout_s)
    try:
        browser = await playwright.chromium.connect_over_cdp(ws_url, timeout=timeout_s * 1000)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InvalidInput(f"cdp_url: could not attach to the browser at {_shown(cdp_url)}: {first}") from exc
    if not browser.contexts:
        await AttachedBrowser(browser, ws_url).close()
        raise InvalidInput(f"cdp_url: the browser at {_shown(cdp_url)} has no default context to drive")
    return AttachedBrowser(browser, ws_url)


def _shown(url: str) -> str:
    """A URL without its query (which may carry a token)."""
    return url.split("?", 1)[0]
