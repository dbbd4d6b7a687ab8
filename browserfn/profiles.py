"""Browser profiles: a browser state saved per account (cookies, local storage and session storage
by origin), put into a session started with `profile={"id": ..., "persist": ...}` and, with
`persist`, saved back when the session closes. One session at a time holds a profile's write
lease: a second persisting session, a save or a delete while it is held is a 409.

The state is kept in the store (any server reads it) sealed with the server's secrets key, as
secrets are (`secrets.Sealer`): it holds the account's site logins. A state saved before it was
sealed is read as it is and sealed at its next save. Session storage belongs to a tab: a saved
origin's items are put into each new tab of that origin whose session storage is empty."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import re
import secrets
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from browserfn.browser import cookies as cookie_shapes
from browserfn.errors import Conflict, Forbidden, InvalidInput, NotFound
from browserfn.models import Principal, Scope, utcnow
from browserfn.secrets import Sealer
from browserfn.store.base import Store
from browserfn.store.ops import profiles as ops
from browserfn.store.ops.profiles import Profile

log = logging.getLogger(__name__)
#: A lease whose session is not open is free once it is this old (a session being opened holds it first).
LEASE_GRACE = dt.timedelta(seconds=60)
#: Longest a closing session waits for its browser state to be read and saved.
SAVE_TIMEOUT_S = 5.0
MAX_ORIGINS = 2000
Storage = dict[str, dict[str, str]]
#: The one key of a state as the store keeps it: the state's JSON, sealed.
SEALED = "sealed"


#: Notte's profile ids; any other id is simply not found (and never reaches the store).
PROFILE_ID = re.compile(r"^notte-profile-[0-9a-f]{16}$")


def new_profile_id() -> str:
    return f"notte-profile-{secrets.token_hex(8)}"


def empty_state() -> dict[str, Any]:
    return {"cookies": [], "local_storage": {}, "session_storage": {}}


def _host(domain_or_origin: str) -> str:
    host = urlsplit(domain_or_origin).hostname if "://" in domain_or_origin else domain_or_origin
    return (host or "").lstrip(".").lower()


def _matches(host: str, domain: str) -> bool:
    domain = _host(domain)
    return host == domain or host.endswith("." + domain)


def persisted_domains(state: dict[str, Any]) -> list[str]:
    hosts = {_host(c.get("domain", "")) for c in state.get("cookies", [])}
    for part in ("local_storage", "session_storage"):
        hosts |= {_host(origin) for origin in state.get(part, {})}
    return sorted(h for h in hosts if h)


def response(profile: Profile) -> dict[str, Any]:
    """Notte's ProfileResponse."""
    return {
        "profile_id": profile.profile_id,
        "name": profile.name,
        "created_at": profile.created_at.isoformat(),
        "updated_at": profile.updated_at.isoformat(),
        "persisted_domains": persisted_domains(profile.state),
    }


def stored_cookies(raw: Any) -> list[dict[str, Any]]:
    """Cookies a caller sends (Notte's, Chrome-export or Playwright shape) as the profile keeps them."""
    kept = []
    for cookie in cookie_shapes.to_playwright(raw):
        if "url" in cookie:
            url = urlsplit(cookie.pop("url"))
            cookie.update(domain=url.hostname or "", path="/", secure=url.scheme == "https")
        kept.append(cookie)
    return kept


def _cookie_key(cookie: dict[str, Any]) -> tuple[str, str, str]:
    return (cookie["name"], cookie.get("domain", ""), cookie.get("path", "/"))


