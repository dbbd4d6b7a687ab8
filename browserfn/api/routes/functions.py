"""Functions: create, list, get (with a code link), update, change metadata, delete, fork."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse

from browserfn import wire
from browserfn.api.access import requires
from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.api.schemas import UpdateFunctionRequest
from browserfn.functions import Upload
from browserfn.models import Scope

router = APIRouter(prefix="/functions", tags=["functions"])

#: Largest page number, position or sequence number a query may name (the store counts in 64 bits).
MAX_PAGE = 1_000_000_000
MAX_SEQ = 2**63 - 1
PageQuery = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number")]
PageSizeQuery = Annotated[int, Query(ge=1, le=100, description="Number of items per page")]
RestrictedQuery = Annotated[bool, Query(description="Validate the script strictly (Notte's restricted mode)")]


async def _upload(file: UploadFile) -> Upload:
    return Upload(filename=file.filename or "function.py", content=await file.read())


@router.post("/")
@router.post("", include_in_schema=False)
async def create_function(
    svc: ServicesDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="The Python script; it must define `run`")],
    name: Annotated[str | None, Form()] = None,
    description: Annotated[str | None, Form()] = None,
    shared: Annotated[bool, Form()] = False,
    timeout: Annotated[float | None, Form(description="Default run time limit, in seconds")] = None,
    restricted: RestrictedQuery = True,
) -> dict[str, Any]:
    """Deploy a new function from an uploaded script."""
    function = await svc.functions.create(
        principal,
        await _upload(file),
        name=name,
        description=description,
        shared=shared,
        restricted=restricted,
        timeout_s=timeout,
    )
    return wire.function_record(function)


@router.get("/")
@router.get("", include_in_schema=False)
async def list_functions(
    svc: ServicesDep,
    principal: PrincipalDep,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 10,
    only_active: bool = True,
) -> dict[str, Any]:
    """The caller's functions, newest first (every function is active until deleted)."""
    functions, has_next = await svc.functions.list_functions(principal, page, page_size)
    return {
        "items": [wire.function_record(f) for f in functions],
        "page": page,
        "page_size": page_size,
        "has_next": has_next,
        "has_previous": page > 1,
    }


@router.get("/{function_id}", dependencies=[requires(Scope.START_RUNS)])
async def read_function(
    request: Request,
    svc: ServicesDep,
    principal: PrincipalDep,
    function_id: str,
    version: str | None = None,
    function_run_id: str | None = None,
) -> dict[str, Any]:
    """A function, with `url`: a link that downloads its code without credentials."""
    function = await svc.functions.get_visible(principal, function_id)
    if function_run_id is not None:
        version = (await svc.runs.get(principal, function_id, function_run_id)).function_version
    chosen = await svc.functions.version_of(function, version)
    url = await svc.functions.code_url(principal, function, chosen.version, str(request.base_url))
    return {**wire.function_record(function), "url": url}


@router.get("/{function_id}/code/{version}", response_class=PlainTextResponse, include_in_schema=False)
async def download_function_code(
    svc: ServicesDep, function_id: str, version: str, access: str = "", expires: int = 0, signature: str = ""
) -> str:
    """The code behind a signed link (no key: the signature is the credential); it expires, and a
    link given for a shared function stops working once the function is no longer shared."""
    return await svc.functions.code_by_link(function_id, version, access, expires, signature)


@router.post("/{function_id}")
async def update_function_code(
    svc: ServicesDep,
    principal: PrincipalDep,
    function_id: str,
    file: Annotated[UploadFile, File(description="The new script")],
    version: str | None = None,
    restricted: RestrictedQuery = True,
) -> dict[str, Any]:
    """Upload new code: a new latest version, or with `version`, overwrite that version."""
    function = await svc.functions.update_code(
        principal, function_id, await _upload(file), version=version, restricted=restricted
    )
    return wire.function_record(function)


@router.patch("/{function_id}")
async def update_function_metadata(
    svc: ServicesDep, principal: PrincipalDep, function_id: str, body: UpdateFunctionRequest
) -> dict[str, Any]:
    """Change a function's name, description, sharing, runtime or default timeout."""
    function = await svc.functions.update_metadata(principal, function_id, body.store_fields())
    return wire.function_record(function)


@router.delete("/{function_id}")
async def delete_function(svc: ServicesDep, principal: PrincipalDep, function_id: str) -> dict[str, Any]:
    """Delete a function (refused while it has active runs)."""
    await svc.functions.delete(principal, function_id)
    return {"status": "success", "message": f"function {function_id} deleted"}


@router.post("/{function_id}/fork")
async def fork_function(svc: ServicesDep, principal: PrincipalDep, function_id: str) -> dict[str, Any]:
    """Copy a function (yours or a shared one) into a new function of yours."""
    function = await svc.functions.fork(principal, function_id)
    return wire.function_record(function)
