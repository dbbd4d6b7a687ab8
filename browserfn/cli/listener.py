"""uvicorn's server without its signal handlers, for a process that decides itself when to stop
listening (a worker: only after its runs, which call its API, have ended)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn


class Listener(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
