"""A Procrastinate connector that rides out a database restart, at one round trip per query.

Procrastinate stops its worker when a side task (heartbeat, job listener) or a job fetch meets a
dead connection. Here every query retries while the database is unreachable (the pool reconnects
underneath), and the listener reconnects, so a PostgreSQL restart costs a pause, not a worker.

Each of Procrastinate's queries is one statement (a function call), atomic on its own, so its
pool's connections are in autocommit (no BEGIN and COMMIT around each), and are not checked with
a query of their own before each use: a connection that died idle fails its query, the pool
drops it, and the retry takes another. A query costs one round trip instead of four."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import procrastinate
import psycopg
import psycopg_pool
from procrastinate import connector as connector_module
from procrastinate.exceptions import ConnectorException

log = logging.getLogger(__name__)
T = TypeVar("T")
#: How long a query keeps retrying before the error is let through.
RECONNECT_BUDGET_S = 60.0
RETRY_DELAY_S = 0.5


def _unreachable(exc: BaseException) -> bool:
    cause = exc.__cause__ if isinstance(exc, ConnectorException) else exc
    return isinstance(cause, psycopg.OperationalError)


def _unchecked_pool(**arguments: Any) -> psycopg_pool.AsyncConnectionPool:
    return psycopg_pool.AsyncConnectionPool(**{**arguments, "check": None})


async def _autocommit(connection: psycopg.AsyncConnection[Any]) -> None:
    await connection.set_autocommit(True)


class ReconnectingConnector(procrastinate.PsycopgConnector):
    def __init__(self, conninfo: str) -> None:
        # `configure` (not `kwargs`): Procrastinate opens its listener's connection with the
        # pool's kwargs and autocommit=True of its own, then configures it like the pool's.
        super().__init__(conninfo=conninfo, configure=_autocommit, pool_factory=_unchecked_pool)

    async def _retry(self, attempt: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECONNECT_BUDGET_S
        while True:
            try:
                return await attempt()
            except (ConnectorException, psycopg.OperationalError) as exc:
                if not _unreachable(exc) or loop.time() > deadline:
                    raise
                log.warning("job queue database unreachable; retrying in %.1f s", RETRY_DELAY_S)
                await asyncio.sleep(RETRY_DELAY_S)

    async def execute_query_async(self, query: Any, **arguments: Any) -> None:
        await self._retry(lambda: super(ReconnectingConnector, self).execute_query_async(query, **arguments))

    async def execute_query_one_async(self, query: Any, **arguments: Any) -> dict[str, Any]:
        return await self._retry(lambda: super(ReconnectingConnector, self).execute_query_one_async(query, **arguments))

    async def execute_query_all_async(self, query: Any, **arguments: Any) -> list[dict[str, Any]]:
        return await self._retry(lambda: super(ReconnectingConnector, self).execute_query_all_async(query, **arguments))

    async def listen_notify(self, on_notification: connector_module.Notify, channels: Iterable[str]) -> None:
        while True:
            try:
                await super().listen_notify(on_notification=on_notification, channels=channels)
            except (ConnectorException, psycopg.OperationalError) as exc:
                if not _unreachable(exc):
                    raise
                log.warning("job listener lost the database; reconnecting in %.1f s", RETRY_DELAY_S)
                await asyncio.sleep(RETRY_DELAY_S)
