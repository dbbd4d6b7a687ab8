"""What handlers receive: the services, and the caller (from `Authorization: Bearer` or
`x-notte-api-key`)."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, Header, Request

from browserfn import tokens
from browserfn.api import access
from browserfn.api.ratelimit import limiter_for
from browserfn.browser.sessions import SessionManager
from browserfn.bus import EventBus
from browserfn.config import Settings
from browserfn.errors import Unauthorized
from browserfn.executor.base import Executor
from browserfn.functions import FunctionService
from browserfn.metrics import Metrics
from browserfn.models import Principal
from browserfn.runs import RunService
from browserfn.scheduler import Scheduler
from browserfn.store.base import Store
from browserfn.webhooks import WebhookDispatcher


@dataclasses.dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    bus: EventBus
    executor: Executor
    functions: FunctionService
    runs: RunService
    sessions: SessionManager
    scheduler: Scheduler
    webhooks: WebhookDispatcher
    metrics: Metrics = dataclasses.field(default_factory=Metrics)


# Dependencies are `async def` even where they do not await: FastAPI runs a plain `def` one in
# a worker thread, a hop that cost every request more than the work itself.
async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]
#: Sent by a server relaying a call to the process hosting the session (api/relay.py): the
#: links in the answer (CDP, replay) are then on the relaying server's base URL, as the caller knows it.
RELAYED_FOR_HEADER = "x-browserfn-relayed-for"


async def principal(
    request: Request,
    svc: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
    x_notte_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    secret = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Authorization header must be 'Bearer <api key>'")
        secret = value.strip()
    secret = secret or (x_notte_api_key or "").strip()
    if not secret:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' or 'x-notte-api-key: <key>'")
    found = await svc.store.find_principal(tokens.hash_secret(secret))
    if found is None:
        raise Unauthorized("invalid or revoked API key")
    if found.run_id is not None and tokens.is_guest_run_token(secret):  # the hash vouches for the prefix
        found = dataclasses.replace(found, guest=True)
    limiter_for(request.app, svc.settings).check(found.key_id)
    access.check(request, found)
    return found


PrincipalDep = Annotated[Principal, Depends(principal)]


async def link_base(request: Request, svc: ServicesDep, caller: PrincipalDep) -> str:
    """The base URL of the links an answer gives: the relaying server's for a relayed call; this
    process's own for its runs (they call it there); else the public one."""
    relayed = request.headers.get(RELAYED_FOR_HEADER, "")
    if relayed.startswith(("http://", "https://")):
        return relayed.rstrip("/")
    return svc.settings.internal_base_url if caller.run_id is not None else svc.settings.base_url


LinkBaseDep = Annotated[str, Depends(link_base)]
