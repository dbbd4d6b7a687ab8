"""A session's state and data: cookies on its live browser, its files (uploads for the page,
downloads the page made), its network log, trajectory offset, one tab's debug info, and the
script that repeats what it did (`workflow/code`).

Every route checks the session is the caller's (another account's is a 404). Calls that need the
live browser need an open session (409 once closed); files, network logs and the script stay
readable after the close, from the disk of the process that hosted the session (api/relay.py
relays them there)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from browserfn import tokens
from browserfn.api.access import requires
from browserfn.api.deps import LinkBaseDep, PrincipalDep, ServicesDep
from browserfn.api.errors import error_response
from browserfn.api.routes.sessions import _browser_errors, cdp_url
from browserfn.browser import cookies as cookie_shapes
from browserfn.browser import script_export
from browserfn.browser.llm import Caller, require
from browserfn.browser.scrape import infer_response_format as inferred_format
from browserfn.browser.session_data import network_batches, read_actions
from browserfn.errors import InvalidInput, NotFound
from browserfn.files import USER_UPLOAD, FileStore, StoredFile
from browserfn.models import Principal, Scope

#: One session's data: what a run's key may reach for the sessions it sees (a guest run's: its own run's).
router = APIRouter(prefix="/sessions", tags=["session data"], dependencies=[requires(Scope.SESSIONS)])
#: Signed links to network log batches and files expire after this long.
LINK_TTL_S = 3600
#: What tokens.sign gives: hex SHA-256 (anything else is refused before it is compared).
SIGNATURE = re.compile(r"[0-9a-f]{64}")


class SetCookiesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cookies: list[Any]


@router.get("/{session_id}/cookies")
async def get_cookies(svc: ServicesDep, principal: PrincipalDep, session_id: str) -> dict[str, Any]:
    """Every cookie of the session's browser, in Notte's Cookie shape."""
    session = await svc.sessions.active(principal, session_id)
    if session.browser is None:
        raise NotFound(f"session {session_id} has no browser")
    with _browser_errors(session_id):
        found = await session.browser.context.cookies()
    return {"cookies": [cookie_shapes.to_notte(cookie) for cookie in found]}


@router.post("/{session_id}/cookies")
async def set_cookies(
    svc: ServicesDep, principal: PrincipalDep, session_id: str, body: SetCookiesRequest
) -> dict[str, Any]:
    """Add (or replace, by name, domain and path) cookies in the session's browser; all or none."""
    session = await svc.sessions.active(principal, session_id)
    wanted = cookie_shapes.to_playwright(body.cookies)
    if session.browser is None:
        raise NotFound(f"session {session_id} has no browser")
    with _browser_errors(session_id):
        await session.browser.context.add_cookies(wanted)
    return {"success": True, "message": f"{len(wanted)} cookies set"}


def _files(svc: ServicesDep) -> FileStore:
    return svc.sessions.files


