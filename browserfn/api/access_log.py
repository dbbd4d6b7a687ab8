"""One log line per request at info level, when its answer is complete: method, path (never
the query: signed links and CDP tokens live there), status, duration and client. A streamed
answer (SSE) is logged when its stream ends; a 5xx is a warning."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from browserfn.logsetup import IN_MESSAGE
from browserfn.metrics import Metrics

log = logging.getLogger("browserfn.access")


class AccessLog:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "websocket.accept":
                status = 101
            elif message["type"] == "websocket.close" and not status:
                status = 403
            await send(message)

        try:
            await self.app(scope, receive, send_seen)
        except BaseException:
            status = status or 500
            raise
        finally:
            method = scope.get("method", "WS")
            seconds = time.perf_counter() - started
            self.metrics.request_done(method, scope["path"], status, seconds)
            level = logging.WARNING if status >= 500 else logging.INFO
            if log.isEnabledFor(level):
                _log(level, method, scope, status, seconds)


def _log(level: int, method: str, scope: Scope, status: int, seconds: float) -> None:
    client = scope.get("client")
    duration_ms = round(seconds * 1000, 1)
    context = {
        "method": method,
        "path": scope["path"],
        "status": status,
        "duration_ms": duration_ms,
        "client": client[0] if client else None,
    }
    message = "%(method)s %(path)s %(status)s %(duration_ms).1f ms from %(client)s"
    log.log(level, message % context, extra={**context, IN_MESSAGE: tuple(context)})
