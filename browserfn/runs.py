"""Runs as the API sees them: create, start, read, follow, stop, and report from elsewhere.
The run's event log (in the store) is what every reader reads; the bus only wakes them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from browserfn import tokens
from browserfn.bus import EventBus
from browserfn.config import Settings
from browserfn.errors import Conflict, NotFound, ServiceUnavailable, TooManyRequests
from browserfn.executor.base import Executor
from browserfn.executor.worker import end_run
from browserfn.functions import check_run_timeout
from browserfn.models import (
    Event,
    EventType,
    Function,
    FunctionVersion,
    NewEvent,
    Principal,
    Run,
    RunState,
    utcnow,
)
from browserfn.store.base import Store
from browserfn.store.ops.runs import QueueFull

#: How often a follower re-reads the store even without a wake-up (covers a lost notification).
RECHECK_S = 1.0


@dataclasses.dataclass(frozen=True)
class RunPage:
    runs: list[Run]
    has_next: bool


class RunService:
    def __init__(self, settings: Settings, store: Store, executor: Executor, bus: EventBus) -> None:
        self._settings = settings
        self._store = store
        self._executor = executor
        self._bus = bus

    def _new_run(
        self,
        principal: Principal,
        function: Function,
        version: FunctionVersion,
        state: RunState,
        **fields: Any,
    ) -> Run:
        now = utcnow()
        return Run(
            run_id=tokens.new_id(),
            function_id=function.function_id,
            function_version=version.version,
            account_id=principal.account_id,
            key_id=principal.key_id,
            state=state,
            variables={},
            created_at=now,
            updated_at=now,
            **fields,
        )

    async def create(self, principal: Principal, function: Function, version: FunctionVersion, local: bool) -> Run:
        """A run that exists but waits to be started (runs/create, then runs/{run_id})."""
        run = self._new_run(principal, function, version, RunState.CREATED, local=local, origin="create")
        return await self._store.create_run(run)

    def _timeout(self, function: Function, timeout_s: float | None) -> float:
        # An explicit 0 is a bad timeout, not "use the default".
        chosen = timeout_s if timeout_s is not None else (function.timeout_s or self._settings.run_timeout_s)
        return check_run_timeout(self._settings, chosen)

    async def start(
        self,
        principal: Principal,
        function: Function,
        version: FunctionVersion,
        variables: dict[str, Any],
        *,
        timeout_s: float | None,
        run_id: str | None = None,
        origin: str = "start",
    ) -> Run:
        """Queue a run for execution: a new one, or one made earlier by `create`."""
        timeout = self._timeout(function, timeout_s)
        # The store counts the account's queue and queues the run in one step (a burst of starts
        # never queues more than the limit); past it, TooManyRequests.
        limit = self._settings.account_queue_limit
        try:
            if run_id is None:
                run = self._new_run(principal, function, version, RunState.QUEUED, timeout_s=timeout, origin=origin)
                run = await self._store.create_run(dataclasses.replace(run, variables=variables), queue_limit=limit)
            else:
                await self.get(principal, function.function_id, run_id)
                fields = {"variables": variables, "timeout_s": timeout}
                started = await self._store.transition_run(
                    run_id, [RunState.CREATED], RunState.QUEUED, fields, queue_limit=limit
                )
                if started is None:
                    raise Conflict(f"run {run_id} was already started")
                run = started
        except QueueFull as full:
            raise TooManyRequests(
                f"too many runs waiting: this account has {full.queued} runs queued behind its "
                f"{self._settings.account_concurrency} running ones (queue limit {limit}); retry when some finish"
            ) from None
        await self._executor.submit(run)
        return run

    async def get(self, principal: Principal, function_id: str, run_id: str) -> Run:
        run = await self._store.get_run(run_id)
        if run is None or run.function_id != function_id or run.account_id != principal.account_id:
            raise NotFound(f"run {run_id} of function {function_id} not found")
        if await self._store.get_function(function_id) is None:  # deleted: its runs go with it
            raise NotFound(f"function {function_id} not found")
        return run

    async def list_runs(
        self,
        principal: Principal,
        function_id: str,
        *,
        page: int,
        page_size: int,
        only_active: bool,
        only_current_token: bool,
        before_seq: int | None = None,
        states: Iterable[RunState] | None = None,
    ) -> RunPage:
        runs = await self._store.list_runs(
            function_id,
            account_id=principal.account_id,
            key_id=principal.key_id if only_current_token else None,
            only_active=only_active,
            offset=(page - 1) * page_size,
            limit=page_size + 1,
            before_seq=before_seq,
            states=states,
        )
        return RunPage(runs[:page_size], len(runs) > page_size)

    async def logs(self, run_id: str) -> list[str]:
        lines: list[str] = []
        after = 0
        while batch := await self._store.list_events(run_id, after):
            lines += [e.message for e in batch if e.type is EventType.LOG]
            after = batch[-1].seq
        return lines

    async def follow(self, run_id: str, after_seq: int = 0) -> AsyncIterator[Event | None]:
        """Every event after `after_seq`, live, ending with `result`. Yields None when the run has
        been quiet for `sse_keepalive_s` (time for a keep-alive)."""
        quiet_s = 0.0
        while True:
            batch = await self._store.list_events(run_id, after_seq)
            for event in batch:
                yield event
                if event.type is EventType.RESULT:
                    return
            if batch:
                after_seq = batch[-1].seq
                quiet_s = 0.0
                continue
            run = await self._store.get_run(run_id)
            if run is None or not run.state.is_active:
                # Ended, and its result event is already behind `after_seq`: nothing more will come.
                # (A run's result event is stored with its end, so an ended run has it.)
                if not await self._store.list_events(run_id, after_seq):
                    return
                continue
            await self._bus.wait(run_id, RECHECK_S)
            quiet_s += RECHECK_S
            if quiet_s >= self._settings.sse_keepalive_s:
                quiet_s = 0.0
                yield None

    async def wait_until_ended(self, run_id: str) -> Run:
        """The run once it has ended. For a run just started: it is not read before its first
        wake-up (or `RECHECK_S`), as a publish that comes before the wait is not lost."""
        while True:
            await self._bus.wait(run_id, RECHECK_S)
            run = await self._store.get_run(run_id)
            if run is None:
                raise NotFound(f"run {run_id} not found")
            if not run.state.is_active:
                return run
            unstored = self._executor.unstored_end(run_id)
            if unstored is not None:
                raise ServiceUnavailable(
                    f"run {run_id} has ended ({unstored}) but the server cannot store that yet (its storage "
                    "fails, e.g. a full disk); it is stored as soon as it can be: GET the run later"
                )

    async def stop(self, principal: Principal, function_id: str, run_id: str) -> Run:
        run = await self.get(principal, function_id, run_id)
        if run.state.is_active:
            await self._executor.stop(run_id)
        return await self.get(principal, function_id, run_id)

    async def report(self, principal: Principal, function_id: str, run_id: str, fields: dict[str, Any]) -> Run:
        """PATCH: record a run that executed elsewhere (Notte's local runs)."""
        run = await self.get(principal, function_id, run_id)
        if run.state is not RunState.CREATED:
            raise Conflict(f"run {run_id} is {run.state.value}: only a created, unstarted run can be reported")
        status = fields.pop("status", None)
        logs = fields.pop("logs", None) or []
        result = fields.pop("result", None)
        changes = {k: v for k, v in fields.items() if k in ("session_id", "variables") and v is not None}
        if changes:
            await self._store.transition_run(run_id, [RunState.CREATED], RunState.CREATED, changes)
        if logs:
            await self._store.append_events(run_id, [NewEvent(EventType.LOG, str(line)) for line in logs])
            self._bus.publish(run_id)
        if status in ("closed", "failed"):
            state = RunState.SUCCEEDED if status == "closed" else RunState.FAILED
            await end_run(self._store, self._bus, run_id, state, result=_reported_result(result), reason=None)
        return await self.get(principal, function_id, run_id)


def _reported_result(result: Any) -> Any:
    """The SDK sends a non-string result JSON-encoded; keep the value it stands for."""
    if isinstance(result, str):
        try:
            return json.loads(result)
        except ValueError:
            return result
    return result
