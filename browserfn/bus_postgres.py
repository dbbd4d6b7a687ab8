"""PostgresEventBus: wakes readers in every process. The store sends
`pg_notify('browserfn_events', run_id)` in the transactions that add events; this bus LISTENs on
one connection (reconnecting after a database restart) and wakes local waiters."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg

from browserfn.bus import LocalEventBus

log = logging.getLogger(__name__)
EVENTS_CHANNEL = "browserfn_events"
RECONNECT_DELAY_S = 0.5


class PostgresEventBus(LocalEventBus):
    def __init__(self, dsn: str) -> None:
        super().__init__()
        self._dsn = dsn
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen_forever(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {EVENTS_CHANNEL}")
                    log.info("listening for run events")
                    async for notification in conn.notifies():
                        self.publish(notification.payload)
            except psycopg.OperationalError as exc:
                log.warning("event listener lost the database (%s); reconnecting", exc)
                await asyncio.sleep(RECONNECT_DELAY_S)