def merge_cookies(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_key = {_cookie_key(c): c for c in old}
    by_key.update({_cookie_key(c): c for c in new})
    return list(by_key.values())


def _check_storage(name: str, value: Storage | None) -> Storage:
    if value is None:
        return {}
    for origin in value:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise InvalidInput(f"{name}: {origin!r} is not an origin (scheme://host[:port])")
    return {origin.rstrip("/"): dict(items) for origin, items in value.items()}


class StateImport(BaseModel):
    """Notte's ProfileStateImportRequest."""

    model_config = ConfigDict(extra="forbid")
    cookies: list[Any] | None = Field(default=None, max_length=cookie_shapes.MAX_COOKIES)
    local_storage: Storage | None = Field(default=None, max_length=MAX_ORIGINS)
    session_storage: Storage | None = Field(default=None, max_length=MAX_ORIGINS)
    domains: list[str] | None = Field(default=None, min_length=1, max_length=MAX_ORIGINS)
    mode: Literal["replace", "append"] = "replace"
    storage_scope: Literal["domains", "origins"] = "domains"


def import_state(state: dict[str, Any], body: StateImport) -> dict[str, Any]:
    """The profile's state after an import.

    `append` adds the request's cookies (replacing same name, domain and path) and storage items.
    `replace` first removes, for each domain of `domains` (without it: each domain the request
    names), its cookies and its origins' storage, then adds the request's; with `storage_scope:
    origins`, storage is replaced only for the origins present in each storage map."""
    cookies = stored_cookies(body.cookies) if body.cookies is not None else []
    given = {
        "local_storage": _check_storage("local_storage", body.local_storage),
        "session_storage": _check_storage("session_storage", body.session_storage),
    }
    kept_cookies: list[dict[str, Any]] = list(state.get("cookies", []))
    storage: dict[str, Storage] = {part: dict(state.get(part, {})) for part in given}
    if body.mode == "replace":
        named = body.domains or persisted_domains({"cookies": cookies, **given})

        def cleared(host: str) -> bool:
            return any(_matches(host, domain) for domain in named)

        kept_cookies = [c for c in kept_cookies if not cleared(_host(c["domain"]))]
        for part, items in given.items():
            if body.storage_scope == "origins":
                storage[part] = {o: kept for o, kept in storage[part].items() if o not in items}
            else:
                storage[part] = {o: kept for o, kept in storage[part].items() if not cleared(_host(o))}
    for part, items in given.items():
        for origin, values in items.items():
            storage[part][origin] = {**storage[part].get(origin, {}), **values}
    return {"cookies": merge_cookies(kept_cookies, cookies), **storage}


class SessionProfile(BaseModel):
    """Notte's SessionProfile, in a session's start request."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    persist: bool = False


@dataclasses.dataclass
class ProfileUse:
    """A session's profile: which, and whether it saves back at the close (holding the lease)."""

    profile_id: str
    account_id: str
    session_id: str
    persist: bool
    state: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {"id": self.profile_id, "persist": self.persist}


class Profiles:
    def __init__(self, store: Store, sealer: Sealer) -> None:
        self._store = store
        self._sealer = sealer

    def _sealed(self, state: dict[str, Any]) -> dict[str, Any]:
        return {SEALED: self._sealer.seal_json(state).decode()}

    def opened(self, profile: Profile) -> Profile:
        """The profile with its state readable (as the store keeps it: sealed, or plain if saved before)."""
        if set(profile.state) != {SEALED}:
            return profile
        return dataclasses.replace(profile, state=self._sealer.unseal_json(profile.state[SEALED].encode()))

    async def get(self, principal: Principal, profile_id: str) -> Profile:
        if not PROFILE_ID.match(profile_id):
            raise NotFound(f"profile {profile_id} not found")
        found = await self._store.call(ops.get, principal.account_id, profile_id)
        if found is None:
            raise NotFound(f"profile {profile_id} not found")
        return self.opened(found)

    async def create(self, principal: Principal, name: str | None, state: dict[str, Any] | None = None) -> Profile:
        state = state or empty_state()
        created = await self._store.call(
            ops.create, principal.account_id, new_profile_id(), name, self._sealed(state), utcnow()
        )
        return dataclasses.replace(created, state=state)

    async def save(self, principal: Principal, profile_id: str, state: dict[str, Any], writer: str = "") -> Profile:
        now = utcnow()
        holder = await self._store.call(
            ops.save_state, principal.account_id, profile_id, self._sealed(state), writer, now, now - LEASE_GRACE
        )
        _refused(profile_id, holder, "written")
        return await self.get(principal, profile_id)

    async def delete(self, principal: Principal, profile_id: str) -> None:
        now = utcnow()
        _refused(
            profile_id,
            await self._store.call(ops.delete, principal.account_id, profile_id, now - LEASE_GRACE),
            "deleted",
        )

    async def prepare(self, principal: Principal, session_id: str, raw: Any) -> ProfileUse | None:
        """The profile a session starts with (its start request's `profile`), its lease taken if
        it persists; InvalidInput, NotFound or Conflict otherwise."""
        if raw is None:
            return None
        try:
            wanted = SessionProfile.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(f"profile{'.' + where if where else ''}: {first['msg']}") from None
        if Scope.BROWSER_DATA not in principal.scopes:
            raise Forbidden("profile: a run of another account's shared function cannot use this account's profiles")
        found = await self.get(principal, wanted.id)
        if wanted.persist:
            self._sealer.ready()  # refused now, not when its state cannot be saved at the close
            now = utcnow()
            holder = await self._store.call(
                ops.lease, principal.account_id, wanted.id, session_id, now, now - LEASE_GRACE
            )
            _refused(wanted.id, holder, "used with persist")
        return ProfileUse(wanted.id, principal.account_id, session_id, wanted.persist, found.state)

    async def release(self, use: ProfileUse) -> None:
        if use.persist:
            await self._store.call(ops.release, use.profile_id, use.session_id)

    async def save_back(self, use: ProfileUse, context: Any) -> None:
        """At the close of a persisting session: its browser state into the profile, then the lease freed."""
        try:
            state = self._sealed(await asyncio.wait_for(capture(context), SAVE_TIMEOUT_S))
            now = utcnow()
            await self._store.call(
                ops.save_state, use.account_id, use.profile_id, state, use.session_id, now, now - LEASE_GRACE
            )
        except Exception:
            log.exception("session %s: could not save its profile %s", use.session_id, use.profile_id)
        finally:
            await self.release(use)


def _refused(profile_id: str, holder: str | None, doing: str) -> None:
    if holder is None:
        return
    if holder == "":
        raise NotFound(f"profile {profile_id} not found")
    raise Conflict(
        f"profile {profile_id} is being written by session {holder}: it cannot be {doing} until that session closes"
    )


#: Puts a profile's session storage into each new tab of a saved origin whose session storage is empty.
_SESSION_STORAGE_SCRIPT = """(() => {
  const saved = %s;
  const items = saved[location.origin];
  if (items && sessionStorage.length === 0) {
    for (const [key, value] of Object.entries(items)) sessionStorage.setItem(key, value);
  }
})();"""


_SET_LOCAL_STORAGE = "items => { for (const [k, v] of Object.entries(items)) localStorage.setItem(k, v) }"
_READ_SESSION_STORAGE = "() => [location.origin, Object.fromEntries(Object.entries(sessionStorage))]"


async def load(context: Any, state: dict[str, Any]) -> None:
    """Put a profile's state into a browser context before the session's first call."""
    cookies = [
        {k: v for k, v in c.items() if not (k == "expires" and v is not None and v <= 0)}
        for c in state.get("cookies", [])
    ]
    if cookies:
        await context.add_cookies(cookies)
    local: Storage = state.get("local_storage", {})
    if local:
        page = await context.new_page()
        try:
            # Each origin's page is served blank here, never fetched: only its storage is wanted.
            await page.route("**/*", lambda route: route.fulfill(body="<html></html>", content_type="text/html"))
            for origin, items in local.items():
                await page.goto(origin)
                await page.evaluate(
                    "items => { for (const [k, v] of Object.entries(items)) localStorage.setItem(k, v) }", items
                )
        finally:
            await page.close()
    session: Storage = state.get("session_storage", {})
    if session:
        await context.add_init_script(_SESSION_STORAGE_SCRIPT % json.dumps(session))


async def capture(context: Any) -> dict[str, Any]:
    """A browser context's state as a profile keeps it."""
    snapshot = await context.storage_state()
    local = {
        entry["origin"]: {item["name"]: item["value"] for item in entry.get("localStorage", [])}
        for entry in snapshot.get("origins", [])
    }
    session: Storage = {}
    for page in context.pages:
        try:
            origin, items = await page.evaluate(
                "() => [location.origin, Object.fromEntries(Object.entries(sessionStorage))]"
            )
        except Exception:
            continue
        if items and origin.startswith("http"):
            session[origin] = {**session.get(origin, {}), **items}
    return {"cookies": snapshot.get("cookies", []), "local_storage": local, "session_storage": session}
