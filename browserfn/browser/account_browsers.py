"""One Chromium process per account, and a fresh browser context in it per session.

A session that needs nothing of its own at launch (no launch flags, no attached cdp_url) gets a
new Playwright browser context (`browser.new_context(...)`: its own cookies, storage, cache,
service workers, permissions and downloads) in the browser process of its account. An account
without one claims a browser the pool launched ahead of demand (never bound to any account
before), so even its first session pays no launch. Releasing a session closes its context (and any
a CDP client created for it); the account's browser is killed once no session has used it for
`idle_s`, or at once when it is found dead. Browsers are never shared across accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from browserfn.browser.pool import BrowserPool, PooledBrowser

log = logging.getLogger(__name__)
#: How long closing a context may take before the session is let go anyway.
CONTEXT_CLOSE_TIMEOUT_S = 5.0
#: The options of a session's context when its start asks for nothing (no viewport: pages take the
#: window's size, as in a browser of its own).
DEFAULT_CONTEXT: dict[str, Any] = {"no_viewport": True}


@dataclasses.dataclass(eq=False)
class AccountBrowser:
    """An account's browser process and the sessions' contexts open in it."""

    account_id: str
    pooled: PooledBrowser
    leases: set[ContextLease] = dataclasses.field(default_factory=set)
    opening: int = 0  #: contexts being opened in it (it is in use meanwhile)
    idle_timer: asyncio.TimerHandle | None = None
    cdp: Any = None  #: the server's browser-level CDP session (disposes of contexts clients created)
    #: A context with the default options made ahead of demand for the account's next session.
    spare: asyncio.Task[Any] | None = None

    @property
    def alive(self) -> bool:
        return self.pooled.alive

    @property
    def pid(self) -> int:
        return self.pooled.chromium.pid


class ContextLease:
    """A session's browser context in its account's browser: what a session holds instead of a
    browser process of its own (`PooledBrowser`) or an attached one (`AttachedBrowser`)."""

    attached = False

    def __init__(
        self,
        owner: AccountBrowser,
        context: Any,
        release: Callable[[ContextLease], Any],
        default_options: bool,
    ) -> None:
        self.owner = owner
        self.default_options = default_options  #: its context has DEFAULT_CONTEXT's options
        self.context = context  #: playwright.async_api.BrowserContext
        self._context_id: str | None = None  #: its CDP browserContextId, once asked (`context_id`)
        #: The session's browser contexts: its own once known, then any a CDP client created
        #: (filtered to by cdp_filter.py, disposed of at release).
        self.contexts: set[str] = set()
        self._release = release
        self._closed = asyncio.Event()

    @property
    def browser(self) -> Any:
        return self.owner.pooled.browser

    @property
    def ws_url(self) -> str:
        return self.owner.pooled.ws_url

    @property
    def pid(self) -> int:
        return self.owner.pid

    @property
    def alive(self) -> bool:
        return not self._closed.is_set() and self.owner.alive

    async def context_id(self) -> str:
        """The CDP browserContextId of the session's context, asked of Chromium when first needed
        (a CDP client connects), through a DevTools session on one of its pages (a new one if it
        has none). Not at the start: attaching to the new page waited for its renderer, measured
        4 at a time at ~100-150 ms of a session's start and 3-7 % of a browser run, and most
        sessions never see a CDP client."""
        if self._context_id is None:
            pages = [page for page in self.context.pages if not page.is_closed()]
            page = pages[0] if pages else await self.context.new_page()
            probe = await self.context.new_cdp_session(page)
            try:
                info = await probe.send("Target.getTargetInfo")
            finally:
                with contextlib.suppress(Exception):
                    await probe.detach()
            self._context_id = str(info["targetInfo"]["browserContextId"])
            self.contexts.add(self._context_id)
        return self._context_id

    @property
    def created_contexts(self) -> set[str]:
        """The contexts a CDP client created for the session (disposed of at its release)."""
        return self.contexts - {self._context_id} if self._context_id is not None else set()

    async def wait_closed(self) -> None:
        """Return once the lease is released (a CDP connection to it then ends)."""
        await self._closed.wait()

    async def close(self) -> None:
        """Close the session's contexts, then let the account's browser go idle. Safe twice."""
        if self._closed.is_set():
            return
        self._closed.set()
        await self._release(self)


class AccountBrowsers:
    def __init__(self, pool: BrowserPool, idle_s: float) -> None:
        self._pool = pool
        self._idle_s = idle_s
        self._browsers: dict[str, AccountBrowser] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._killing: set[asyncio.Task[None]] = set()

    @property
    def count(self) -> int:
        """Accounts' browsers alive or not yet found dead (metrics)."""
        return len(self._browsers)

    async def open(self, account_id: str, context_options: dict[str, Any]) -> ContextLease:
        """A new context, with a first page, in the account's browser (claimed from the pool if
        the account has none alive). A session with the default options takes the account's
        spare context if it has one: made ahead of demand when a session with the default options
        starts closing and leaves none open (between sessions, never beside one at work: measured
        twice, a spare made at open slowed the session's first goto from ~45 to ~105-155 ms, and
        runs paced, back to back and 4 at a time), new, never used by any session."""
        owner = await self._browser(account_id)
        try:
            made = await self._take_spare(owner) if context_options == DEFAULT_CONTEXT else None
            if made is None:
                made = await self._make(owner, context_options)
            lease = ContextLease(owner, made, self._release, context_options == DEFAULT_CONTEXT)
            owner.leases.add(lease)
            return lease
        finally:
            owner.opening -= 1
            self._idle_unless_used(owner)

    @staticmethod
    async def _make(owner: AccountBrowser, context_options: dict[str, Any]) -> Any:
        """A new context with its first page."""
        context = await owner.pooled.browser.new_context(**context_options)
        try:
            await context.new_page()
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(context.close(), CONTEXT_CLOSE_TIMEOUT_S)
            raise
        return context

    @staticmethod
    async def _take_spare(owner: AccountBrowser) -> Any | None:
        """The account's spare context (waiting for it if it is being made), else None."""
        spare, owner.spare = owner.spare, None
        if spare is None:
            return None
        try:
            return await spare
        except Exception:
            return None

    async def _browser(self, account_id: str) -> AccountBrowser:
        lock = self._locks.setdefault(account_id, asyncio.Lock())
        async with lock:
            owner = self._browsers.get(account_id)
            if owner is not None and not owner.alive:
                await self._kill(owner)
                owner = None
            if owner is None:
                owner = AccountBrowser(account_id, await self._pool.acquire())
                self._browsers[account_id] = owner
            if owner.idle_timer is not None:
                owner.idle_timer.cancel()
                owner.idle_timer = None
            owner.opening += 1  # in use from here: no idle kill before the context exists
            return owner

    async def _release(self, lease: ContextLease) -> None:
        owner = lease.owner
        owner.leases.discard(lease)
        if owner.alive:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._dispose(owner, lease.created_contexts), CONTEXT_CLOSE_TIMEOUT_S)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(lease.context.close(), CONTEXT_CLOSE_TIMEOUT_S)
            self.closing(lease)
        self._idle_unless_used(owner)

    def closing(self, lease: ContextLease) -> None:
        """A session is closing (its last frame and its context's close still to come): when it
        is the account's last, with the default options, make the spare context for the next one
        now, so a session started right after finds it made or nearly (measured back to back:
        the next start otherwise made its own context while this one's teardown ran)."""
        owner = lease.owner
        if (
            owner.alive
            and lease.default_options
            and owner.spare is None
            and owner.leases <= {lease}
            and not owner.opening
        ):
            owner.spare = asyncio.create_task(self._make(owner, DEFAULT_CONTEXT))
            owner.spare.add_done_callback(_retrieve)

    async def _dispose(self, owner: AccountBrowser, contexts: set[str]) -> None:
        """Dispose of the contexts a CDP client created for a session."""
        if not contexts:
            return
        if owner.cdp is None:
            owner.cdp = await owner.pooled.browser.new_browser_cdp_session()
        for context_id in contexts:
            with contextlib.suppress(Exception):
                await owner.cdp.send("Target.disposeBrowserContext", {"browserContextId": context_id})

    def _idle_unless_used(self, owner: AccountBrowser) -> None:
        """The account's browser is killed `idle_s` after its last session (at once if dead)."""
        if owner.leases or owner.opening or owner.idle_timer is not None:
            return
        delay = 0.0 if not owner.alive else self._idle_s
        owner.idle_timer = asyncio.get_running_loop().call_later(delay, self._kill_soon, owner)

    def _kill_soon(self, owner: AccountBrowser) -> None:
        owner.idle_timer = None
        if not owner.leases and not owner.opening:
            task = asyncio.create_task(self._kill(owner))
            self._killing.add(task)
            task.add_done_callback(self._killing.discard)

    async def _kill(self, owner: AccountBrowser) -> None:
        if self._browsers.get(owner.account_id) is owner:
            del self._browsers[owner.account_id]
        if owner.idle_timer is not None:
            owner.idle_timer.cancel()
            owner.idle_timer = None
        if owner.spare is not None:  # its context dies with the process
            owner.spare.cancel()
        await owner.pooled.close()

    async def close(self) -> None:
        """Kill every account's browser (server shutdown: their sessions are closed first)."""
        await asyncio.gather(*(self._kill(owner) for owner in list(self._browsers.values())))
        await asyncio.gather(*self._killing, return_exceptions=True)


def _retrieve(task: asyncio.Task[Any]) -> None:
    """A spare context that could not be made is made again by the session that needs it."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not make a spare browser context: %r", task.exception())
