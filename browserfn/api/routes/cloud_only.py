"""Operations of Notte's cloud that have nothing to act on here, each answering what is true on
this server instead of a bare "Not Found": managed auth connections (sessions here start without
`auth_ids`, so none exists), agent payments (no payment provider) and the `anything` task builder
(not built here: agents and functions are)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from browserfn.api.access import requires
from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.api.errors import error_response
from browserfn.errors import NotFound
from browserfn.models import Scope

#: A run's key may call only the session's payments (a session's calls are a script's); the rest
#: is closed to it, as a script needs none of it.
router = APIRouter(tags=["cloud only"])
_NO_MANAGED_AUTH = (
    "managed auth is Notte cloud's: this server has no managed auth connections (sessions start without auth_ids)"
)


@router.post("/managed-auth/connections/{connection_id}/check")
@router.post("/managed-auth/connections/{connection_id}/refresh")
@router.post("/managed-auth/connections/{connection_id}/reauthenticate")
async def managed_auth_connection(principal: PrincipalDep, connection_id: str) -> None:
    raise NotFound(f"managed auth connection {connection_id} not found: {_NO_MANAGED_AUTH}")


@router.get("/managed-auth/operations/{operation_id}")
async def managed_auth_operation(principal: PrincipalDep, operation_id: str) -> None:
    raise NotFound(f"managed auth operation {operation_id} not found: {_NO_MANAGED_AUTH}")


@router.post("/sessions/{session_id}/payments", dependencies=[requires(Scope.SESSIONS)])
async def session_payment(svc: ServicesDep, principal: PrincipalDep, session_id: str) -> JSONResponse:
    """Agent payments: the session must be the caller's (404), and then there is no provider."""
    await svc.sessions.get(principal, session_id)
    return error_response(501, "payments: agent payments are Notte cloud's; this server has no payment provider")


class AnythingStartRequest(BaseModel):
    task: str = Field(min_length=1, max_length=20_000)


@router.post("/anything/start")
async def anything_start(principal: PrincipalDep, body: AnythingStartRequest) -> JSONResponse:
    return error_response(
        501,
        "anything: Notte cloud's task builder is not served here; run the task with an agent "
        "(POST /agents/start) or deploy it as a function",
    )
