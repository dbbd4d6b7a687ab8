"""`POST /functions/{id}/rollback`: restore an earlier version. The old version's code becomes a
new version, the latest (the history only grows: what ran as each version stays readable), checked
again under `restricted` like any upload."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from browserfn import wire
from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.api.routes.functions import RestrictedQuery
from browserfn.functions import Upload

router = APIRouter(prefix="/functions", tags=["functions"])


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1, max_length=64, description="A version from the function's `versions`")


@router.post("/{function_id}/rollback")
async def rollback_function(
    svc: ServicesDep,
    principal: PrincipalDep,
    function_id: str,
    body: RollbackRequest,
    restricted: RestrictedQuery = True,
) -> dict[str, Any]:
    function = await svc.functions.get_owned(principal, function_id)
    old = await svc.functions.version_of(function, body.version)
    upload = Upload(filename="function.py", content=old.code.encode())
    restored = await svc.functions.update_code(principal, function_id, upload, version=None, restricted=restricted)
    return wire.function_record(restored)
