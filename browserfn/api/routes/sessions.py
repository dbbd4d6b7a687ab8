"""Notte's sessions API (contract section f): start, status, list, stop, debug (the CDP URL), page
execute / scrape / screenshot, replay, and the CDP WebSocket itself."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, WebSocket
from fastapi.responses import FileResponse, Response

from browserfn import inbox_actions
from browserfn.api import identities
from browserfn.api.access import requires
from browserfn.api.deps import LinkBaseDep, PrincipalDep, Services, ServicesDep
from browserfn.api.paging import offset, page_of
from browserfn.api.routes.functions import PageQuery, PageSizeQuery
from browserfn.browser import cdp_proxy, model_actions, replay, session_options, viewer
from browserfn.browser.llm import Caller, require
from browserfn.browser.observe import observation, page_actions, pick
from browserfn.browser.scrape import ScrapeOptions, extract, scrape_page
from browserfn.browser.session_options import StartSessionRequest
from browserfn.errors import Conflict, Forbidden, InvalidInput, NotFound
from browserfn.models import Scope, SessionRecord, utcnow

#: A run's key may open and drive sessions (a guest run's: only its own run's).
router = APIRouter(prefix="/sessions", tags=["sessions"], dependencies=[requires(Scope.SESSIONS)])


@contextlib.contextmanager
def _browser_errors(session_id: str) -> Iterator[None]:
    """A browser that fails or dies under a call (stopped meanwhile) is a 409, not a 500."""
    from playwright.async_api import Error

    try:
        yield
    except Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise Conflict(f"the browser of session {session_id} failed: {first}") from exc


def _ws_base(base_url: str) -> str:
    return "ws" + base_url.removeprefix("http")


def cdp_url(svc: Services, session_id: str, base_url: str) -> str:
    """The CDP WebSocket URL, carrying the session's own credential (the SDK sends no auth there)."""
    return f"{_ws_base(base_url)}/sessions/{session_id}/cdp?token={svc.sessions.cdp_token(session_id)}"


def _viewer_link(svc: Services, session: SessionRecord, base_url: str) -> str:
    return viewer.link(
        base_url, svc.sessions.cdp_token(session.session_id), session.session_id, session.created_at.timestamp()
    )


def session_response(svc: Services, session: SessionRecord, base_url: str) -> dict[str, Any]:
    """Notte's SessionResponse, plus which run opened the session."""
    end = session.closed_at or utcnow()
    return {
        "session_id": session.session_id,
        "idle_timeout_minutes": session.idle_timeout_min,
        "timeout_minutes": session.idle_timeout_min,
        "max_duration_minutes": session.max_duration_min,
        "created_at": session.created_at.isoformat(),
        "last_accessed_at": session.last_accessed_at.isoformat(),
        "closed_at": session.closed_at.isoformat() if session.closed_at else None,
        "duration": round((end - session.created_at).total_seconds(), 3),
        "status": session.status,
        "close_reason": session.close_reason,
        "closed_by": session.closed_by,
        "error": session.closed_by if session.status == "error" else None,
        "cdp_url": cdp_url(svc, session.session_id, base_url) if session.active else None,
        "viewer_url": _viewer_link(svc, session, base_url) if session.active else None,
        "browser_type": "chromium",
        "proxies": bool(session.options.get("proxies")),
        "solve_captchas": False,
        "user_agent": session.options.get("user_agent"),
        "viewport_width": session.options.get("viewport_width"),
        "viewport_height": session.options.get("viewport_height"),
        "steps": [],
        "steps_count": session.steps,
        "run_id": session.run_id,
        "function_run_id": session.run_id,
    }


@router.post("/start")
async def start_session(
    request: Request,
    svc: ServicesDep,
    principal: PrincipalDep,
    base_url: LinkBaseDep,
    body: StartSessionRequest | None = None,
) -> dict:
    """Open a session: on a pooled Chromium, on one launched with the options it needs (user agent,
    proxy, chrome_args), or on the browser at `cdp_url`. An option this server cannot honour is
    refused by name (see browser/session_options.py)."""
    body = body or StartSessionRequest()
    plan = session_options.plan(body, svc.settings, _legacy_client(request))
    vault_id = plan.options.get("vault_id")
    if vault_id is not None:
        if Scope.BROWSER_DATA not in principal.scopes:  # a guest run may not type the caller's credentials
            raise Forbidden("vault_id: a run of another account's shared function cannot use this account's vaults")
        await identities.check_session_vault(svc, principal.account_id, vault_id)
    session = await svc.sessions.open(principal, plan)
    return session_response(svc, session.record(svc.sessions.owner_url), base_url)


