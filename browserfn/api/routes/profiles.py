"""Notte's profiles API (create, list, get, delete, duplicate, cookies, state import) and a
session's profile calls (`profile/save`, `profile-preview`). A profile is the account's own:
another account's is a 404. While a persisting session holds a profile, saving into it from
elsewhere and deleting it are 409s (browserfn/profiles.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from browserfn.api.access import requires
from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.api.paging import offset, page_of
from browserfn.api.routes.functions import PageQuery
from browserfn.api.routes.sessions import _browser_errors
from browserfn.browser import cookies as cookie_shapes
from browserfn.errors import Forbidden, InvalidInput, NotFound
from browserfn.models import Scope
from browserfn.profiles import StateImport, capture, import_state, merge_cookies, response, stored_cookies
from browserfn.store.ops import profiles as ops

#: The account's profiles: a run's key may use them, a guest run's (it lacks BROWSER_DATA) may not.
router = APIRouter(prefix="/profiles", tags=["profiles"], dependencies=[requires(Scope.BROWSER_DATA)])
session_router = APIRouter(prefix="/sessions", tags=["profiles"], dependencies=[requires(Scope.SESSIONS)])
Name = Annotated[str | None, Field(default=None, min_length=1, max_length=256)]


class CreateProfileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name = None


class CookiesImport(BaseModel):
    """Notte's ProfileCookiesImportRequest (Playwright's or a Chrome export's cookie shape)."""

    model_config = ConfigDict(extra="forbid")
    cookies: list[Any] = Field(min_length=1, max_length=cookie_shapes.MAX_COOKIES)
    source_format: Literal["playwright", "chrome"] = "playwright"
    mode: Literal["replace", "append"] = "replace"


@router.post("/create")
async def create_profile(svc: ServicesDep, principal: PrincipalDep, body: CreateProfileRequest | None = None) -> dict:
    name = (body or CreateProfileRequest()).name
    return response(await svc.sessions.profiles.create(principal, name))


@router.get("")
@router.get("/", include_in_schema=False)
async def list_profiles(
    svc: ServicesDep,
    principal: PrincipalDep,
    page: PageQuery = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 10,
    name: str | None = None,
) -> dict[str, Any]:
    """The account's profiles, newest first (`name`: only those of that name)."""
    found = await svc.store.call(ops.listing, principal.account_id, name, offset(page, page_size), page_size + 1)
    return page_of(found, page, page_size, lambda profile: response(svc.sessions.profiles.opened(profile)))


@router.get("/{profile_id}")
async def get_profile(svc: ServicesDep, principal: PrincipalDep, profile_id: str) -> dict[str, Any]:
    return response(await svc.sessions.profiles.get(principal, profile_id))


@router.delete("/{profile_id}")
async def delete_profile(svc: ServicesDep, principal: PrincipalDep, profile_id: str) -> dict[str, Any]:
    await svc.sessions.profiles.delete(principal, profile_id)
    return {"success": True, "message": "Profile deleted successfully"}


@router.post("/{profile_id}/duplicate")
async def duplicate_profile(
    svc: ServicesDep, principal: PrincipalDep, profile_id: str, body: CreateProfileRequest | None = None
) -> dict[str, Any]:
    """A new profile with the same state (named as the source unless `name` is given)."""
    source = await svc.sessions.profiles.get(principal, profile_id)
    name = (body or CreateProfileRequest()).name or source.name
    return response(await svc.sessions.profiles.create(principal, name, source.state))


@router.get("/{profile_id}/cookies")
async def profile_cookies(svc: ServicesDep, principal: PrincipalDep, profile_id: str) -> dict[str, Any]:
    found = await svc.sessions.profiles.get(principal, profile_id)
    return {"cookies": [cookie_shapes.to_notte(c) for c in found.state.get("cookies", [])]}


