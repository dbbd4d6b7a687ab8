"""ProcrastinateExecutor: distributed execution on PostgreSQL through Procrastinate.

- Queueing is the store's (its `RunJobs` view, store/jobs.py): a run's job is deferred in the
  transaction that gives the run one of its account's slots, so `submit` has nothing to do.
- A worker (`browserfn worker`, or `serve` without `--no-worker`) runs the task `browserfn.run`,
  which executes the run through the same RunWorker as the embedded engine.
- Stop uses Procrastinate's abort (pushed by NOTIFY): the task is cancelled, kills the run's
  process tree and ends the run STOPPED. A queued run without a job ends at once.
- Crash safety: every process with this executor reaps. A worker whose heartbeat stops is pruned;
  each run of its stalled jobs ends FAILED with the reason (never re-run), and the ended run
  hands its slot on. SIGTERM on a worker: no new runs; running ones get `worker_grace_s`, then
  are stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

import procrastinate
from procrastinate.job_context import AbortReason, JobContext
from procrastinate.jobs import Status

from browserfn.bus import EventBus
from browserfn.config import Settings
from browserfn.executor.base import Executor
from browserfn.executor.procrastinate_connector import ReconnectingConnector
from browserfn.executor.worker import STOPPED_ON_REQUEST, RunWorker, end_run
from browserfn.models import Run, RunState
from browserfn.sandbox.process import ProcessPool
from browserfn.store.base import Store
from browserfn.store.jobs import QUEUE, TASK_NAME, RunJobs

log = logging.getLogger(__name__)
#: How often each process looks for workers that stopped sending heartbeats.
REAP_INTERVAL_S = 2.0
#: How long `stop` waits for the run's result event before answering anyway.
STOP_WAIT_S = 5.0


class ProcrastinateExecutor(Executor):
    def __init__(self, settings: Settings, store: Store, jobs: RunJobs, bus: EventBus, run_worker: bool) -> None:
        """`jobs` is `store` seen as its runs' job queue (`browserfn.store.job_queue`)."""
        super().__init__()
        self._settings = settings
        self._store = store
        self._jobs = jobs
        self._bus = bus
        self._run_worker = run_worker
        self.app = procrastinate.App(connector=ReconnectingConnector(conninfo=jobs.dsn))
        self.app.task(name=TASK_NAME, queue=QUEUE, pass_context=True)(self._execute)
        self._pool = ProcessPool(settings.warm_processes if run_worker else 0, settings.warm_imports)
        self._tasks: list[asyncio.Task[None]] = []
        self._worker_done = asyncio.Event()

    async def start(self) -> None:
        await self.app.open_async()
        self._tasks.append(asyncio.create_task(self._reap_forever()))
        if self._run_worker:
            self._pool.start()
            self._tasks.append(asyncio.create_task(self._work()))

    async def _work(self) -> None:
        name = f"{socket.gethostname()}:{os.getpid()}"
        try:
            await self.app.run_worker_async(
                queues=[QUEUE],
                name=name,
                concurrency=self._settings.worker_concurrency,
                install_signal_handlers=False,
                shutdown_graceful_timeout=self._settings.worker_grace_s,
                update_heartbeat_interval=self._settings.worker_heartbeat_s,
                stalled_worker_timeout=self._settings.worker_stalled_s,
                delete_jobs="successful",
            )
        finally:
            self._worker_done.set()

    async def wait_worker(self) -> None:
        """Until the worker loop ends (after a graceful shutdown)."""
        await self._worker_done.wait()

    async def close(self) -> None:
        """Graceful: stop taking runs, let running ones finish for `worker_grace_s`, stop the rest."""
        for task in reversed(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._pool.close()
        await self.app.close_async()

    async def _execute(self, context: JobContext, run_id: str) -> None:
        worker = RunWorker(self._settings, self._store, self._bus, self._pool, run_id)
        execution = asyncio.create_task(worker.execute())
        try:
            await asyncio.shield(execution)
        except asyncio.CancelledError:
            if context.abort_reason() is AbortReason.SHUTDOWN:
                worker.request_stop(
                    f"Run stopped: its worker shut down ({self._settings.worker_grace_s:g} s grace over)"
                )
            else:
                worker.request_stop()
            await execution
        finally:
            await self._notify_ended(run_id, worker.ended)

    async def submit(self, run: Run) -> None:
        """Nothing to do: the store deferred the run's job when it took a slot."""

    async def stop(self, run_id: str) -> bool:
        job_id = await self._jobs.job_of(run_id)
        if job_id is not None:
            await self.app.job_manager.cancel_job_by_id_async(job_id, abort=True)
            deadline = asyncio.get_running_loop().time() + STOP_WAIT_S
            while asyncio.get_running_loop().time() < deadline:
                run = await self._store.get_run(run_id)
                if run is None or not run.state.is_active:
                    return True
                if run.state is RunState.QUEUED:
                    break  # the job was cancelled before a worker took it
                await self._bus.wait(run_id, 0.2)
        stopped = await end_run(
            self._store, self._bus, run_id, RunState.STOPPED, result=None, reason=STOPPED_ON_REQUEST
        )
        await self._notify_ended(run_id, stopped)
        return stopped is not None

    async def _reap_forever(self) -> None:
        while True:
            try:
                await self.reap()
            except Exception:
                log.exception("reaping stalled workers failed; trying again")
            await asyncio.sleep(REAP_INTERVAL_S)

    async def reap(self) -> None:
        """End the runs of workers that stopped sending heartbeats, and hand on slots that a
        process dying right after a run's end did not (`RunJobs.fill_free_slots`)."""
        await self._jobs.fill_free_slots()
        manager = self.app.job_manager
        stalled_s = self._settings.worker_stalled_s
        await manager.prune_stalled_workers(seconds_since_heartbeat=stalled_s)
        jobs = list(await manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=stalled_s))
        if not jobs:
            return
        by_job = {job.id: job for job in jobs}
        for run in await self._jobs.runs_of_jobs([job_id for job_id in by_job if job_id is not None]):
            reason = (
                f"the worker executing this run stopped sending heartbeats for {stalled_s:g} s "
                "(killed or cut off); the run was not retried"
            )
            ended = await end_run(self._store, self._bus, run.run_id, RunState.FAILED, result=None, reason=reason)
            await self._notify_ended(run.run_id, ended)
        for job_id in by_job:
            if job_id is not None:
                await manager.finish_job_by_id_async(job_id, status=Status.FAILED, delete_job=False)
