"""What a run's key may call: each route declares the scopes it needs, in one line, and a run's
key is refused every route that declares none (new routes are closed to run keys by default).

    router = APIRouter(prefix="/sessions", dependencies=[requires(Scope.SESSIONS)])  # a whole family
    @router.get("/{run_id}", dependencies=[requires(Scope.READ_OWN_RUN)])                # one route

An account's key passes every check; the route's own ownership checks still apply to it. Routes
on one session (`/sessions/{id}/...`: cookies, files, page calls) take Scope.SESSIONS: a guest
run's key holds it, and SessionManager shows it only its own run's sessions. Account data used
by sessions but not bound to one (profiles, vaults, personas, stored files) takes
Scope.BROWSER_DATA, which a guest run's key lacks; so do the session actions that read a
persona's inbox (`identities.inbox_action` checks it: their route is a session's). Declare on the
APIRouter or the route: scopes given to `app.include_router(..., dependencies=...)` are not seen
(they count as none: refused).
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from browserfn.errors import Forbidden
from browserfn.models import Principal, PrincipalKind, Scope

_WHAT_RUN_KEYS_MAY_DO = {
    PrincipalKind.RUN_KEY: "open and drive browser sessions, read its own run, and start runs of its account's "
    "functions",
    PrincipalKind.GUEST_RUN_KEY: "open and drive the browser sessions of its own run (it runs a function shared "
    "by another account)",
}


class Requirement:
    """The scopes a route declares (a FastAPI dependency that does nothing by itself: `check`
    reads it from the route)."""

    def __init__(self, scopes: frozenset[Scope]) -> None:
        self.scopes = scopes

    async def __call__(self) -> None:
        return None


def requires(*scopes: Scope) -> Any:
    """Declare that a route (or a router's every route) may be called by a run's key holding `scopes`."""
    return Depends(Requirement(frozenset(scopes)))


def declared_scopes(route: Any) -> frozenset[Scope]:
    """Every scope `route` declares (its router's and its own); empty: closed to run keys."""
    found: frozenset[Scope] = frozenset()
    for dependency in getattr(route, "dependencies", ()):
        if isinstance(dependency.dependency, Requirement):
            found |= dependency.dependency.scopes
    return found


def check(request: Request, caller: Principal) -> None:
    """Refuse (403) a run's key on a route it may not call."""
    kind = caller.kind
    if kind is PrincipalKind.ACCOUNT_KEY:
        return
    route = request.scope.get("route")
    declared = declared_scopes(route)
    if not declared or not declared <= caller.scopes:
        what = f"{request.method} {getattr(route, 'path', request.url.path)}"
        raise Forbidden(
            f"a run's key (the NOTTE_API_KEY of a run) cannot call {what}: it may only "
            f"{_WHAT_RUN_KEYS_MAY_DO[kind]}. Use an account API key for this."
        )
    if Scope.READ_OWN_RUN in declared and request.path_params.get("run_id") != caller.run_id:
        raise Forbidden("a run's key (the NOTTE_API_KEY of a run) may read only its own run")