def _legacy_client(request: Request) -> bool:
    """A Python notte-sdk before 1.10, which sends every start option with its default."""
    if request.headers.get("x-notte-request-origin") != "sdk-python":
        return False
    version = request.headers.get("x-notte-sdk-version", "")
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) < (1, 10)


@router.get("", dependencies=[requires(Scope.LIST_SESSIONS)])
@router.get("/", include_in_schema=False, dependencies=[requires(Scope.LIST_SESSIONS)])
async def list_sessions(
    svc: ServicesDep,
    principal: PrincipalDep,
    base_url: LinkBaseDep,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 10,
    only_active: Annotated[bool, Query(description="Only sessions still open")] = True,
) -> dict[str, Any]:
    """The caller's sessions, newest first."""
    found = await svc.sessions.list(principal, only_active, offset(page, page_size), page_size + 1)
    return page_of(found, page, page_size, lambda s: session_response(svc, s, base_url))


@router.get("/{session_id}")
async def get_session(
    svc: ServicesDep, principal: PrincipalDep, base_url: LinkBaseDep, session_id: str
) -> dict[str, Any]:
    """Any server answers from the store (or from memory, for a session it hosts)."""
    return session_response(svc, await svc.sessions.get(principal, session_id), base_url)


@router.get("/{session_id}/auth")
async def session_auth(svc: ServicesDep, principal: PrincipalDep, session_id: str) -> dict[str, Any]:
    """Notte's managed-auth readiness (ManagedAuthReadiness). Sessions here start without managed
    auth (`auth_ids` is refused), so one is ready as soon as it is open: `active` while it is,
    `closed` after, never `authenticating`, and no operations."""
    session = await svc.sessions.get(principal, session_id)
    status = "active" if session.active else "closed"
    return {"session_id": session.session_id, "status": status, "operations": [], "error": None}


@router.delete("/{session_id}/stop")
async def stop_session(
    svc: ServicesDep,
    principal: PrincipalDep,
    base_url: LinkBaseDep,
    session_id: str,
    close_reason: Literal["manual", "error"] = "manual",
) -> dict[str, Any]:
    """Close the session: its browser process tree is killed; `status` is `closed` after."""
    session = await svc.sessions.stop(principal, session_id, close_reason)
    return session_response(svc, session, base_url)


@router.get("/{session_id}/debug")
async def debug_session(
    svc: ServicesDep, principal: PrincipalDep, base_url: LinkBaseDep, session_id: str
) -> dict[str, Any]:
    """Notte's SessionDebugResponse: `ws.cdp` is the CDP WebSocket URL."""
    session = await svc.sessions.active(principal, session_id)
    url = cdp_url(svc, session_id, base_url)
    token, created_s = svc.sessions.cdp_token(session_id), session.created_at.timestamp()
    page_url = viewer.link(base_url, token, session_id, created_s)
    recording = (
        f"{_ws_base(base_url)}/sessions/{session_id}/viewer/ws?{viewer.query(token, session_id, created_s)}&raw=1"
    )
    tabs: list[dict[str, Any]] = []
    for page in session.driver.pages if session.driver is not None else []:
        title = await _title(session_id, page)
        if title is not None:
            tabs.append(
                {
                    "metadata": {"tab_id": len(tabs), "title": title, "url": page.url},
                    "debug_url": page_url,
                    "ws_url": url,
                }
            )
    return {"debug_url": page_url, "ws": {"cdp": url, "recording": recording, "logs": ""}, "tabs": tabs}


async def _title(session_id: str, page: Any) -> str | None:
    """A tab's title; None if the tab closed while asked (a page closing itself is no error)."""
    try:
        with _browser_errors(session_id):
            title: str = await page.title()
            return title
    except Conflict:
        if page.is_closed():
            return None
        raise


