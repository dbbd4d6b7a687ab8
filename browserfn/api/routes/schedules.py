"""Schedules: a cron per function (Notte's `POST|DELETE /functions/{id}/schedule`), its tick log,
and the account's listing."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from browserfn import tokens
from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.automation import Schedule, ScheduleTick
from browserfn.errors import NotFound
from browserfn.models import utcnow
from browserfn.scheduler import check_cron, next_tick

router = APIRouter(tags=["schedules"])


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cron: str = Field(description="5 fields (minute hour day month weekday), or 6 with seconds last")
    variables: dict[str, Any] = Field(default_factory=dict, description="The variables every scheduled run gets")
    timezone: str = Field("UTC", description="IANA timezone the cron is read in")
    allow_overlap: bool = Field(False, description="Start a tick's run even if the previous one is still active")


class ScheduleResponse(BaseModel):
    schedule_id: str
    function_id: str
    cron: str
    timezone: str
    variables: dict[str, Any]
    allow_overlap: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    next_tick_at: dt.datetime = Field(description="When it fires next (UTC)")


class ScheduleSetResponse(BaseModel):
    status: Literal["success"]
    schedule: ScheduleResponse


class ScheduleDeleteResponse(BaseModel):
    status: Literal["success"]
    message: str


class ScheduleList(BaseModel):
    items: list[ScheduleResponse]


class TickResponse(BaseModel):
    tick: dt.datetime = Field(description="The cron tick (UTC)")
    outcome: Literal["claimed", "started", "skipped", "failed"]
    function_run_id: str | None
    reason: str | None
    claimed_by: str = Field(description="The scheduler that claimed the tick")
    recorded_at: dt.datetime


class TickList(BaseModel):
    items: list[TickResponse]


def _schedule_response(schedule: Schedule) -> ScheduleResponse:
    return ScheduleResponse(
        schedule_id=schedule.schedule_id,
        function_id=schedule.function_id,
        cron=schedule.cron,
        timezone=schedule.timezone,
        variables=schedule.variables,
        allow_overlap=schedule.allow_overlap,
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
        next_tick_at=next_tick(schedule.cron, schedule.timezone, utcnow()),
    )


def _tick_response(tick: ScheduleTick) -> TickResponse:
    return TickResponse(
        tick=tick.tick,
        outcome=tick.outcome.value,  # type: ignore[arg-type]
        function_run_id=tick.run_id,
        reason=tick.reason,
        claimed_by=tick.claimed_by,
        recorded_at=tick.created_at,
    )


@router.post("/functions/{function_id}/schedule")
async def set_schedule(
    svc: ServicesDep, principal: PrincipalDep, function_id: str, body: ScheduleRequest
) -> ScheduleSetResponse:
    """Run the function on a cron (replaces its schedule, if it had one)."""
    await svc.functions.get_owned(principal, function_id)
    check_cron(body.cron, body.timezone)
    now = utcnow()
    schedule = Schedule(
        schedule_id=tokens.new_id(),
        function_id=function_id,
        account_id=principal.account_id,
        key_id=principal.key_id,
        cron=body.cron,
        timezone=body.timezone,
        variables=body.variables,
        allow_overlap=body.allow_overlap,
        created_at=now,
        updated_at=now,
    )
    return ScheduleSetResponse(status="success", schedule=_schedule_response(await svc.store.put_schedule(schedule)))


@router.get("/functions/{function_id}/schedule")
async def read_schedule(svc: ServicesDep, principal: PrincipalDep, function_id: str) -> ScheduleResponse:
    await svc.functions.get_owned(principal, function_id)
    schedule = await svc.store.get_schedule(function_id)
    if schedule is None:
        raise NotFound(f"function {function_id} has no schedule")
    return _schedule_response(schedule)


@router.delete("/functions/{function_id}/schedule")
async def delete_schedule(svc: ServicesDep, principal: PrincipalDep, function_id: str) -> ScheduleDeleteResponse:
    """Stop running the function on its cron (runs already started go on)."""
    await svc.functions.get_owned(principal, function_id)
    if not await svc.store.delete_schedule(function_id):
        raise NotFound(f"function {function_id} has no schedule")
    return ScheduleDeleteResponse(status="success", message=f"schedule of function {function_id} deleted")


@router.get("/functions/{function_id}/schedule/ticks")
async def list_schedule_ticks(
    svc: ServicesDep,
    principal: PrincipalDep,
    function_id: str,
    limit: int = Query(50, ge=1, le=500, description="Newest ticks first"),
) -> TickList:
    """What each tick did: started a run, was skipped (overlap), or failed to start."""
    await svc.functions.get_owned(principal, function_id)
    return TickList(items=[_tick_response(t) for t in await svc.store.list_schedule_ticks(function_id, limit)])


@router.get("/schedules")
async def list_schedules(svc: ServicesDep, principal: PrincipalDep) -> ScheduleList:
    """Every schedule of the caller's account."""
    return ScheduleList(items=[_schedule_response(s) for s in await svc.store.list_schedules(principal.account_id)])