@router.post("/{session_id}/files")
async def upload_file(
    svc: ServicesDep, principal: PrincipalDep, session_id: str, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """A file for the session's pages (`upload_file` puts it into a file input by its name)."""
    await svc.sessions.active(principal, session_id)
    stored = await _add_upload(svc, principal, session_id, file.filename, file)
    return stored.wire()


async def _add_upload(
    svc: ServicesDep, principal: Principal, session_id: str | None, name: str | None, file: UploadFile
) -> StoredFile:
    return await asyncio.to_thread(
        _files(svc).add, principal.account_id, session_id, name or "", USER_UPLOAD, file.file, file.content_type
    )


@router.get("/{session_id}/files")
async def list_files(
    svc: ServicesDep,
    principal: PrincipalDep,
    session_id: str,
    source: Literal["user_upload", "session_download"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Notte's SessionFilesPage: the session's files, oldest first."""
    await svc.sessions.get(principal, session_id)
    found = _files(svc).list(principal.account_id, session_id, source)
    return {
        "files": [f.wire() for f in found[offset : offset + limit]],
        "total": len(found),
        "limit": limit,
        "offset": offset,
    }


@router.get("/{session_id}/files/{file_id}")
async def download_file(svc: ServicesDep, principal: PrincipalDep, session_id: str, file_id: str) -> Response:
    """The file's bytes."""
    await svc.sessions.get(principal, session_id)
    return _file_response(_files(svc).get(principal.account_id, session_id, file_id))


def _file_response(stored: StoredFile) -> Response:
    return StreamingResponse(
        FileStore.chunks(stored),
        media_type=stored.mime_type,
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(stored.filename)}",
        },
    )


def _quote(name: str) -> str:
    return quote(name, safe="")


@router.delete("/{session_id}/files/{file_id}", status_code=204)
async def delete_file(svc: ServicesDep, principal: PrincipalDep, session_id: str, file_id: str) -> Response:
    await svc.sessions.get(principal, session_id)
    _files(svc).delete(principal.account_id, session_id, file_id)
    return Response(status_code=204)


@router.get("/{session_id}/files/{file_id}/signed")
async def signed_file(
    svc: ServicesDep, session_id: str, file_id: str, account: str = "", expires: int = 0, signature: str = ""
) -> Response:
    """A file behind a signed link (the legacy downloads route gives them; no key needed)."""
    secret = await svc.store.server_secret()
    if not signed(secret, signature, expires, "file", session_id, file_id, account):
        raise NotFound(f"file {file_id} not found (the link is wrong or expired)")
    stored = _account_file(svc, account, session_id, file_id)
    return _file_response(stored)


def _account_file(svc: ServicesDep, account_id: str, session_id: str, file_id: str) -> StoredFile:
    return _files(svc).get(account_id, session_id, file_id)


def signed(secret: bytes, signature: str, expires: int, *parts: str) -> bool:
    """Whether a link's signature covers `parts` and its expiry, which has not passed."""
    well_formed = SIGNATURE.fullmatch(signature) is not None
    return well_formed and time.time() < expires and tokens.verify(secret, signature, *parts, str(expires))


def file_link(secret: bytes, base_url: str, account_id: str, stored: StoredFile) -> str:
    expires = int(time.time()) + LINK_TTL_S
    signature = tokens.sign(secret, "file", stored.session_id, stored.id, account_id, str(expires))
    query = f"account={_quote(account_id)}&expires={expires}&signature={signature}"
    return f"{base_url}/sessions/{stored.session_id}/files/{stored.id}/signed?{query}"


class FileExecutionRequest(BaseModel):
    """Notte's FileExecutionRequest: `upload_file` puts the session file `target_id` (its id or
    name) into the element; `download_file` keeps what the element downloads under the name
    `target_id`. `record: false` keeps the action out of the session's trajectory."""

    model_config = ConfigDict(extra="forbid")
    action: dict[str, Any]
    target_id: str = Field(min_length=1, max_length=256)
    record: bool = True


@router.post("/{session_id}/page/execute/file")
async def execute_file_action(
    svc: ServicesDep, principal: PrincipalDep, session_id: str, body: FileExecutionRequest
) -> dict[str, Any]:
    session = await svc.sessions.active(principal, session_id)
    kind = body.action.get("type")
    if kind not in ("upload_file", "download_file"):
        raise InvalidInput("action.type must be upload_file or download_file")
    action = dict(body.action)
    if kind == "upload_file":
        action["file_path"] = body.target_id
    started = dt.datetime.now(dt.UTC)
    if session.driver is None:
        raise NotFound(f"session {session_id} has no page")
    async with session.lock:
        with _browser_errors(session_id):
            outcome = await session.driver.execute(action, record=body.record)
        session.steps += 1
    message = outcome.message
    if kind == "download_file" and outcome.success:
        message = f"{message} (requested name: {body.target_id})"
    return {
        "action": action,
        "success": outcome.success,
        "message": message,
        "data": None,
        "started_at": started.isoformat(),
        "ended_at": dt.datetime.now(dt.UTC).isoformat(),
        "action_executed": outcome.success,
    }


@router.get("/{session_id}/network/logs")
async def network_logs(
    svc: ServicesDep,
    principal: PrincipalDep,
    base_url: LinkBaseDep,
    session_id: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    download: bool = True,
) -> dict[str, Any]:
    """Notte's NetworkLogsResponse: the session's requests in batch files of JSON lines (one
    request with its response, or its failure, per line), with signed download links."""
    await svc.sessions.get(principal, session_id)
    hosted = svc.sessions.hosted(session_id)
    if hosted is not None and hosted.data is not None:
        hosted.data.network.flush()
    batches = network_batches(svc.sessions.session_dir(session_id))
    secret, now = await svc.store.server_secret(), int(time.time())
    items = []
    for path in batches[:limit]:
        expires = now + LINK_TTL_S
        signature = tokens.sign(secret, "network", session_id, path.name, str(expires))
        link = f"{base_url}/sessions/{session_id}/network/files/{path.name}?expires={expires}&signature={signature}"
        items.append(
            {
                "key": path.name,
                "size": path.stat().st_size,
                "download_url": link if download else None,
                "download_url_expires_in_seconds": LINK_TTL_S if download else None,
            }
        )
    return {"session_id": session_id, "format": "batched_v1", "batches": items, "total_batch_count": len(batches)}


@router.get("/{session_id}/network/files/{name}", response_class=FileResponse)
async def network_file(
    svc: ServicesDep, session_id: str, name: str, expires: int = 0, signature: str = ""
) -> FileResponse:
    secret = await svc.store.server_secret()
    valid = signed(secret, signature, expires, "network", session_id, name)
    path = svc.sessions.session_dir(session_id) / "network" / name
    if not valid or "/" in name or name.startswith(".") or not path.is_file():
        raise NotFound(f"no network log file {name} (the link is wrong or expired)")
    return FileResponse(path, media_type="application/x-ndjson")


@router.get("/{session_id}/offset")
async def offset(svc: ServicesDep, principal: PrincipalDep, session_id: str) -> dict[str, int]:
    """The session's trajectory offset: the page actions it has executed so far."""
    found = await svc.sessions.get(principal, session_id)
    return {"offset": found.steps}


@router.get("/{session_id}/debug/tab")
async def debug_tab(
    svc: ServicesDep,
    principal: PrincipalDep,
    base_url: LinkBaseDep,
    session_id: str,
    tab_idx: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    """Notte's TabSessionDebugResponse for one tab (the current one without `tab_idx`)."""
    session = await svc.sessions.active(principal, session_id)
    if session.driver is None:
        raise NotFound(f"session {session_id} has no page")
    pages = session.driver.pages
    if tab_idx is None:
        current = session.driver.current()
        index = pages.index(current) if current in pages else len(pages) - 1
    else:
        index = tab_idx
    if not 0 <= index < len(pages):
        raise NotFound(f"session {session_id} has no tab {tab_idx}; {len(pages)} tabs are open")
    with _browser_errors(session_id):
        title = await pages[index].title()
    return {
        "metadata": {"tab_id": index, "title": title, "url": pages[index].url},
        "debug_url": "",
        "ws_url": cdp_url(svc, session_id, base_url),
    }


@router.get("/{session_id}/workflow/code")
async def workflow_code(
    svc: ServicesDep,
    principal: PrincipalDep,
    session_id: str,
    as_workflow: bool = True,
    infer_response_format: Annotated[
        bool,
        Query(
            description="Give each scrape with instructions but no response_format one the model writes"
            " (501 without a model: setting BROWSERFN_LLM_MODEL)"
        ),
    ] = False,
) -> dict[str, Any]:
    """Notte's AgentFunctionCodeResponse: the session's successful actions as a Python script
    using the SDK (`as_workflow`: a whole function file with `run()`; else only the steps) and
    as the JSON action list."""
    await svc.sessions.get(principal, session_id)
    actions = read_actions(svc.sessions.session_dir(session_id))
    if infer_response_format:
        layer = require(svc.sessions.llm, "infer_response_format")
        caller = Caller(principal.account_id, principal.run_id, session_id)
        for action in actions:
            if action.get("type") == "scrape" and action.get("instructions") and action.get("response_format") is None:
                action["response_format"] = await inferred_format(layer, str(action["instructions"]), caller)
    return {"python_script": script_export.python_script(actions, as_workflow), "json_actions": actions}


@router.get("/{session_id}/replay/mouse")
async def mouse_replay(svc: ServicesDep, principal: PrincipalDep, session_id: str) -> Response:
    """Not served: browserfn records no mouse trail (its replay is the video and its frames)."""
    await svc.sessions.get(principal, session_id)
    return error_response(
        501, "mouse replay is not recorded by this server: use GET /sessions/{id}/replay (video and frames)"
    )
