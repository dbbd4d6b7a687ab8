"""uvicorn's server: without its signal handlers, for a process that decides itself when to stop
listening (a worker: only after its runs, which call its API, have ended); announcing itself,
for `serve`."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

import browserfn
from browserfn import heap
from browserfn.config import Settings
from browserfn.logsetup import IN_MESSAGE, startup_context

log = logging.getLogger("browserfn.server")


class Listener(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class AnnouncingServer(uvicorn.Server):
    """Says once it listens where and on what (uvicorn's own lines are off)."""

    def __init__(self, config: uvicorn.Config, settings: Settings) -> None:
        super().__init__(config)
        self.settings = settings

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            heap.freeze_startup_heap()  # the app and its services are up (uvicorn ran the lifespan)
            context = startup_context(self.settings)
            message = f"browserfn {browserfn.__version__} listening on {context['address']}"
            log.info(message, extra={**context, IN_MESSAGE: ("address",)})
