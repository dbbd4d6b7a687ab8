"""`GET /metrics`: the process's Prometheus metrics (text exposition format). No key: a scraper
has none, and no label names an account, a run or a session; keep the path off the public
internet at the proxy if even deployment-wide counts are private."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from browserfn.api.deps import ServicesDep

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def read_metrics(svc: ServicesDep) -> Response:
    metrics = svc.metrics
    await metrics.refresh(svc.store)
    ready, hosted = svc.sessions.pool.ready_count, svc.sessions.hosted_count
    metrics.pool_ready.set(ready)
    metrics.sessions_open.set(hosted)
    metrics.browsers_alive.set(ready + svc.sessions.browsers_in_use)
    metrics.pool_size.set(svc.settings.browser_pool_size)
    metrics.warm_processes.set(svc.settings.warm_processes)
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
