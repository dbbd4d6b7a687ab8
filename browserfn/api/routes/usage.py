"""`GET /usage` and `GET /usage/logs`, as Notte's clients call them: the caller's account's usage
in a monthly period ("May 2025"; default: this month, UTC). Notte's fields are all there; as a
self-hosted server bills nothing, its costs, limits and balances are 0 (`plan_type`
"self-hosted"). Extensions carry what was used: `run_count`, `run_seconds`, `session_minutes`,
`model_tokens`, and the period's bounds."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.api.paging import offset, page_of
from browserfn.api.routes.functions import PageQuery, PageSizeQuery
from browserfn.errors import InvalidInput
from browserfn.models import utcnow
from browserfn.store.ops import usage

router = APIRouter(prefix="/usage", tags=["usage"])
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
#: A month as `month_of` reads it: "May 2025", "Sep 2025" or "2025-05" (years 1000 to 2999), or empty.
_SHORT = "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
PERIOD_PATTERN = rf"^(?:(?:{_MONTHS}|{_SHORT}) [12][0-9]{{3}}|[12][0-9]{{3}}-(?:0?[1-9]|1[0-2]))?$"
PeriodQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        pattern=PERIOD_PATTERN,
        description="The monthly period, e.g. `May 2025` (or `2025-05`); default (absent or empty): this month",
    ),
]


def month_of(period: str | None, now: dt.datetime) -> tuple[str, dt.datetime, dt.datetime]:
    """The period's name and its [start, end) in UTC."""
    if period is None or not period.strip():
        start = dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)
    else:
        for form in ("%B %Y", "%b %Y", "%Y-%m"):
            try:
                start = dt.datetime.strptime(period.strip(), form).replace(tzinfo=dt.UTC)
                break
            except ValueError:
                continue
        else:
            raise InvalidInput(f"period {period!r} is not a month: write it as 'May 2025' or '2025-05'")
    end = dt.datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=dt.UTC)
    return start.strftime("%B %Y"), start, end


@router.get("")
@router.get("/", include_in_schema=False)
async def get_usage(svc: ServicesDep, principal: PrincipalDep, period: PeriodQuery = None) -> dict[str, Any]:
    """The account's usage in the period (Notte's UsageResponse, with what was used as extensions)."""
    now = utcnow()
    name, start, end = month_of(period, now)
    totals = await svc.store.call(usage.totals, principal.account_id, start, end, now)
    return {
        "plan_type": "self-hosted",
        "period": name,
        "session_count": totals.session_count,
        "function_count": totals.run_count,
        "browser_usage_cost": 0.0,
        "proxy_usage_cost": 0.0,
        "llm_usage_cost": 0.0,
        "function_usage_cost": 0.0,
        "total_cost": 0.0,
        "subscription_limit_amount": 0.0,
        "topup_limit_amount": 0.0,
        "subscription_balance_amount": 0.0,
        "topup_balance_amount": 0.0,
        "balance_amount": 0.0,
        "is_usage_limit_exceeded": False,
        # extensions
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "run_count": totals.run_count,
        "run_seconds": totals.run_seconds,
        "functions_run": totals.function_count,
        "session_minutes": totals.session_minutes,
        "model_tokens": {
            "prompt": totals.prompt_tokens,
            "completion": totals.completion_tokens,
            "total": totals.prompt_tokens + totals.completion_tokens,
        },
    }


@router.get("/logs")
async def get_usage_logs(
    svc: ServicesDep,
    principal: PrincipalDep,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 10,
    endpoint: Annotated[
        str | None,
        Query(max_length=100, pattern=r"^[A-Za-z0-9_.-]+$", description="Only this endpoint's records"),
    ] = None,
    only_active: Annotated[bool, Query(description="Accepted for Notte's clients; no effect on usage records")] = True,
    only_current_token: Annotated[
        bool,
        Query(
            description="Usage records are the account's, not a key's: only false", json_schema_extra={"enum": [False]}
        ),
    ] = False,
    period: PeriodQuery = None,
) -> dict[str, Any]:
    """The account's usage records in the period, newest first: one per run
    (`workflows.runs.start`, its duration), per browser session (`sessions.start`) and per
    metered model call."""
    if only_current_token:
        raise InvalidInput("only_current_token=true does not apply: usage records are the account's, not a key's")
    now = utcnow()
    _, start, end = month_of(period, now)
    first = offset(page, page_size)
    found = await svc.store.call(usage.entries, principal.account_id, start, end, now, endpoint, first, page_size + 1)
    return page_of(
        found,
        page,
        page_size,
        lambda e: {"created_at": e.created_at.isoformat(), "duration_ms": e.duration_ms, "endpoint": e.endpoint},
    )
