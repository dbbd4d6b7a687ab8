"""The session registry: who opened which browser, its timeouts, and its link to a run.

A session gets a browser context of its own in its account's Chromium process (account_browsers.py;
never shared across accounts), or, when its options need launch flags of their own, a Chromium
process of its own from the pool; closing it (stop, idle or max-duration timeout, its run ending,
server shutdown) closes that context (or kills that process tree) and finishes its replay.
Every session's record is in the store, with the URL of the process hosting its browser
(`owner_url`), so any server answers for it and relays its page calls here (api/relay.py); the
replay stays on this host's disk under `<data dir>/sessions/<id>/replay`. The host's heartbeat is
in the store too: whoever sees a host silent ends its sessions (status `error`).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from browserfn import storage_errors
from browserfn.browser import llm
from browserfn.browser.account_browsers import DEFAULT_CONTEXT, AccountBrowsers, ContextLease
from browserfn.browser.actions import PageDriver
from browserfn.browser.attached import AttachedBrowser, address_policy, checked_target
from browserfn.browser.pool import BrowserPool, PooledBrowser
from browserfn.browser.proxy_forward import ProxyForwarder
from browserfn.browser.replay import Recorder, VideoMaker, find_ffmpeg
from browserfn.browser.session_data import SessionData
from browserfn.browser.session_options import CDP_POLICIES, SessionPlan, proxy_flags
from browserfn.bus import EventBus
from browserfn.config import Settings, SettingsError
from browserfn.errors import Conflict, NotFound, TooManyRequests
from browserfn.files import FileStore
from browserfn.models import EventType, NewEvent, Principal, Scope, SessionRecord, utcnow
from browserfn.profiles import Profiles, ProfileUse
from browserfn.profiles import load as load_profile
from browserfn.secrets import Sealer
from browserfn.store.base import Store

log = logging.getLogger(__name__)
#: The last replay frame may delay a closed session's browser kill this long, no more (it waits
#: for a screenshot still being taken, up to replay.SCREENSHOT_TIMEOUT_S)...
LAST_FRAME_WAIT_S = 4.0
#: ...and this long when the session closes because its run ended, stopped or timed out: a
#: stopped run's browsers are killed within 2 s.
RUN_ENDED_LAST_FRAME_WAIT_S = 1.0
REAPER_TICK_S = 1.0
#: How often this server deletes the session files past their `expires_at` (or each retention, if shorter).
FILE_SWEEP_S = 60.0


@dataclasses.dataclass
class Session:
    session_id: str
    account_id: str
    run_id: str | None
    idle_timeout_min: int
    max_duration_min: int
    options: dict[str, Any]  #: the start request's options, echoed back
    cdp_token: str
    created_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    last_accessed_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    status: str = "active"  #: active | closed | timed_out | error (Notte's statuses)
    close_reason: str | None = None  #: manual | idle_timeout | max_duration | error | unknown
    closed_by: str | None = None  #: what closed it, in words (a stop call, its run ending...)
    closed_at: dt.datetime | None = None
    steps: int = 0
    #: The actions done through page/execute and agents, in order: {action, success, message}.
    actions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    browser: ContextLease | PooledBrowser | AttachedBrowser | None = None
    forwarder: ProxyForwarder | None = None  #: adds the proxy's credentials (proxy_forward.py)
    driver: PageDriver | None = None
    recorder: Recorder | None = None
    data: SessionData | None = None  #: network log, trajectory, downloads (browser/session_data.py)
    profile: ProfileUse | None = None  #: the profile it started with (browserfn/profiles.py)
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    _last_access_mono: float = dataclasses.field(default_factory=time.monotonic)
    #: When a CDP client or the live viewer last touched the session (0.0: never): the page may
    #: have changed without an action through the API.
    driven_mono: float = 0.0
    _calls: int = 0  #: API calls in flight
    stored: tuple[dt.datetime, int] | None = None  #: (last access, steps) as last written to the store
    _started_mono: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def active(self) -> bool:
        return self.status == "active"

    def touch(self) -> None:
        self.last_accessed_at = utcnow()
        self._last_access_mono = time.monotonic()

    def drive(self) -> None:
        """Activity outside the API's actions (a CDP frame, the viewer's input)."""
        self.touch()
        self.driven_mono = self._last_access_mono

    def begin_call(self) -> None:
        """An API call for this session, in flight until the task serving it (its request's)
        has answered and ended."""
        self.touch()
        self._calls += 1
        task = asyncio.current_task()
        if task is None:
            self._end_call()
        else:
            task.add_done_callback(self._end_call)

    def _end_call(self, _: object = None) -> None:
        self._calls -= 1
        self.touch()

    def quiet_s(self) -> float:
        """Seconds since the last call for this session ended (API, or CDP frames); 0 while one
        is in flight."""
        return 0.0 if self._calls else time.monotonic() - self._last_access_mono

    def expired(self, now_mono: float, minute_s: float = 60.0) -> str | None:
        """The close reason if a timeout has passed, else None (`minute_s`: the settings'
        session_timeout_unit_s)."""
        if now_mono - self._started_mono >= self.max_duration_min * minute_s:
            return "max_duration"
        if now_mono - self._last_access_mono >= self.idle_timeout_min * minute_s:
            return "idle_timeout"
        return None

    def record(self, owner_url: str) -> SessionRecord:
        """What the store keeps of it (and what any server answers for it)."""
        fields = ("session_id", "account_id", "run_id", "options", "idle_timeout_min", "max_duration_min")
        return SessionRecord(
            **{name: getattr(self, name) for name in fields},
            owner_url=owner_url,
            created_at=self.created_at,
            last_accessed_at=self.last_accessed_at,
            status=self.status,
            close_reason=self.close_reason,
            closed_by=self.closed_by,
            closed_at=self.closed_at,
            steps=self.steps,
        )


class SessionManager:
    def __init__(self, settings: Settings, store: Store, bus: EventBus) -> None:
        if settings.session_cdp_url not in CDP_POLICIES:
            policies = ", ".join(CDP_POLICIES)
            raise SettingsError(f"session_cdp_url must be one of {policies}, not {settings.session_cdp_url!r}")
        if settings.files_retention_s <= 0:
            raise SettingsError(
                f"files_retention_s must be a positive number of seconds, not {settings.files_retention_s:g}"
            )
        self._settings = settings
        self._store = store
        self._bus = bus
        self.sessions_dir = settings.data_dir / "sessions"
        self.profiles = Profiles(store, Sealer(settings))
        self.files = FileStore(
            settings.files_dir or settings.data_dir / "files",
            settings.files_quota_bytes,
            settings.max_file_bytes,
            settings.files_retention_s,
        )
        self.pool = BrowserPool(
            settings.chromium_path,
            settings.data_dir / "browsers",
            settings.browser_pool_size,
            settings.browser_launch_timeout_s,
        )
        self.accounts = AccountBrowsers(self.pool, settings.browser_account_idle_s)
        self._cdp_addresses = address_policy(settings)  #: where a cdp_url may lead
        ffmpeg = find_ffmpeg(settings.ffmpeg_path)
        self._can_make_video = ffmpeg is not None
        self._videos = VideoMaker(ffmpeg)
        self.llm = llm.from_settings(settings)  #: for structured scrape and observe with instructions
        self._sessions: dict[str, Session] = {}
        self._opening: collections.Counter[str] = collections.Counter()  #: sessions being opened, per account
        self._reaper: asyncio.Task[None] | None = None
        self._tearing_down: set[asyncio.Task[None]] = set()  #: closed sessions' browsers and replays
        #: Told of each session closing (agents running on it end).
        self._close_listeners: list[Callable[[Session], None]] = []
        #: Where this process is reached: the store records it as the host of the sessions it opens.
        self.owner_url = settings.internal_base_url
        self._token_key = b""  #: the deployment's secret: CDP tokens any server can check
        self._next_heartbeat = 0.0
        self._next_file_sweep = 0.0

    async def start(self) -> None:
        """End what this host's previous life left open, then take sessions."""
        self._token_key = await self._store.server_secret()
        ended = await self._store.end_hosted_sessions(self.owner_url, "its host restarted")
        if ended:
            log.warning("ended %d sessions left open by this host's previous life", len(ended))
        await self._store.session_host_alive(self.owner_url)
        await self.pool.start()
        self._reaper = asyncio.create_task(self._reap_forever())

    async def close(self) -> None:
        """Close every open session (server shutdown) and the pool."""
        if self._reaper is not None:
            self._reaper.cancel()
        open_sessions = [s for s in self._sessions.values() if s.active]
        await asyncio.gather(*(self.close_session(s, "closed", "unknown", "server shutdown") for s in open_sessions))
        await asyncio.gather(*self._tearing_down, return_exceptions=True)
        await self.accounts.close()
        await self.pool.close()

    @property
    def hosted_count(self) -> int:
        """Open sessions this process hosts (metrics)."""
        return len(self._sessions)

    @property
    def browsers_in_use(self) -> int:
        """Chromium processes this process launched that serve sessions: the accounts' browsers
        (kept idle for a while after their last session too), and sessions' own (metrics)."""
        own = sum(1 for s in self._sessions.values() if isinstance(s.browser, PooledBrowser))
        return self.accounts.count + own

    def session_dir(self, session_id: str) -> Path:
        return self.sessions_dir / session_id

    def replay_dir(self, session_id: str) -> Path:
        return self.session_dir(session_id) / "replay"

    async def replay_manifest(self, session_id: str) -> dict[str, Any] | None:
        """A closed session's finished recording (its MP4 made on this first ask), or None: not ready."""
        return await self._videos.manifest(self.replay_dir(session_id))

    async def open(self, principal: Principal, plan: SessionPlan) -> Session:
        """Start a session as `plan` says (a pooled browser, one launched with flags of its own, or
        one attached at a CDP URL); inside a run, announce it on the run's stream."""
        account_id = principal.account_id
        self._check_room(account_id)
        self._opening[account_id] += 1  # counted from here on: a burst of starts cannot all pass the check
        try:
            return await self._open(principal, plan)
        finally:
            self._opening[account_id] -= 1
            if not self._opening[account_id]:
                del self._opening[account_id]

    def _check_room(self, account_id: str) -> None:
        """429 if this server, or this account on it, already has as many sessions as it may."""
        settings = self._settings
        open_here = [s.account_id for s in self._sessions.values() if s.active]
        if len(open_here) + self._opening.total() >= settings.max_sessions:
            raise TooManyRequests(f"this server already has {settings.max_sessions} open sessions", 5)
        if open_here.count(account_id) + self._opening[account_id] >= settings.account_max_sessions:
            raise TooManyRequests(
                f"this account already has {settings.account_max_sessions} open sessions on this server "
                "(account_max_sessions): stop one first",
                5,
            )

    async def _open(self, principal: Principal, plan: SessionPlan) -> Session:
        session = Session(
            session_id=str(uuid.uuid4()),
            account_id=principal.account_id,
            run_id=principal.run_id,
            idle_timeout_min=plan.idle_timeout_min or self._settings.session_idle_timeout_min,
            max_duration_min=plan.max_duration_min or self._settings.session_max_duration_min,
            options=plan.options,
            cdp_token="",
        )
        session.cdp_token = self.cdp_token(session.session_id)
        session.profile = await self.profiles.prepare(principal, session.session_id, plan.options.get("profile"))
        try:
            await self._give_browser(session, plan)
            self._equip(session, principal)
            await self._store.create_session(session.record(self.owner_url))
        except BaseException:
            await self._abandon(session)
            raise
        self._sessions[session.session_id] = session
        # From here the session is recorded and closes as any other: with its run, if it is a run's.
        if principal.run_id is not None:
            await self._store.set_run_session(principal.run_id, session.session_id)
            await self._store.append_events(principal.run_id, [NewEvent(EventType.SESSION_START, session.session_id)])
            self._bus.publish(principal.run_id)
        return session

    async def _give_browser(self, session: Session, plan: SessionPlan) -> None:
        """The session's browser and page driver, set up as the plan says: a context in the
        account's browser, unless it needs a process launched with flags of its own, or attaches."""
        viewport = plan.viewport
        if plan.cdp_url is not None:
            session.browser = await self.pool.attach(await checked_target(plan.cdp_url, self._cdp_addresses))
        elif not plan.flags and plan.proxy is None:
            size = {"width": viewport[0], "height": viewport[1]} if viewport else None
            options: dict[str, Any] = {"viewport": size} if size else DEFAULT_CONTEXT
            session.browser = await self.accounts.open(session.account_id, options)
            viewport = None  # the context's
        else:
            flags = plan.flags
            if plan.proxy is not None and plan.proxy.needs_auth:
                proxy = plan.proxy
                session.forwarder = await ProxyForwarder(proxy.server, proxy.username, proxy.password).start()
                flags = tuple(f for f in flags if not f.startswith("--proxy-")) + tuple(
                    proxy_flags(proxy, session.forwarder.url)
                )
            session.browser = await self.pool.acquire(flags)
        if session.profile is not None:
            await load_profile(session.browser.context, session.profile.state)
        session.driver = PageDriver(session.browser.context, self._settings.action_timeout_ms)
        if plan.extra_http_headers:
            await session.driver.context.set_extra_http_headers(plan.extra_http_headers)
        if viewport is not None:
            width, height = viewport
            await (await session.driver.page()).set_viewport_size({"width": width, "height": height})

    async def _release_browser(self, session: Session) -> None:
        """Close the session's context (or kill its browser, or only disconnect from one it
        attached to) and its proxy forwarder."""
        browser, session.browser = session.browser, None
        if browser is not None:
            await browser.close()
        if session.forwarder is not None:
            await session.forwarder.close()

    def _equip(self, session: Session, principal: Principal) -> None:
        """Give a session that has its browser its data (network log, trajectory, downloads) and
        its recorder."""
        assert session.browser is not None and session.driver is not None
        session.data = SessionData(
            self.session_dir(session.session_id),
            self.files,
            principal.account_id,
            session.session_id,
            account_uploads=Scope.BROWSER_DATA in principal.scopes,
        )
        session.data.attach(session.browser.context)
        session.driver.data = session.data
        session.recorder = Recorder(
            self.replay_dir(session.session_id), self._settings.replay_interval_s, self._can_make_video
        )
        session.recorder.start(session.driver.current, session.quiet_s)

    async def _abandon(self, session: Session) -> None:
        """A session that failed to open (its id was never given out): its recorder stopped, its
        profile lease, browser and proxy forwarder let go, what it wrote on disk removed. (Left
        open, its context kept the account's browser in use for good, and the account's next
        sessions without a spare context.)"""
        if session.recorder is not None:
            await session.recorder.stop()
        if session.profile is not None:
            await self.profiles.release(session.profile)
        await self._release_browser(session)
        shutil.rmtree(self.session_dir(session.session_id), ignore_errors=True)

    def cdp_token(self, session_id: str) -> str:
        """The credential a session's CDP URL carries: derived from the deployment's secret, so
        any server can check it (and relay the socket to the session's host)."""
        digest = hmac.digest(self._token_key, f"cdp:{session_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest[:24]).decode()

    def hosted(self, session_id: str) -> Session | None:
        """The session if its browser lives in this process."""
        return self._sessions.get(session_id)

    async def get(self, principal: Principal, session_id: str) -> SessionRecord:
        """The caller's session, open or closed, wherever it lives; NotFound for unknown or
        another account's."""
        here = self._sessions.get(session_id)
        found = here.record(self.owner_url) if here is not None else await self._store.get_session(session_id)
        if found is None or not principal.sees_session(found.account_id, found.run_id):
            raise NotFound(f"session {session_id} not found")
        return found

    async def active(self, principal: Principal, session_id: str) -> Session:
        """The caller's open session hosted here (a call in flight: it counts as activity); Conflict if it
        closed. (Calls for sessions hosted elsewhere were relayed before they got here.)"""
        session = self._sessions.get(session_id)
        if session is None or not principal.sees_session(session.account_id, session.run_id):
            found = await self.get(principal, session_id)
            if found.active and found.owner_url != self.owner_url:  # a relayed call is not relayed again
                raise Conflict(f"session {session_id} is hosted by another server: call it through any API server")
            if found.active:  # hosted at this URL by a previous life of this process
                raise Conflict(f"session {session_id} is gone with its host's restart")
            raise Conflict(f"session {session_id} is already {found.status} ({found.close_reason})")
        if not session.active:
            raise Conflict(f"session {session_id} is already {session.status} ({session.close_reason})")
        session.begin_call()
        return session

    def find_for_cdp(self, session_id: str, token: str) -> Session | None:
        """The open session hosted here whose CDP credential is `token`, else None."""
        session = self._sessions.get(session_id)
        if session is None or not session.active or not secrets.compare_digest(session.cdp_token, token):
            return None
        return session

    async def list(self, principal: Principal, only_active: bool, offset: int, limit: int) -> list[SessionRecord]:
        """The caller's sessions, wherever they live, newest first (those hosted here as of now)."""
        found = await self._store.list_sessions(principal.account_id, only_active, offset, limit)
        here = {sid: s.record(self.owner_url) for sid, s in self._sessions.items()}
        return [here.get(s.session_id, s) for s in found if principal.sees_session(s.account_id, s.run_id)]

    async def stop(self, principal: Principal, session_id: str, reason: str) -> SessionRecord:
        session = self._sessions.get(session_id)
        if session is None or not principal.sees_session(session.account_id, session.run_id) or not session.active:
            await self.get(principal, session_id)  # NotFound if it is not the caller's
            raise Conflict(f"session {session_id} is already closed")
        await self.close_session(session, "closed", reason, "stop requested")
        return session.record(self.owner_url)

    async def close_run_sessions(self, run_id: str) -> None:
        """Run-ended listener: the sessions a run opened close with it."""
        mine = [s for s in self._sessions.values() if s.run_id == run_id and s.active]
        await asyncio.gather(
            *(self.close_session(s, "closed", "manual", "its run ended", RUN_ENDED_LAST_FRAME_WAIT_S) for s in mine)
        )

    def on_session_closed(self, listener: Callable[[Session], None]) -> None:
        """Have `listener` told (synchronously) of every session closing, as it closes."""
        self._close_listeners.append(listener)

    async def close_session(
        self,
        session: Session,
        status: str,
        reason: str,
        closed_by: str,
        last_frame_wait_s: float = LAST_FRAME_WAIT_S,
    ) -> None:
        """Close the session: it is recorded closed at once (a stop answers `closed` without
        waiting), and its browser is killed and its replay finished in the background. Only the
        first call does anything."""
        if not session.active:
            return
        session.status, session.close_reason, session.closed_by = status, reason, closed_by
        session.closed_at = utcnow()
        if session.profile is not None and session.profile.persist and session.browser is not None:
            # Saved before the close is answered: the next session with this profile sees it.
            await self.profiles.save_back(session.profile, session.browser.context)
        if session.data is not None:
            session.data.network.flush()  # readable as soon as the close is answered
        self._sessions.pop(session.session_id, None)
        for listener in self._close_listeners:
            listener(session)
        teardown = asyncio.create_task(self._tear_down(session, last_frame_wait_s))
        self._tearing_down.add(teardown)
        teardown.add_done_callback(self._tearing_down.discard)
        await self._store.finish_session(session.record(self.owner_url))

    async def _tear_down(self, session: Session, last_frame_wait_s: float) -> None:
        """A closed session's last replay frame, the kill of its browser's process tree, then its
        replay's manifest (its video is made when first asked for)."""
        browser, driver, session.browser, session.driver = session.browser, session.driver, None, None
        if isinstance(browser, ContextLease):
            self.accounts.closing(browser)
        if session.recorder is not None:
            await session.recorder.stop()
            page = driver.current() if driver is not None and browser and browser.alive else None
            acting = session.lock.locked()  # an action still under way changes the page
            if page is not None and (acting or not session.recorder.shows(page, session.driven_mono)):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(session.recorder.capture(page), last_frame_wait_s)
        if session.data is not None:
            with contextlib.suppress(Exception):
                await session.data.close(last_frame_wait_s)
        session.browser = browser
        await self._release_browser(session)
        if session.data is not None:
            session.data.remove_inputs()
        if session.recorder is not None:
            try:
                await session.recorder.finish()
            except Exception as exc:  # in the background: said here, or nowhere
                if not storage_errors.is_storage_failure(exc):
                    raise
                log.warning(
                    "session %s: its replay could not be finished (%s): it has none",
                    session.session_id,
                    storage_errors.describe(exc),
                )

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(REAPER_TICK_S)
            now = time.monotonic()
            try:
                await self._heartbeat(now)
            except Exception as exc:
                if storage_errors.is_storage_failure(exc):
                    log.warning("could not send this session host's heartbeat (%r); trying again", exc)
                else:
                    log.exception("could not send this session host's heartbeat; trying again")
            for session in list(self._sessions.values()):
                try:
                    await self._reap(session, now)
                except Exception:
                    log.exception("could not reap session %s", session.session_id)
            try:
                await self._expire_files(now)
            except OSError as exc:  # a disk that fails: the next sweep tries again
                log.warning("could not delete expired session files (%r); trying again", exc)

    async def _expire_files(self, now: float) -> None:
        if now < self._next_file_sweep:
            return
        self._next_file_sweep = now + min(FILE_SWEEP_S, self._settings.files_retention_s)
        expired = await asyncio.to_thread(self.files.expire, dt.datetime.now(dt.UTC))
        if expired:
            log.info("deleted %d session files past their expires_at", expired)

    async def _heartbeat(self, now: float) -> None:
        """Say this host is alive; end the sessions of hosts that stopped saying so."""
        if now < self._next_heartbeat:
            return
        self._next_heartbeat = now + self._settings.worker_heartbeat_s
        await self._store.session_host_alive(self.owner_url)
        silent_s = self._settings.worker_stalled_s
        ended = await self._store.end_sessions_of_silent_hosts(
            self.owner_url, silent_s, f"its host stopped sending heartbeats for {silent_s:g} s (killed or cut off)"
        )
        if ended:
            log.warning("ended %d sessions whose hosts went silent", len(ended))

    async def _reap(self, session: Session, now: float) -> None:
        if not session.active:
            return
        saved = (session.last_accessed_at, session.steps)
        if session.stored != saved:
            if not await self._store.record_session_activity(session.session_id, *saved):
                await self.close_session(session, "error", "error", "ended elsewhere while its host was cut off")
                return
            session.stored = saved
        if session.browser is not None and not session.browser.alive:
            await self.close_session(session, "error", "error", "its browser process died")
        elif (reason := session.expired(now, self._settings.session_timeout_unit_s)) is not None:
            await self.close_session(session, "timed_out", reason, reason.replace("_", " ") + " reached")
