"""Runs of a function: create, start (streamed or not), list, read, follow, stop, report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response

from browserfn import wire
from browserfn.api import sse
from browserfn.api.access import requires
from browserfn.api.deps import PrincipalDep, Services, ServicesDep
from browserfn.api.routes import run_payloads
from browserfn.api.routes.functions import MAX_SEQ, PageQuery, PageSizeQuery
from browserfn.api.schemas import CreateRunRequest, ReportRunRequest, StartCreatedRunRequest, StartRunRequest
from browserfn.errors import InvalidInput, NotFound
from browserfn.functions import existing_version
from browserfn.models import Principal, Run, Scope, WireStatus, states_with_status

router = APIRouter(prefix="/functions/{function_id}/runs", tags=["runs"])


def _update_response(run: Run, status: str) -> dict[str, Any]:
    """Notte's UpdateFunctionRunResponse (`status` is "updated" or "stopped")."""
    return {
        **wire.run_ids(run),
        "updated_at": run.updated_at.isoformat(),
        "status": status,
        "state": run.state.value,
    }


@router.post("/create", dependencies=[requires(Scope.START_RUNS)])
async def create_run(
    svc: ServicesDep, principal: PrincipalDep, function_id: str, body: CreateRunRequest | None = None
) -> dict[str, Any]:
    """Make a run to start later (what the SDK does before starting)."""
    function, found = await svc.functions.visible_with_version(principal, function_id, None)
    version = existing_version(function, None, found)
    run = await svc.runs.create(principal, function, version, local=bool(body and body.local))
    return {**wire.run_ids(run), "created_at": run.created_at.isoformat(), "status": "created"}


async def _start(
    svc: Services,
    principal: Principal,
    function_id: str,
    body: StartRunRequest,
    version: str | None,
    run_id: str | None,
) -> Response:
    # An unknown function: 404 first; then a body naming another one; then an unknown version.
    function, found = await svc.functions.visible_with_version(principal, function_id, version)
    target = body.target_function_id()
    if target is not None and target != function_id:
        raise InvalidInput(f"body names function {target} but the path names {function_id}")
    chosen = existing_version(function, version, found)
    if run_id is not None and version is not None:
        # A run made by runs/create is bound to the version that was latest then.
        created = await svc.runs.get(principal, function_id, run_id)
        if created.function_version != chosen.version:
            raise InvalidInput(
                f"run {run_id} was created for version {created.function_version}: start it without `version`, "
                f"or start a new run with ?version={chosen.version}"
            )
    if body.callback_url is not None:
        await svc.webhooks.check_url(body.callback_url)
    run = await svc.runs.start(principal, function, chosen, body.variables, timeout_s=body.timeout, run_id=run_id)
    if body.callback_url is not None:
        await svc.webhooks.register_callback(run.run_id, body.callback_url)
    if body.stream:
        return sse.response(svc.runs.follow(run.run_id))
    ended = await svc.runs.wait_until_ended(run.run_id)
    return JSONResponse(wire.function_run_response(ended))


@router.post("/start", dependencies=[requires(Scope.START_RUNS)])
async def start_run(
    svc: ServicesDep,
    principal: PrincipalDep,
    function_id: str,
    body: StartRunRequest,
    version: Annotated[str | None, Query(description="Run this version instead of the latest")] = None,
) -> Response:
    """Create and start a run: an SSE stream of `log`, `session_start` and `result` events, or
    with `stream: false`, the final FunctionRunResponse."""
    if body.workflow_id is None and body.function_id is None:
        raise InvalidInput("workflow_id (or function_id) is required: the ID of the function to run")
    return await _start(svc, principal, function_id, body, version, None)


