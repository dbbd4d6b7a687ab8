"""SQLStore: the Store, written once for every backend. Each method runs one store operation
(browserfn/store/ops/) on the backend's `Database`; what differs per backend is the Database
(sqlite_db.py, postgres_db.py) and, on PostgreSQL with distributed execution, the hand-off of
queued runs to jobs (`dispatch`, postgres_dispatch.py)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

from browserfn.automation import (
    DeliveryAttempt,
    DeliveryStatus,
    Schedule,
    ScheduleTick,
    TickOutcome,
    Webhook,
    WebhookDelivery,
)
from browserfn.models import (
    Account,
    ApiKey,
    Event,
    Function,
    FunctionVersion,
    NewEvent,
    Principal,
    Run,
    RunState,
    SessionRecord,
    utcnow,
)
from browserfn.store.base import Store
from browserfn.store.database import Database
from browserfn.store.ops import accounts, functions, runs, schedules, secrets, sessions, webhooks
from browserfn.tokens import new_id

log = logging.getLogger(__name__)


class SQLStore(Store):
    # Operations that only read run with `read` (on PostgreSQL: no BEGIN and COMMIT around them).
    def __init__(self, db: Database, dispatch: runs.Dispatch | None = None) -> None:
        self.db = db
        self._dispatch = dispatch

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()

    # -- accounts and keys ------------------------------------------------------------------------
    async def ensure_account(self, name: str) -> Account:
        return await self.call(accounts.ensure_account, name)

    async def create_api_key(self, account_id: str, name: str, secret_hash: str, prefix: str) -> ApiKey:
        return await self.call(
            accounts.create_api_key, ApiKey(new_id(), account_id, name, prefix, utcnow()), secret_hash
        )

    async def list_api_keys(self, account_id: str) -> list[ApiKey]:
        return await self.read(accounts.list_api_keys, account_id)

    async def revoke_api_key(self, account_id: str, key_id: str) -> bool:
        return await self.call(accounts.revoke_api_key, account_id, key_id)

    async def find_principal(self, secret_hash: str) -> Principal | None:
        return await self.read(accounts.find_principal, secret_hash)

    async def server_secret(self) -> bytes:
        return await self.call(accounts.server_secret)

    # -- functions --------------------------------------------------------------------------------
    async def create_function(self, function: Function, version: FunctionVersion) -> Function:
        return await self.call(functions.create, function, version)

    async def get_function(self, function_id: str) -> Function | None:
        return await self.read(functions.get, function_id)

    async def list_functions(self, account_id: str, offset: int, limit: int) -> list[Function]:
        return await self.read(functions.listing, account_id, offset, limit)

    async def get_function_version(self, function_id: str, version: str) -> FunctionVersion | None:
        return await self.read(functions.get_version, function_id, version)

    async def put_function_version(self, version: FunctionVersion, make_latest: bool) -> Function:
        return await self.call(functions.put_version, version, make_latest)

    async def update_function(self, function_id: str, fields: dict[str, Any]) -> Function:
        functions.check_fields(fields, functions.FIELDS, "function")
        return await self.call(functions.update, function_id, fields)

    async def delete_function(self, function_id: str) -> bool:
        return await self.call(functions.delete, function_id)

    # -- runs -------------------------------------------------------------------------------------
    async def create_run(self, run: Run, queue_limit: int | None = None) -> Run:
        return await self.call(runs.create, run, self._dispatch, queue_limit)

    async def get_run(self, run_id: str) -> Run | None:
        return await self.read(runs.get, run_id)

    async def list_runs(
        self,
        function_id: str,
        *,
        account_id: str | None,
        key_id: str | None,
        only_active: bool,
        offset: int,
        limit: int,
        before_seq: int | None = None,
        states: Iterable[RunState] | None = None,
    ) -> list[Run]:
        wanted = None if states is None else list(states)
        return await self.read(
            runs.listing, function_id, account_id, key_id, only_active, offset, limit, before_seq, wanted
        )

    async def count_runs(self, account_id: str, states: Iterable[RunState]) -> int:
        return await self.read(runs.count, account_id, list(states))

    async def runs_in_states(self, states: Iterable[RunState]) -> list[Run]:
        return await self.read(runs.in_states, list(states))

    async def transition_run(
        self,
        run_id: str,
        from_states: Iterable[RunState],
        to_state: RunState,
        fields: dict[str, Any],
        queue_limit: int | None = None,
    ) -> Run | None:
        if not to_state.is_active:
            raise ValueError("use finish_run to end a run")
        runs.check_fields(fields, runs.FIELDS, "run")
        return await self.call(
            runs.transition, run_id, list(from_states), to_state, fields, self._dispatch, queue_limit
        )

    async def finish_run(
        self,
        run_id: str,
        to_state: RunState,
        *,
        result_json: str | None,
        reason: str | None,
        result_message: Callable[[Run], str],
        extra_events: Iterable[NewEvent] = (),
    ) -> Run | None:
        if to_state.is_active:
            raise ValueError("finish_run needs a final state")
        ended = await self.call(runs.finish, run_id, to_state, result_json, reason, result_message, list(extra_events))
        if ended is not None and self._dispatch is not None:
            # The freed slot is handed on after the end has committed, in a statement of its own
            # (postgres_dispatch.py): the account's lock is not held while the end is made durable.
            try:
                await self.db.alone(self._dispatch, ended.account_id)
            except Exception:  # the run has ended all the same; the reapers' sweep hands the slot on
                log.exception("run %s ended, but handing its slot on failed", run_id)
        return ended

    async def set_run_session(self, run_id: str, session_id: str) -> None:
        await self.call(runs.set_session, run_id, session_id)

    # -- secrets ----------------------------------------------------------------------------------
    async def put_secret(self, account_id: str, scope: str, name: str, ciphertext: bytes) -> None:
        await self.call(secrets.put, account_id, scope, name, ciphertext)

    async def secret_names(self, account_id: str, scope: str) -> list[str]:
        return await self.read(secrets.names, account_id, scope)

    async def delete_secret(self, account_id: str, scope: str, name: str) -> bool:
        return await self.call(secrets.delete, account_id, scope, name)

    async def run_secrets(self, account_id: str, function_id: str) -> list[tuple[str, str, bytes]]:
        return await self.read(secrets.of_run, account_id, function_id)

    # -- events -----------------------------------------------------------------------------------
    async def append_events(self, run_id: str, events: list[NewEvent]) -> list[Event]:
        return await self.call(runs.append_events, run_id, events) if events else []

    async def list_events(self, run_id: str, after_seq: int = 0, limit: int = 1000) -> list[Event]:
        return await self.read(runs.list_events, run_id, after_seq, limit)

    # -- browser sessions -------------------------------------------------------------------------
    async def create_session(self, session: SessionRecord) -> None:
        await self.call(sessions.create, session)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self.read(sessions.get, session_id)

    async def list_sessions(self, account_id: str, only_active: bool, offset: int, limit: int) -> list[SessionRecord]:
        return await self.read(sessions.listing, account_id, only_active, offset, limit)

    async def record_session_activity(self, session_id: str, last_accessed_at: dt.datetime, steps: int) -> bool:
        return await self.call(sessions.record_activity, session_id, last_accessed_at, steps)

    async def finish_session(self, session: SessionRecord) -> bool:
        return await self.call(sessions.finish, session)

    async def session_host_alive(self, owner_url: str) -> None:
        await self.call(sessions.host_alive, owner_url)

    async def end_hosted_sessions(self, owner_url: str, closed_by: str) -> list[str]:
        return await self.call(sessions.end_hosted, owner_url, closed_by)

    async def end_sessions_of_silent_hosts(self, alive_url: str, silent_s: float, closed_by: str) -> list[str]:
        return await self.call(sessions.end_of_silent_hosts, alive_url, silent_s, closed_by)

    # -- schedules --------------------------------------------------------------------------------
    async def put_schedule(self, schedule: Schedule) -> Schedule:
        return await self.call(schedules.put, schedule)

    async def get_schedule(self, function_id: str) -> Schedule | None:
        return await self.read(schedules.get, function_id)

    async def list_schedules(self, account_id: str | None) -> list[Schedule]:
        return await self.read(schedules.listing, account_id)

    async def delete_schedule(self, function_id: str) -> bool:
        return await self.call(schedules.delete, function_id)

    async def claim_schedule_tick(
        self, schedule: Schedule, tick: dt.datetime, claimed_by: str, stale_claim_s: float
    ) -> ScheduleTick | None:
        return await self.call(schedules.claim_tick, schedule, tick, claimed_by, stale_claim_s)

    async def settle_schedule_tick(
        self, schedule_id: str, tick: dt.datetime, outcome: TickOutcome, run_id: str | None, reason: str | None
    ) -> None:
        await self.call(schedules.settle_tick, schedule_id, tick, outcome, run_id, reason)

    async def list_schedule_ticks(self, function_id: str, limit: int) -> list[ScheduleTick]:
        return await self.read(schedules.list_ticks, function_id, limit)

    # -- webhooks ---------------------------------------------------------------------------------
    async def create_webhook(self, webhook: Webhook) -> Webhook:
        return await self.call(webhooks.create, webhook)

    async def list_webhooks(self, function_id: str) -> list[Webhook]:
        return await self.read(webhooks.listing, function_id)

    async def delete_webhook(self, function_id: str, webhook_id: str) -> bool:
        return await self.call(webhooks.delete, function_id, webhook_id)

    async def account_webhook_secret(self, account_id: str, new_secret: str) -> str:
        return await self.call(webhooks.account_secret, account_id, new_secret)

    async def set_run_callback(self, run_id: str, url: str) -> None:
        await self.call(webhooks.set_run_callback, run_id, url)

    async def run_receivers(self, function_id: str, run_id: str) -> tuple[list[Webhook], str | None]:
        return await self.read(webhooks.run_receivers, function_id, run_id)

    async def enqueue_deliveries(self, deliveries: Iterable[WebhookDelivery]) -> int:
        owed = list(deliveries)
        return await self.call(webhooks.enqueue, owed) if owed else 0

    async def claim_due_deliveries(self, now: dt.datetime, lease_s: float, limit: int) -> list[WebhookDelivery]:
        return await self.call(webhooks.claim_due, now, lease_s, limit)

    async def record_delivery_attempt(
        self,
        delivery_id: str,
        attempt: DeliveryAttempt,
        status: DeliveryStatus,
        next_attempt_at: dt.datetime | None,
    ) -> WebhookDelivery | None:
        return await self.call(webhooks.record_attempt, delivery_id, attempt, status, next_attempt_at)

    async def list_deliveries(self, function_id: str, limit: int) -> list[WebhookDelivery]:
        return await self.read(webhooks.listing_deliveries, function_id, limit)
