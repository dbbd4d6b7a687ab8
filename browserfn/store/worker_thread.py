"""Threads that run blocking calls (the store's transactions) for an asyncio loop: one thread runs
them in order (SQLite's); several take them from one queue as they free up (PostgreSQL's).

It does what `loop.run_in_executor` with a one-thread pool does, for less: a C queue in, one
`call_soon_threadsafe` out, and no concurrent.futures.Future (with its lock and condition) per
call. The store makes a dozen calls per run, so this overhead was a visible share of a run's
CPU in the server."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_Call = tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any], asyncio.AbstractEventLoop]


class WorkerThread:
    def __init__(self, name: str, threads: int = 1) -> None:
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}" if threads > 1 else name, daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on a thread; with one thread, after every call made before."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((fn, args, future, loop))
        return await future

    def stop(self) -> None:
        """Finish the calls made so far, then end the threads."""
        for _ in self._threads:
            self._calls.put(None)
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        while (call := self._calls.get()) is not None:
            fn, args, future, loop = call
            try:
                outcome: tuple[Any, BaseException | None] = (fn(*args), None)
            except BaseException as exc:  # handed to the caller, as run_in_executor would
                outcome = (None, exc)
            loop.call_soon_threadsafe(_settle, future, *outcome)


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