@router.post("/{profile_id}/cookies")
async def import_cookies(
    svc: ServicesDep, principal: PrincipalDep, profile_id: str, body: CookiesImport
) -> dict[str, Any]:
    """Replace the profile's cookies (`replace`) or add to them (`append`; same name, domain and
    path replaced). Both source formats are read by the same rules (`expirationDate` or
    `expires`, Chrome's `no_restriction`/`lax`/`strict` as SameSite)."""
    profiles = svc.sessions.profiles
    found = await profiles.get(principal, profile_id)
    cookies = stored_cookies(body.cookies)
    kept = cookies if body.mode == "replace" else merge_cookies(found.state.get("cookies", []), cookies)
    await profiles.save(principal, profile_id, {**found.state, "cookies": kept})
    return {
        "success": True,
        "message": f"{len(cookies)} cookies imported ({body.mode})",
        "cookies_count": len(cookies),
        "mode": body.mode,
    }


@router.post("/{profile_id}/state")
async def import_profile_state(
    svc: ServicesDep, principal: PrincipalDep, profile_id: str, body: StateImport
) -> dict[str, Any]:
    """Import cookies, local and session storage (see profiles.import_state for the modes)."""
    profiles = svc.sessions.profiles
    found = await profiles.get(principal, profile_id)
    await profiles.save(principal, profile_id, import_state(found.state, body))
    return {
        "success": True,
        "cookies_count": len(body.cookies or []),
        "local_storage_origins": len(body.local_storage or {}),
        "session_storage_origins": len(body.session_storage or {}),
    }


class SaveProfileRequest(BaseModel):
    """Notte's SessionProfileSaveRequest: `profile_id` or `name`, not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "not": {
                "required": ["profile_id", "name"],
                "properties": {"profile_id": {"type": "string"}, "name": {"type": "string"}},
            }
        },
    )
    profile_id: str | None = Field(default=None, min_length=1, max_length=64)
    name: Name = None


@session_router.post("/{session_id}/profile/save")
async def save_session_profile(
    svc: ServicesDep, principal: PrincipalDep, session_id: str, body: SaveProfileRequest | None = None
) -> dict[str, Any]:
    """The session's current browser state into a profile, without stopping it: `profile_id`,
    a new profile called `name`, or (with neither) the profile the session started with."""
    body = body or SaveProfileRequest()
    if body.profile_id is not None and body.name is not None:
        raise InvalidInput("profile_id and name are mutually exclusive")
    session = await svc.sessions.active(principal, session_id)
    if Scope.BROWSER_DATA not in principal.scopes:
        raise Forbidden("a run of another account's shared function cannot save into this account's profiles")
    profiles = svc.sessions.profiles
    target = body.profile_id or (session.profile.profile_id if session.profile and body.name is None else None)
    if target is None and body.name is None:
        raise InvalidInput(f"session {session_id} started without a profile: give profile_id or name")
    if target is not None:
        await profiles.get(principal, target)  # 404 before reading the browser
    if session.browser is None:
        raise NotFound(f"session {session_id} has no browser")
    with _browser_errors(session_id):
        state = await capture(session.browser.context)
    if target is None:
        return response(await profiles.create(principal, body.name, state))
    return response(await profiles.save(principal, target, state, writer=session_id))


@session_router.get("/{session_id}/profile-preview")
async def profile_preview(
    svc: ServicesDep, principal: PrincipalDep, session_id: str, include_cookies: bool = False
) -> dict[str, Any]:
    """The profile the session started with, and (`include_cookies`, open sessions) the domains
    its browser has cookies for now: what a save would keep."""
    record = await svc.sessions.get(principal, session_id)
    profile = record.options.get("profile")
    domains = None
    hosted = svc.sessions.hosted(session_id)
    if include_cookies and hosted is not None and hosted.active and hosted.browser is not None:
        with _browser_errors(session_id):
            found = await hosted.browser.context.cookies()
        domains = sorted({c["domain"].lstrip(".") for c in found})
    return {
        "profile": {"id": profile["id"], "persist": bool(profile.get("persist", False))} if profile else None,
        "cookie_domains": domains,
    }
