"""LocalExecutor: the embedded engine. Runs execute in this machine's process pool; each account
has a concurrency limit and a bounded FIFO queue."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging

from browserfn.bus import EventBus
from browserfn.config import Settings
from browserfn.executor.base import Executor
from browserfn.executor.worker import STOPPED_ON_REQUEST, RunWorker, end_run
from browserfn.models import Run, RunState, utcnow
from browserfn.sandbox.process import ProcessPool
from browserfn.store.base import Store

log = logging.getLogger(__name__)
#: How long `stop` waits for the run's result event before answering anyway.
STOP_WAIT_S = 5.0
SHUT_DOWN = "Run stopped: the server shut down"


class LocalExecutor(Executor):
    def __init__(self, settings: Settings, store: Store, bus: EventBus) -> None:
        super().__init__()
        self._settings = settings
        self._store = store
        self._bus = bus
        self._pool = ProcessPool(settings.warm_processes, settings.warm_imports)
        self._queues: dict[str, collections.deque[str]] = collections.defaultdict(collections.deque)
        self._running: collections.Counter[str] = collections.Counter()
        self._workers: dict[str, tuple[RunWorker, asyncio.Task[None]]] = {}
        self._closed = False

    async def start(self) -> None:
        self._pool.start()
        for run in await self._store.runs_in_states([RunState.RUNNING]):
            reason = "browserfn stopped while this run was executing; its process is gone"
            await end_run(self._store, self._bus, run.run_id, RunState.FAILED, result=None, reason=reason)
        for run in await self._store.runs_in_states([RunState.QUEUED]):
            await self.submit(run)
        await self.expire_unstarted()

    async def expire_unstarted(self) -> None:
        """Runs made by runs/create and never started or reported would stay active forever."""
        cutoff = utcnow() - dt.timedelta(seconds=self._settings.unstarted_run_ttl_s)
        for run in await self._store.runs_in_states([RunState.CREATED]):
            if run.created_at < cutoff:
                reason = f"created but neither started nor reported within {self._settings.unstarted_run_ttl_s:g} s"
                await end_run(self._store, self._bus, run.run_id, RunState.FAILED, result=None, reason=reason)

    async def close(self) -> None:
        """Stop every run and return only once none is left: no run task and no process of ours
        outlives the executor (queued runs stay queued for the next start)."""
        self._closed = True
        for worker, _ in self._workers.values():
            worker.request_stop(SHUT_DOWN)
        tasks = [task for _, task in self._workers.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_WAIT_S)
        # Kills every run process, and a fork server still starting for a run not handed over yet:
        # the runs still being set up see their process gone and end.
        await self._pool.close()
        remaining = [task for task in tasks if not task.done()]
        if remaining:
            await asyncio.wait(remaining, timeout=STOP_WAIT_S)
        for task in remaining:
            task.cancel()
        await asyncio.gather(*remaining, return_exceptions=True)

    async def submit(self, run: Run) -> None:
        self._queues[run.account_id].append(run.run_id)
        self._dispatch(run.account_id)

    def _dispatch(self, account_id: str) -> None:
        queue = self._queues[account_id]
        while not self._closed and queue and self._running[account_id] < self._settings.account_concurrency:
            run_id = queue.popleft()
            self._running[account_id] += 1
            worker = RunWorker(self._settings, self._store, self._bus, self._pool, run_id)
            task = asyncio.create_task(self._execute(account_id, worker))
            self._workers[run_id] = (worker, task)

    def unstored_end(self, run_id: str) -> str | None:
        running = self._workers.get(run_id)
        return running[0].unstored_end if running is not None else None

    async def _execute(self, account_id: str, worker: RunWorker) -> None:
        try:
            await worker.execute()
        except Exception:  # never a task dying with its exception unseen
            log.exception("run %s: its worker failed", worker.run_id)
        finally:
            self._running[account_id] -= 1
            self._workers.pop(worker.run_id, None)
            self._dispatch(account_id)
            await self._notify_ended(worker.run_id, worker.ended)

    async def stop(self, run_id: str) -> bool:
        running = self._workers.get(run_id)
        if running is not None:
            worker, task = running
            worker.request_stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), STOP_WAIT_S)
            return True
        for queue in self._queues.values():
            if run_id in queue:
                queue.remove(run_id)
        stopped = await end_run(
            self._store, self._bus, run_id, RunState.STOPPED, result=None, reason=STOPPED_ON_REQUEST
        )
        await self._notify_ended(run_id, stopped)
        return stopped is not None
