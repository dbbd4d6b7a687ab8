"""Server-sent events as the official SDK reads them: `data: <json>` lines with a `type` key,
each event preceded by `id: <seq>` so a client can resume with Last-Event-ID."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from browserfn.models import Event

KEEPALIVE = b": keep-alive\n\n"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(event: Event) -> bytes:
    data = json.dumps({"type": event.type.value, "message": event.message}, ensure_ascii=False)
    return f"id: {event.seq}\ndata: {data}\n\n".encode()


def response(events: AsyncIterator[Event | None]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        async for event in events:
            yield KEEPALIVE if event is None else frame(event)

    return StreamingResponse(body(), media_type="text/event-stream", headers=HEADERS)
