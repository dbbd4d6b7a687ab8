"""The session registry: who opened which browser, its timeouts, and its link to a run.

A session owns one Chromium process from the pool for its whole life; closing it (stop, idle or
max-duration timeout, its run ending, server shutdown) kills that process tree and finishes its
replay. Records of closed sessions are kept on disk under `<data dir>/sessions/<id>/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from browserfn.browser import llm
from browserfn.browser.actions import PageDriver
from browserfn.browser.chromium import session_flags
from browserfn.browser.pool import BrowserPool, PooledBrowser
from browserfn.browser.replay import Recorder, find_ffmpeg
from browserfn.bus import EventBus
from browserfn.config import Settings
from browserfn.errors import Conflict, NotFound, TooManyRequests
from browserfn.models import EventType, NewEvent, Principal, utcnow
from browserfn.store.base import Store

log = logging.getLogger(__name__)
REAPER_TICK_S = 1.0
#: Closed sessions stay in memory this long (then only their record on disk answers).
KEEP_CLOSED_S = 600.0


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
    browser: PooledBrowser | None = None
    driver: PageDriver | None = None
    recorder: Recorder | None = None
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    _last_access_mono: float = dataclasses.field(default_factory=time.monotonic)
    _started_mono: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def active(self) -> bool:
        return self.status == "active"

    def touch(self) -> None:
        self.last_accessed_at = utcnow()
        self._last_access_mono = time.monotonic()

    def expired(self, now_mono: float, minute_s: float = 60.0) -> str | None:
        """The close reason if a timeout has passed, else None (`minute_s`: the settings'
        session_timeout_unit_s)."""
        if now_mono - self._started_mono >= self.max_duration_min * minute_s:
            return "max_duration"
        if now_mono - self._last_access_mono >= self.idle_timeout_min * minute_s:
            return "idle_timeout"
        return None

    def record(self) -> dict[str, Any]:
        """What is kept on disk after the session is gone from memory."""
        fields = ("session_id", "account_id", "run_id", "idle_timeout_min", "max_duration_min", "options")
        data: dict[str, Any] = {name: getattr(self, name) for name in fields}
        data.update(status=self.status, close_reason=self.close_reason, closed_by=self.closed_by, steps=self.steps)
        for name in ("created_at", "last_accessed_at", "closed_at"):
            value = getattr(self, name)
            data[name] = value.isoformat() if value else None
        return data

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Session:
        dates = {name: dt.datetime.fromisoformat(data[name]) if data.get(name) else None for name in ("closed_at",)}
        session = cls(
            **{k: data[k] for k in ("session_id", "account_id", "run_id", "idle_timeout_min", "max_duration_min")},
            options=data.get("options") or {},
            cdp_token="",
            created_at=dt.datetime.fromisoformat(data["created_at"]),
            last_accessed_at=dt.datetime.fromisoformat(data["last_accessed_at"]),
            status=data["status"],
            close_reason=data.get("close_reason"),
            closed_by=data.get("closed_by"),
            steps=data.get("steps", 0),
        )
        session.closed_at = dates["closed_at"]
        return session


class SessionManager:
    def __init__(self, settings: Settings, store: Store, bus: EventBus) -> None:
        self._settings = settings
        self._store = store
        self._bus = bus
        self.sessions_dir = settings.data_dir / "sessions"
        self.pool = BrowserPool(
            settings.chromium_path,
            settings.data_dir / "browsers",
            settings.browser_pool_size,
            settings.browser_launch_timeout_s,
        )
        self._ffmpeg = find_ffmpeg(settings.ffmpeg_path)
        self.llm = llm.from_settings(settings)  #: for structured scrape and observe with instructions
        self._sessions: dict[str, Session] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._finishing: set[asyncio.Task[None]] = set()  #: replays being encoded

    async def start(self) -> None:
        await self.pool.start()
        self._reaper = asyncio.create_task(self._reap_forever())

    async def close(self) -> None:
        """Close every open session (server shutdown) and the pool."""
        if self._reaper is not None:
            self._reaper.cancel()
        open_sessions = [s for s in self._sessions.values() if s.active]
        await asyncio.gather(*(self.close_session(s, "closed", "unknown", "server shutdown") for s in open_sessions))
        await self.pool.close()
        await asyncio.gather(*self._finishing, return_exceptions=True)

    def replay_dir(self, session_id: str) -> Path:
        return self.sessions_dir / session_id / "replay"

    async def open(
        self, principal: Principal, options: dict[str, Any], idle_timeout_min: int | None, max_duration_min: int | None
    ) -> Session:
        """Start a session on a pooled browser; inside a run, announce it on the run's stream."""
        if sum(s.active for s in self._sessions.values()) >= self._settings.max_sessions:
            raise TooManyRequests(f"this server already has {self._settings.max_sessions} open sessions", 5)
        session = Session(
            session_id=str(uuid.uuid4()),
            account_id=principal.account_id,
            run_id=principal.run_id,
            idle_timeout_min=idle_timeout_min or self._settings.session_idle_timeout_min,
            max_duration_min=max_duration_min or self._settings.session_max_duration_min,
            options=options,
            cdp_token=secrets.token_urlsafe(24),
        )
        session.browser = await self.pool.acquire(session_flags(options))
        session.driver = PageDriver(session.browser.browser, self._settings.action_timeout_ms)
        width, height = options.get("viewport_width"), options.get("viewport_height")
        if width and height:
            await (await session.driver.page()).set_viewport_size({"width": int(width), "height": int(height)})
        session.recorder = Recorder(self.replay_dir(session.session_id), self._settings.replay_interval_s, self._ffmpeg)
        session.recorder.start(session.driver.current)
        self._sessions[session.session_id] = session
        if principal.run_id is not None:
            await self._store.set_run_session(principal.run_id, session.session_id)
            await self._store.append_events(principal.run_id, [NewEvent(EventType.SESSION_START, session.session_id)])
            self._bus.publish(principal.run_id)
        return session

    def get(self, principal: Principal, session_id: str) -> Session:
        """The caller's session, open or closed; NotFound for unknown or another account's."""
        session = self._sessions.get(session_id) or self._from_disk(session_id)
        if session is None or session.account_id != principal.account_id:
            raise NotFound(f"session {session_id} not found")
        return session

    def active(self, principal: Principal, session_id: str) -> Session:
        """The caller's open session (touched: it counts as activity); Conflict if it closed."""
        session = self.get(principal, session_id)
        if not session.active:
            raise Conflict(f"session {session_id} is already {session.status} ({session.close_reason})")
        session.touch()
        return session

    def find_for_cdp(self, session_id: str, token: str) -> Session | None:
        """The open session whose CDP credential is `token`, else None."""
        session = self._sessions.get(session_id)
        if session is None or not session.active or not secrets.compare_digest(session.cdp_token, token):
            return None
        return session

    def list(self, principal: Principal, only_active: bool) -> list[Session]:
        """The caller's sessions still in memory, newest first."""
        found = [s for s in self._sessions.values() if s.account_id == principal.account_id]
        return sorted((s for s in found if s.active or not only_active), key=lambda s: s.created_at, reverse=True)

    async def stop(self, principal: Principal, session_id: str, reason: str) -> Session:
        session = self.get(principal, session_id)
        if not session.active:
            raise Conflict(f"session {session_id} is already closed")
        await self.close_session(session, "closed", reason, "stop requested")
        return session

    async def close_run_sessions(self, run_id: str) -> None:
        """Run-ended listener: the sessions a run opened close with it."""
        mine = [s for s in self._sessions.values() if s.run_id == run_id and s.active]
        await asyncio.gather(*(self.close_session(s, "closed", "manual", "its run ended") for s in mine))

    async def close_session(self, session: Session, status: str, reason: str, closed_by: str) -> None:
        """Kill the session's browser and finish its replay. Only the first call does anything."""
        if not session.active:
            return
        session.status, session.close_reason, session.closed_by = status, reason, closed_by
        session.closed_at = utcnow()
        if session.recorder is not None and session.driver is not None and session.browser and session.browser.alive:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.recorder.capture(session.driver.current()), 4.0)
        if session.browser is not None:
            await session.browser.close()
        if session.recorder is not None:
            await session.recorder.stop()
            finishing = asyncio.create_task(session.recorder.finish())  # the video encodes after the answer
            self._finishing.add(finishing)
            finishing.add_done_callback(self._finishing.discard)
        session.browser, session.driver = None, None
        directory = self.sessions_dir / session.session_id
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "session.json").write_text(json.dumps(session.record()))

    def _from_disk(self, session_id: str) -> Session | None:
        if not session_id.replace("-", "").isalnum():
            return None
        try:
            return Session.from_record(json.loads((self.sessions_dir / session_id / "session.json").read_text()))
        except (OSError, ValueError, KeyError):
            return None

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(REAPER_TICK_S)
            now = time.monotonic()
            for session in list(self._sessions.values()):
                try:
                    await self._reap(session, now)
                except Exception:
                    log.exception("could not reap session %s", session.session_id)

    async def _reap(self, session: Session, now: float) -> None:
        if not session.active:
            if session.closed_at and (utcnow() - session.closed_at).total_seconds() > KEEP_CLOSED_S:
                self._sessions.pop(session.session_id, None)
            return
        if session.browser is not None and not session.browser.alive:
            await self.close_session(session, "error", "error", "its browser process died")
        elif (reason := session.expired(now, self._settings.session_timeout_unit_s)) is not None:
            await self.close_session(session, "timed_out", reason, reason.replace("_", " ") + " reached")