@router.post("/{session_id}/page/execute")
async def execute_action(
    svc: ServicesDep, principal: PrincipalDep, session_id: str, action: dict[str, Any]
) -> dict[str, Any]:
    """One browser action; a failure is `success: false` with the reason."""
    session = await svc.sessions.active(principal, session_id)
    if action.get("type") in inbox_actions.TYPES:
        return await identities.inbox_action(svc, principal, session, action)
    identities.attach_vault(svc, session)
    started = dt.datetime.now(dt.UTC)
    structured: dict[str, Any] | None = None
    async with session.lock:
        if session.driver is None:
            outcome_success, message, data = False, f"session {session_id} closed during the action", None
        else:
            if session.recorder is not None:
                await session.recorder.settle()  # the previous action's frame, before this one acts
            with _browser_errors(session_id):
                if action.get("type") in model_actions.MODEL_ACTIONS:
                    caller = Caller(principal.account_id, principal.run_id, session_id)
                    done = await model_actions.execute(session.driver, action, svc.sessions.llm, caller)
                    outcome, structured = done.outcome, done.structured
                else:
                    outcome = await session.driver.execute(action)
            outcome_success, message, data = outcome.success, outcome.message, outcome.data
            message, data = identities.mask_typed(session, message, data)  # e.g. evaluate_js reading a field
            if not session.active:  # stopped mid-action: whatever Playwright said, the browser is gone
                outcome_success, message = False, f"session {session_id} closed during the action: {message}"
            session.steps += 1
            session.actions.append({"action": action, "success": outcome_success, "message": message})
            if session.recorder is not None and session.driver is not None:
                session.recorder.capture_soon(session.driver.current())
    return {
        "action": action,
        "success": outcome_success,
        "message": message,
        "data": None if data is None else {"markdown": data, "structured": structured},
        "started_at": started.isoformat(),
        "ended_at": dt.datetime.now(dt.UTC).isoformat(),
        "action_executed": outcome_success,
    }