@router.get("/")
@router.get("", include_in_schema=False)
async def list_runs(
    svc: ServicesDep,
    principal: PrincipalDep,
    function_id: str,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 10,
    only_active: Annotated[bool, Query(description="Only runs still active")] = True,
    only_current_token: Annotated[bool, Query(description="Only runs started with the calling key")] = False,
    before: Annotated[int | None, Query(ge=1, le=MAX_SEQ, description="Only runs up to this `seq`: pins pages")] = None,
    status: Annotated[
        WireStatus | None,
        Query(description="Only runs with this wire status (an extension); takes precedence over `only_active`"),
    ] = None,
) -> dict[str, Any]:
    """The caller's runs of a function, newest first. A function that does not exist (or that the
    caller cannot see) has no runs: an empty page, as Notte answers."""
    try:
        await svc.functions.get_visible(principal, function_id)
    except NotFound:
        return {"items": [], "page": page, "page_size": page_size, "has_next": False, "has_previous": page > 1}
    found = await svc.runs.list_runs(
        principal,
        function_id,
        page=page,
        page_size=page_size,
        only_active=only_active and status is None,
        only_current_token=only_current_token,
        before_seq=before,
        states=None if status is None else states_with_status(status),
    )
    return {
        "items": [{**wire.run_record(run, None), "seq": run.seq} for run in found.runs],
        "page": page,
        "page_size": page_size,
        "has_next": found.has_next,
        "has_previous": page > 1,
    }


@router.post("/{run_id}", dependencies=[requires(Scope.START_RUNS)])
async def start_created_run(
    svc: ServicesDep,
    principal: PrincipalDep,
    function_id: str,
    run_id: str,
    body: StartCreatedRunRequest,
    version: Annotated[str | None, Query(description="Run this version instead of the latest")] = None,
) -> Response:
    """Start a run made by `runs/create` (what the official SDK calls)."""
    named = body.workflow_run_id or body.function_run_id
    if named is not None and named != run_id:
        await svc.runs.get(principal, function_id, run_id)  # an unknown run: 404 first
        raise InvalidInput(f"body names run {named} but the path names {run_id}")
    return await _start(svc, principal, function_id, body, version, run_id)


@router.get("/{run_id}", dependencies=[requires(Scope.READ_OWN_RUN)])
async def read_run(
    svc: ServicesDep, principal: PrincipalDep, function_id: str, run_id: str, payload_mode: str = "inline"
) -> dict[str, Any]:
    """A run with its logs, variables and result (results and logs are always inline)."""
    run = await svc.runs.get(principal, function_id, run_id)
    return wire.run_record(run, await svc.runs.logs(run_id))


@router.get("/{run_id}/stream", dependencies=[requires(Scope.READ_OWN_RUN)])
async def follow_run(
    svc: ServicesDep,
    principal: PrincipalDep,
    function_id: str,
    run_id: str,
    after: Annotated[int | None, Query(ge=0, le=MAX_SEQ, description="Resume after this event id")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    """Re-attach to a run's event stream: every event from the start, or after `Last-Event-ID`."""
    await svc.runs.get(principal, function_id, run_id)
    resume = after
    if resume is None and last_event_id:
        if not last_event_id.strip().isdigit() or int(last_event_id) > MAX_SEQ:
            raise InvalidInput("Last-Event-ID must be the id of an event (a whole number)")
        resume = int(last_event_id)
    return sse.response(svc.runs.follow(run_id, resume or 0))


@router.delete("/{run_id}")
async def stop_run(svc: ServicesDep, principal: PrincipalDep, function_id: str, run_id: str) -> dict[str, Any]:
    """Stop a run: its process tree and browsers are killed; its stream ends with `result`."""
    run = await svc.runs.stop(principal, function_id, run_id)
    return _update_response(run, "stopped")


@router.patch("/{run_id}")
async def report_run(
    svc: ServicesDep, principal: PrincipalDep, function_id: str, run_id: str, body: ReportRunRequest
) -> dict[str, Any]:
    """Record a run executed elsewhere: its logs, result and final status (fields too large to
    send inline come as `payloads`, uploaded first: routes/run_payloads.py)."""
    fields = body.model_dump(exclude_unset=True, exclude={"payloads", "result_preview"})
    if body.payloads:
        await svc.runs.get(principal, function_id, run_id)
        fields.update(await run_payloads.resolve(svc.store, principal, run_id, body.payloads))
    run = await svc.runs.report(principal, function_id, run_id, fields)
    if body.payloads:
        await run_payloads.discard(svc.store, run_id)
    return _update_response(run, "updated")
