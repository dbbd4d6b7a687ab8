"""Chromium processes launched (and connected to) ahead of demand, so starting a session pays
neither a browser launch nor a CDP connect. Every browser serves one session and is then killed:
nothing of one session's state can reach the next."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

from browserfn import storage_errors
from browserfn.browser.attached import AttachedBrowser, attach
from browserfn.browser.chromium import (
    ChromiumProcess,
    browsers_of,
    kill_leftovers,
    kill_owned,
    sweep_orphaned_temp_dirs,
)
from browserfn.netpolicy import Target

log = logging.getLogger(__name__)


@dataclasses.dataclass
class PooledBrowser:
    """A Chromium process and the server's own Playwright connection to it."""

    chromium: ChromiumProcess
    browser: Any  #: playwright.async_api.Browser, connected over CDP

    attached = False  #: launched by this server (see attached.AttachedBrowser)

    @property
    def alive(self) -> bool:
        return self.chromium.alive and bool(self.browser.is_connected())

    @property
    def ws_url(self) -> str:
        return self.chromium.ws_url

    @property
    def context(self) -> Any:
        """The browser's default context: the session's pages."""
        return self.browser.contexts[0]

    async def close(self) -> None:
        """Kill the process tree, then drop the connection. Safe to call twice. (Killing first
        skips Chromium's graceful shutdown: nothing of a session's profile is kept.)"""
        await self.chromium.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.browser.close(), 1.0)


class BrowserPool:
    def __init__(self, executable: str, browsers_dir: Path, size: int, launch_timeout_s: float) -> None:
        self._executable = executable
        self._root = browsers_dir
        self._browsers_dir = browsers_of(browsers_dir, os.getpid())
        self._size = size
        self._launch_timeout_s = launch_timeout_s
        self._ready: list[PooledBrowser] = []
        self._launching: set[asyncio.Task[None]] = set()  #: one launch per missing browser
        self._in_background: set[ChromiumProcess] = set()  #: launches at the lowest priority, not yet up
        self._driver: asyncio.Task[Any] | None = None
        self._closed = False
        self._filled = asyncio.Event()  #: set when a launched browser joins the pool

    @property
    def ready_count(self) -> int:
        """Launched browsers waiting for a session (metrics)."""
        return len(self._ready)

    async def start(self) -> None:
        """Kill what a previous life left, then start Playwright's driver and fill the pool in the
        background (the server answers meanwhile; a session start waits for the driver)."""
        killed = await asyncio.to_thread(kill_leftovers, self._root)
        if killed:
            log.warning("killed %d browser processes left by a previous server", killed)
        await asyncio.to_thread(sweep_orphaned_temp_dirs)
        self._browsers_dir.mkdir(parents=True, exist_ok=True)
        self._driver = asyncio.create_task(self._start_driver())
        self._refill()

    async def _start_driver(self) -> Any:
        from playwright.async_api import async_playwright

        return await async_playwright().start()

    async def launch(self, extra_flags: tuple[str, ...] = (), background: bool = False) -> PooledBrowser:
        """A new browser, launched now: the pool's own path (`background`: in the background
        while a ready browser is left for the next session, so that nobody waits for it), the
        fallback when it is empty, and the way to a browser with flags of its own."""
        if self._driver is None:
            raise RuntimeError("the browser pool is not started")
        playwright = await asyncio.shield(self._driver)
        chromium = await ChromiumProcess.launch(
            self._executable,
            self._browsers_dir,
            self._launch_timeout_s,
            extra_flags,
            background=lambda: background and bool(self._ready),
            spawned_idle=self._in_background.add,
        )
        try:
            browser = await playwright.chromium.connect_over_cdp(chromium.ws_url)
        except BaseException:
            await chromium.kill()
            raise
        finally:
            made_urgent = chromium.idle and chromium not in self._in_background
            self._in_background.discard(chromium)
        if made_urgent:  # once more: `chrt` may not even have set the idle policy the first time
            await asyncio.to_thread(chromium.foreground)
        return PooledBrowser(chromium, browser)

    async def acquire(self, extra_flags: tuple[str, ...] = ()) -> PooledBrowser:
        """A ready browser: a pooled one if any is alive; else the one the pool is launching (no
        second launch competing with it for the CPU); else one launched now. A session that needs
        flags of its own (`session_flags`) gets a browser launched now with them."""
        if extra_flags:
            return await self.launch(extra_flags)
        try:
            while True:
                while self._ready:
                    candidate = self._ready.pop(0)
                    if candidate.alive:
                        await self._foreground([candidate.chromium, *self._urgent_launches()])
                        return candidate
                    await candidate.close()
                if not self._launching:
                    return await self.launch()
                self._filled.clear()  # (before any wait: a launch may end during the next one)
                await self._foreground(self._urgent_launches())
                try:
                    await asyncio.wait_for(self._filled.wait(), self._launch_timeout_s)
                except TimeoutError:
                    return await self.launch()
        finally:
            self._refill()

    async def attach(self, target: Target) -> AttachedBrowser:
        """A browser this server did not start, reached at a checked cdp_url (see attached.py)."""
        if self._driver is None:
            raise RuntimeError("the browser pool is not started")
        return await attach(await asyncio.shield(self._driver), target)

    def _urgent_launches(self) -> list[ChromiumProcess]:
        """With no ready browser left, the next session waits for a launch: none stays in the
        background any more."""
        if self._ready:
            return []
        urgent = list(self._in_background)
        self._in_background.clear()
        return urgent

    async def _foreground(self, browsers: list[ChromiumProcess]) -> None:
        await asyncio.gather(*(asyncio.to_thread(browser.foreground) for browser in browsers))

    def _refill(self) -> None:
        """Start a launch for each browser the pool is missing, as soon as it is missing (in the
        background while it can be: see `launch`)."""
        while not self._closed and len(self._ready) + len(self._launching) < self._size:
            task = asyncio.create_task(self._add_one())
            self._launching.add(task)
            task.add_done_callback(self._launched)

    def _launched(self, task: asyncio.Task[None]) -> None:
        self._launching.discard(task)
        self._refill()  # a failed launch is tried again (after its second of waiting)

    async def _add_one(self) -> None:
        """Launch one browser into the pool; after a failure, wait a second, then launch again."""
        try:
            launched = await self.launch(background=True)
        except Exception as exc:
            if storage_errors.is_storage_failure(exc):  # a full disk: one line, and a longer wait
                log.warning("could not launch a pooled browser: %s (%r)", storage_errors.describe(exc), exc)
                await asyncio.sleep(storage_errors.RETRY_AFTER_S)
            else:
                log.exception("could not launch a pooled browser")
                await asyncio.sleep(1.0)
        else:
            if self._closed:
                await launched.close()
                return
            self._ready.append(launched)
            self._filled.set()

    async def close(self) -> None:
        self._closed = True
        for task in list(self._launching):
            task.cancel()
        await asyncio.gather(*self._launching, return_exceptions=True)
        ready, self._ready = self._ready, []
        await asyncio.gather(*(browser.close() for browser in ready))
        if self._driver is not None:
            with contextlib.suppress(BaseException):
                await (await self._driver).stop()
        # A launch cancelled half-way may have left a process: the marker finds it.
        await asyncio.to_thread(kill_owned, self._root, os.getpid())
