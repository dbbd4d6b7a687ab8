"""A session on a browser this server did not start (`cdp_url`): the server connects to it over
CDP and drives it like its own, and closing the session only disconnects; the browser keeps
running, as its owner left it. Every connection to it goes through a relay pinned to the
addresses the address policy checked (pinned_relay.py), never to the name resolved again."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any
from urllib.parse import urlsplit

import httpx

from browserfn.browser.pinned_relay import PinnedRelay
from browserfn.browser.session_options import CDP_SCHEMES
from browserfn.config import Settings
from browserfn.errors import InvalidInput
from browserfn.netpolicy import AddressPolicy, Target

CONNECT_TIMEOUT_S = 10.0


@dataclasses.dataclass
class AttachedBrowser:
    browser: Any  #: playwright.async_api.Browser, connected over CDP
    ws_url: str  #: the browser-level CDP WebSocket, through the relay (the CDP relay's upstream too)
    relay: PinnedRelay
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
        await self.relay.close()


def address_policy(settings: Settings) -> AddressPolicy:
    """Where a cdp_url may lead (Settings.session_cdp_url): `public`, public addresses only, as for
    webhooks (with the operator's `outbound_allowed_hosts`); `any`, every address."""
    if settings.session_cdp_url == "any":
        return AddressPolicy(("0.0.0.0/0", "::/0"))
    return AddressPolicy(settings.outbound_allowed_hosts)


async def checked_target(cdp_url: str, policy: AddressPolicy) -> Target:
    """`cdp_url`'s host resolved once and every address allowed; a clear 422 otherwise."""
    try:
        return await policy.check_url(cdp_url, CDP_SCHEMES)
    except InvalidInput as exc:
        raise InvalidInput(f"cdp_url: {exc.message}; or the operator sets session_cdp_url=any") from exc


async def browser_ws_url(target: Target, relay: PinnedRelay, timeout_s: float = CONNECT_TIMEOUT_S) -> str:
    """The browser-level WebSocket of a CDP endpoint, through `relay`: a ws:// URL as given, an
    http:// one through its /json/version."""
    parts = urlsplit(target.url)
    query = f"?{parts.query}" if parts.query else ""
    if parts.scheme in ("ws", "wss"):
        return relay.url((parts.path or "/") + query, websocket=True)
    version = relay.url(parts.path.rstrip("/") + "/json/version" + query, websocket=False)
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
            answer = await client.get(version)
        answer.raise_for_status()
        found = answer.json()["webSocketDebuggerUrl"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        detail = relay.failure or f"{type(exc).__name__}: {relay.masked(str(exc))}"
        raise InvalidInput(f"cdp_url: no CDP endpoint answers at {_shown(target.url)} ({detail})") from exc
    if not isinstance(found, str) or urlsplit(found).scheme not in ("ws", "wss"):
        raise InvalidInput(f"cdp_url: {_shown(target.url)} did not name a CDP WebSocket")
    # Chromium names itself by the address it listens on; keep the host the caller reached it at.
    return relay.url(urlsplit(found).path, websocket=True)


async def attach(playwright: Any, target: Target, timeout_s: float = CONNECT_TIMEOUT_S) -> AttachedBrowser:
    """Connect to the browser at `target` (checked by `checked_target`); an endpoint that does not
    answer as CDP is a 422."""
    relay = await PinnedRelay(target).start()
    try:
        ws_url = await browser_ws_url(target, relay, timeout_s)
        try:
            browser = await playwright.chromium.connect_over_cdp(ws_url, timeout=timeout_s * 1000)
        except Exception as exc:
            first = relay.failure or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InvalidInput(
                f"cdp_url: could not attach to the browser at {_shown(target.url)}: {relay.masked(first)}"
            ) from exc
        attached = AttachedBrowser(browser, ws_url, relay)
        if not browser.contexts:
            await attached.close()
            raise InvalidInput(f"cdp_url: the browser at {_shown(target.url)} has no default context to drive")
    except BaseException:
        await relay.close()
        raise
    return attached


def _shown(url: str) -> str:
    """A URL without its query (which may carry a token)."""
    return url.split("?", 1)[0]
