"""One run's life, from QUEUED to its `result` event. Engine-agnostic: it needs the Store, the
bus and a process pool, so the local engine and a distributed worker both run runs through it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from typing import Any

from browserfn import scripts, secrets, storage_errors, tokens, wire
from browserfn.bus import EventBus
from browserfn.config import Settings
from browserfn.errors import BrowserfnError
from browserfn.models import EventType, FunctionVersion, NewEvent, Run, RunState, utcnow
from browserfn.sandbox import bytecode, protocol
from browserfn.sandbox.process import ProcessPool, RunProcess, base_environment, isolation_options
from browserfn.store.base import Store
from browserfn.store.ops import run_start
from browserfn.vaults import VaultService

log = logging.getLogger(__name__)
SYSTEM_SOURCE = "browserfn"
STOPPED_ON_REQUEST = "Run stopped on request"
#: Waits between attempts to store a run's end while the storage fails (the last one repeats):
#: a run is never left active because its end could not be written once.
END_RETRY_S = (1.0, 2.0, 5.0, 10.0)


async def end_run(
    store: Store, bus: EventBus, run_id: str, state: RunState, *, result: Any, reason: str | None
) -> Run | None:
    """End an active run with `result` (a JSON value) and its `result` event; a run that ended
    other than by returning also gets a log line saying why. None if it had already ended."""
    notes = [] if reason is None else [NewEvent(EventType.LOG, protocol.log_line("ERROR", SYSTEM_SOURCE, reason))]
    ended = await store.finish_run(
        run_id,
        state,
        result_json=json.dumps(result, ensure_ascii=False),
        reason=reason,
        result_message=wire.result_event_message,
        extra_events=notes,
    )
    bus.publish(run_id)
    return ended


class RunWorker:
    def __init__(self, settings: Settings, store: Store, bus: EventBus, pool: ProcessPool, run_id: str) -> None:
        self._settings = settings
        self._store = store
        self._bus = bus
        self._pool = pool
        self.run_id = run_id
        self._stop_requested = asyncio.Event()
        self._mask = secrets.Masker(())
        self._stop_reason = STOPPED_ON_REQUEST
        #: Why the run ended, while its end cannot be stored yet (the storage fails); else None.
        self.unstored_end: str | None = None
        #: The run as this worker ended it (None: not ended here, e.g. stopped while queued).
        self.ended: Run | None = None

    def request_stop(self, reason: str = "") -> None:
        """Kill the run's process tree; the run ends STOPPED with this reason."""
        self._stop_reason = reason or STOPPED_ON_REQUEST
        self._stop_requested.set()

    async def execute(self) -> None:
        # The run's key while it runs (its end clears it): the owner's, or a guest's when the
        # function is another account's; the store records the hash of the one that applies.
        owner_token, guest_token = tokens.new_run_token(), tokens.new_run_token(guest=True)
        try:
            start = await self._store.call(
                run_start.begin,
                self.run_id,
                utcnow(),
                tokens.hash_secret(owner_token),
                tokens.hash_secret(guest_token),
            )
        except Exception as exc:
            if not storage_errors.is_storage_failure(exc):
                raise
            log.warning("run %s could not start: storage failure: %r", self.run_id, exc)
            reason = f"browserfn could not start the run: {storage_errors.describe(exc)}"
            await self._end(RunState.FAILED, reason=reason)
            return
        if start is None:
            return  # stopped while queued
        try:
            await self._execute(start, guest_token if start.guest else owner_token)
        except Exception as exc:
            if self._stop_requested.is_set():  # stopped while its process was being set up
                await self._end(RunState.STOPPED, reason=self._stop_reason)
                return
            if storage_errors.is_storage_failure(exc):
                log.warning("run %s stopped: storage failure: %r", self.run_id, exc)
                reason = f"browserfn could not store the run's output ({storage_errors.describe(exc)}): run stopped"
            elif isinstance(exc, BrowserfnError):  # explained (e.g. its secrets sealed with another key)
                log.warning("run %s could not run: %s", self.run_id, exc.message)
                reason = f"browserfn could not execute the run: {exc.message}"
            else:
                log.exception("run %s failed inside browserfn", self.run_id)
                reason = f"browserfn failed to execute the run: {exc!r}"
            await self._end(RunState.FAILED, reason=reason)

    async def _end(self, state: RunState, *, result: Any = None, reason: str | None = None) -> None:
        """End the run; while the storage fails, keep trying (waiters are told it is pending)."""
        for attempt in itertools.count():
            try:
                self.ended = await end_run(
                    self._store,
                    self._bus,
                    self.run_id,
                    state,
                    result=self._mask.value(reason if result is None else result),
                    reason=self._mask.value(reason),
                )
            except Exception as exc:
                if not storage_errors.is_storage_failure(exc):
                    raise
                if self.unstored_end is None:
                    log.warning("run %s: its end cannot be stored (%r); trying again until it can", self.run_id, exc)
                self.unstored_end = self._mask.value(reason) or f"it {state.value}"
                self._bus.publish(self.run_id)
                await asyncio.sleep(END_RETRY_S[min(attempt, len(END_RETRY_S) - 1)])
            else:
                self.unstored_end = None
                return

    async def _execute(self, start: run_start.RunStart, token: str) -> None:
        run, version = start.run, start.version
        if version is None:
            return await self._end(RunState.FAILED, reason=f"version {run.function_version} of the function is gone")
        any_keyword = scripts.takes_any_keyword(version.code)
        problem = scripts.check_variables(version.parameters, run.variables, any_keyword)
        if problem is not None:
            return await self._end(RunState.FAILED, reason=problem)
        timeout_s = run.timeout_s or self._settings.run_timeout_s
        # A guest run (a function another account shared) gets none of either account's secrets.
        secret_env = secrets.SecretVault(self._settings, self._store).unseal_run_secrets(start.secrets)
        vault_values = VaultService(self._settings, self._store).unseal_masked(start.vault_sealed)
        self._mask = secrets.Masker([*secret_env.values(), *vault_values])
        process = await self._hand_over(run, version, token, secret_env)
        try:
            state, result, reason = await self._supervise(process, timeout_s)
        except BaseException:  # its output can no longer be kept (or we are cancelled): no orphan run
            await process.kill()
            raise
        finally:
            self._pool.retire(process)
        # The result has come and the pipes have closed (or the exit, once the whole tree is dead).
        await self._end(state, result=result, reason=reason)

    async def _hand_over(
        self, run: Run, version: FunctionVersion, token: str, secret_env: dict[str, str]
    ) -> RunProcess:
        """A warm process that has taken the run's job (a new one if the pooled one died idle)."""
        compiled = await bytecode.marshalled(version.code, version.restricted)

        def job(process: RunProcess) -> dict[str, Any]:
            return {
                "code": version.code,
                "bytecode": compiled,
                "variables": run.variables,
                "env": self._environment(run, token, process.workdir) | secret_env,
                "restricted": version.restricted,
                "isolation": isolation_options(self._settings),
            }

        process = await self._pool.acquire()
        try:
            await process.start(job(process))
        except (BrokenPipeError, ConnectionResetError):  # it died waiting: take a new one
            self._pool.retire(process)
            process = await self._pool.acquire()
            await process.start(job(process))
        return process

    def _environment(self, run: Run, token: str, workdir: str) -> dict[str, str]:
        """All the run's process sees: the API and its key, and where it may write."""
        env = base_environment(())
        env.pop("BROWSERFN_WARM_IMPORTS")
        return {
            **env,
            "HOME": workdir,
            "TMPDIR": workdir,
            "PYTHONUNBUFFERED": "1",
            "NOTTE_API_URL": self._settings.internal_base_url,  # sessions it opens live on this host
            "NOTTE_API_KEY": token,
            "BROWSERFN_CHROMIUM": self._settings.chromium_path,
            "BROWSERFN_RUN_ID": run.run_id,
            "BROWSERFN_FUNCTION_ID": run.function_id,
        }

    async def _supervise(self, process: RunProcess, timeout_s: float) -> tuple[RunState, Any, str | None]:
        pump = asyncio.create_task(self._pump(process))
        stop = asyncio.create_task(self._stop_requested.wait())
        try:
            done, _ = await asyncio.wait({pump, stop}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if pump in done:
            return self._outcome(*pump.result())
        await process.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pump, 5.0)
        if stop in done:
            return RunState.STOPPED, None, self._stop_reason
        return RunState.TIMED_OUT, None, f"Run timed out after {timeout_s:g} s"

    @staticmethod
    def _outcome(result: dict[str, Any] | None, exit: dict[str, Any] | None) -> tuple[RunState, Any, str | None]:
        if result is not None and result.get("ok"):
            return RunState.SUCCEEDED, json.loads(result["value_json"]), None
        if result is not None:
            error = str(result.get("error", "run() failed"))
            return RunState.FAILED, error, error.rstrip().rsplit("\n", 1)[-1]
        how = "was killed by signal {signal}" if exit and exit.get("signal") else "exited with code {code}"
        reason = "The run's process " + how.format(**(exit or {"code": "unknown"})) + " before returning a result"
        return RunState.FAILED, None, reason

    async def _pump(self, process: RunProcess) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Store the process's log lines in order, a batch at a time, until its messages end."""
        result: dict[str, Any] | None = None
        exit: dict[str, Any] | None = None
        log_bytes = 0
        async for batch in process.batches():
            events: list[NewEvent] = []
            for message in batch:
                kind = message.get("type")
                if kind == "log":
                    line = self._mask.text(str(message.get("line", "")))
                    log_bytes += len(line)
                    if log_bytes <= self._settings.max_log_bytes:
                        events.append(NewEvent(EventType.LOG, line))
                    elif log_bytes - len(line) <= self._settings.max_log_bytes:
                        note = f"log output over {self._settings.max_log_bytes} bytes: further lines are dropped"
                        events.append(NewEvent(EventType.LOG, protocol.log_line("WARNING", SYSTEM_SOURCE, note)))
                elif kind == "result":
                    result = message
                elif kind == "exit":
                    exit = message
            await self._append(events)
        return result, exit

    async def _append(self, events: list[NewEvent]) -> None:
        if events:
            await self._store.append_events(self.run_id, events)
            self._bus.publish(self.run_id)