@router.post("/{session_id}/page/scrape")
async def scrape(svc: ServicesDep, principal: PrincipalDep, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The current page as Markdown (Notte's DataSpace); with `instructions` or `response_format`,
    also `structured`: the LLM's extraction, checked against the schema."""
    session = await svc.sessions.active(principal, session_id)
    options = ScrapeOptions.from_request(body)
    needs = "scraping with `instructions` or `response_format`"
    chat = require(svc.sessions.llm, needs) if options.structured else None
    if chat is not None:
        options = dataclasses.replace(options, model=chat.resolve(options.model))
    if session.driver is None:
        raise NotFound(f"session {session_id} has no page")
    async with session.lock:
        with _browser_errors(session_id):
            page = await session.driver.page()
            markdown, url = await scrape_page(page, options), page.url
    caller = Caller(principal.account_id, principal.run_id, session_id)
    structured = await extract(chat, markdown, url, options, caller) if chat is not None else None
    return {"markdown": markdown, "structured": structured}


@router.post("/{session_id}/page/observe")
async def observe(
    svc: ServicesDep, principal: PrincipalDep, session_id: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Notte's Observation: the page's interactive elements as actions (ids `page/execute` takes);
    with `instructions`, only those the LLM picks for them."""
    session = await svc.sessions.active(principal, session_id)
    instructions = (body or {}).get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise InvalidInput("instructions must be a string")
    chat = require(svc.sessions.llm, "observe with `instructions`") if instructions else None
    if session.driver is None:
        raise NotFound(f"session {session_id} has no page")
    started = dt.datetime.now(dt.UTC)
    async with session.lock:
        with _browser_errors(session_id):
            page = await session.driver.page()
            actions = await page_actions(page)
            await session.driver.remember(page, actions)
            if chat is not None and instructions:
                caller = Caller(principal.account_id, principal.run_id, session_id)
                actions = await pick(chat, actions, instructions, page.url, caller)
            return await observation(page, session.driver.pages, actions, started)


async def _screenshot(svc: ServicesDep, principal: PrincipalDep, session_id: str) -> tuple[bytes, Any]:
    session = await svc.sessions.active(principal, session_id)
    if session.driver is None:
        raise NotFound(f"session {session_id} has no page")
    with _browser_errors(session_id):
        page = await session.driver.page()
        return await page.screenshot(type="png", timeout=10000), page


@router.post("/{session_id}/page/screenshot")
async def screenshot(svc: ServicesDep, principal: PrincipalDep, session_id: str) -> dict[str, Any]:
    """The current tab as a base64 PNG, with its URL and title."""
    data, page = await _screenshot(svc, principal, session_id)
    with _browser_errors(session_id):
        title = await page.title()
    return {"screenshot": base64.b64encode(data).decode(), "url": page.url, "title": title}


@router.get("/{session_id}/page/screenshot", response_class=Response)
async def screenshot_png(svc: ServicesDep, principal: PrincipalDep, session_id: str) -> Response:
    """The current tab as image/png."""
    data, _ = await _screenshot(svc, principal, session_id)
    return Response(data, media_type="image/png")


@router.get("/{session_id}/replay")
async def get_replay(
    svc: ServicesDep, principal: PrincipalDep, base_url: LinkBaseDep, session_id: str
) -> dict[str, Any]:
    """Notte's ReplayResponse for a closed session: `mp4_url` when ffmpeg made a video
    (`replay_format: "mp4"`), else only the screenshot timeline (`replay_format: "screenshots"`).
    Links carry their own signature (the SDK downloads them without a key) and expire."""
    session = await svc.sessions.get(principal, session_id)
    if session.active:
        raise NotFound(f"session {session_id} is still active: close it first to get its replay")
    manifest = await svc.sessions.replay_manifest(session_id)
    if manifest is None:
        raise NotFound(f"the replay of session {session_id} is not ready")
    secret, now = await svc.store.server_secret(), time.time()

    def link(name: str) -> str:
        return replay.link(secret, base_url, session_id, name, now)

    return {
        "replay_format": "mp4" if manifest["video"] else "screenshots",
        "mp4_url": link(manifest["video"]) if manifest["video"] else None,
        "playlist_content": None,
        "expires_at": dt.datetime.fromtimestamp(int(now) + replay.LINK_TTL_S, dt.UTC).isoformat(),
        "video_start_ms": 0,
        "video_duration_ms": manifest["duration_ms"],
        "frames": [
            {**frame, "image_url": link(frame["name"]), **_moment(manifest, frame)} for frame in manifest["frames"]
        ],
    }


def _moment(manifest: dict[str, Any], frame: dict[str, Any]) -> dict[str, str]:
    """A frame's wall-clock moment (`at`, an extension), which the console lines up with run logs."""
    started_ms = manifest.get("started_at_ms")
    if started_ms is None:  # recorded before manifests kept it
        return {}
    return {"at": dt.datetime.fromtimestamp((started_ms + frame["t_ms"]) / 1000, dt.UTC).isoformat()}


@router.get("/{session_id}/replay/files/{name}", response_class=FileResponse)
async def get_replay_file(
    svc: ServicesDep, session_id: str, name: str, expires: int = 0, signature: str = ""
) -> FileResponse:
    """One replay file behind a signed link (no key: the signature is the credential)."""
    path = svc.sessions.replay_dir(session_id) / name
    valid = replay.link_valid(await svc.store.server_secret(), session_id, name, expires, signature, time.time())
    if not valid or "/" in name or name.startswith(".") or not path.is_file():
        raise NotFound(f"no replay file {name} (the link is wrong or expired)")
    return FileResponse(path, media_type="video/mp4" if name == replay.VIDEO else "image/jpeg")


@router.websocket("/{session_id}/cdp")
async def cdp(websocket: WebSocket, session_id: str, token: str = "") -> None:
    """The session's Chrome DevTools Protocol, for `connect_over_cdp` (the token is the credential)."""
    session = websocket.app.state.services.sessions.find_for_cdp(session_id, token)
    if session is None:
        await cdp_proxy.close(websocket, cdp_proxy.REFUSED)
        return
    await cdp_proxy.relay(websocket, session)
