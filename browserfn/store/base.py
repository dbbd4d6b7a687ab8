"""The Store: every read and write of browserfn's state, named by intent.

Contract shared by every backend (tests/store runs one suite against each):
- Each method is atomic: it happens whole or not at all.
- Run state changes go through `transition_run` / `finish_run`, which check the current state, so no
  run finishes twice and no finished run is revived.
- A run's events are numbered 1, 2, 3... in append order with no gap; `finish_run` appends the
  `result` event in the same transaction that ends the run, so a stream that has read `result`
  has read everything.
- Listings are ordered newest first by `Run.seq`, a store-wide creation counter.
- A browser session is written by the process hosting it (`owner_url`), and ended once: the first
  of its host, or a sweep for hosts that stopped their heartbeats, decides how it ended.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, TypeVar

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
)
from browserfn.store.automation import AutomationStore
from browserfn.store.database import Database
from browserfn.store.tx import Tx

T = TypeVar("T")
P = ParamSpec("P")


class Store(AutomationStore, abc.ABC):
    #: Where operations run (SQLite or PostgreSQL); set by the backend's constructor.
    db: Database

    async def call(self, op: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store operation (a function of browserfn/store/ops/) in one transaction:
        `await store.call(profiles.create, profile)`. How resources without methods here are reached."""
        return await self.db.call(op, *args, **kwargs)

    async def read(self, op: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store operation that only reads (`Database.read`): `await store.read(runs.get, run_id)`."""
        return await self.db.read(op, *args, **kwargs)

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    # -- accounts and keys ------------------------------------------------------------------------
    @abc.abstractmethod
    async def ensure_account(self, name: str) -> Account:
        """The account with this name, created if missing."""

    @abc.abstractmethod
    async def create_api_key(self, account_id: str, name: str, secret_hash: str, prefix: str) -> ApiKey: ...

    @abc.abstractmethod
    async def list_api_keys(self, account_id: str) -> list[ApiKey]: ...

    @abc.abstractmethod
    async def revoke_api_key(self, account_id: str, key_id: str) -> bool: ...

    @abc.abstractmethod
    async def find_principal(self, secret_hash: str) -> Principal | None:
        """Who holds this secret: a live API key, or the token of a run that is running."""

    @abc.abstractmethod
    async def server_secret(self) -> bytes:
        """A random secret made once per deployment (signs code-download links)."""

    # -- functions --------------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_function(self, function: Function, version: FunctionVersion) -> Function: ...

    @abc.abstractmethod
    async def get_function(self, function_id: str) -> Function | None:
        """The function, or None if unknown or deleted."""

    @abc.abstractmethod
    async def list_functions(self, account_id: str, offset: int, limit: int) -> list[Function]:
        """The account's functions, newest first."""

    @abc.abstractmethod
    async def get_function_version(self, function_id: str, version: str) -> FunctionVersion | None: ...

    @abc.abstractmethod
    async def put_function_version(self, version: FunctionVersion, make_latest: bool) -> Function:
        """Add a version (or overwrite one with the same name); `make_latest` moves latest_version to it."""

    @abc.abstractmethod
    async def update_function(self, function_id: str, fields: dict[str, Any]) -> Function:
        """Change metadata fields (name, description, shared, timeout_s, default_runtime)."""

    @abc.abstractmethod
    async def delete_function(self, function_id: str) -> bool:
        """Delete unless it has active runs; False if it has some."""

    # -- runs -------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_run(self, run: Run, queue_limit: int | None = None) -> Run:
        """Insert a run; the returned copy carries its `seq`. A QUEUED run is refused
        (TooManyRequests) if its account already has `queue_limit` queued: the count and the
        insert are one atomic step, so a burst never queues more than the limit."""

    @abc.abstractmethod
    async def get_run(self, run_id: str) -> Run | None: ...

    @abc.abstractmethod
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
        """Runs of a function, newest first; `account_id` None means every account's; `states`
        (when given) keeps only runs in one of them."""

    @abc.abstractmethod
    async def count_runs(self, account_id: str, states: Iterable[RunState]) -> int: ...

    @abc.abstractmethod
    async def runs_in_states(self, states: Iterable[RunState]) -> list[Run]:
        """Every run in one of these states, oldest first (start-up recovery, queue refill)."""

    @abc.abstractmethod
    async def transition_run(
        self,
        run_id: str,
        from_states: Iterable[RunState],
        to_state: RunState,
        fields: dict[str, Any],
        queue_limit: int | None = None,
    ) -> Run | None:
        """Move an active run to another active state; None if it was not in `from_states`.
        Into QUEUED, `queue_limit` is checked as by `create_run`."""

    @abc.abstractmethod
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
        """End an active run and append `extra_events` then its `result` event (text made by
        `result_message` from the ended run), atomically. None if the run had already ended."""

    @abc.abstractmethod
    async def set_run_session(self, run_id: str, session_id: str) -> None: ...

    # -- secrets (ciphertext only: encryption is browserfn.secrets') -----------------------------
    @abc.abstractmethod
    async def put_secret(self, account_id: str, scope: str, name: str, ciphertext: bytes) -> None:
        """Set a secret of the account (`scope` "") or of one of its functions (`scope` its id)."""

    @abc.abstractmethod
    async def secret_names(self, account_id: str, scope: str) -> list[str]: ...

    @abc.abstractmethod
    async def delete_secret(self, account_id: str, scope: str, name: str) -> bool: ...

    @abc.abstractmethod
    async def run_secrets(self, account_id: str, function_id: str) -> list[tuple[str, str, bytes]]:
        """(scope, name, ciphertext) of the account's secrets and the function's."""

    # -- events -----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def append_events(self, run_id: str, events: list[NewEvent]) -> list[Event]:
        """Append to an active run's log; events for an ended run are dropped (returns [])."""

    @abc.abstractmethod
    async def list_events(self, run_id: str, after_seq: int = 0, limit: int = 1000) -> list[Event]: ...

    # -- browser sessions -------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_session(self, session: SessionRecord) -> None: ...

    @abc.abstractmethod
    async def get_session(self, session_id: str) -> SessionRecord | None: ...

    @abc.abstractmethod
    async def list_sessions(self, account_id: str, only_active: bool, offset: int, limit: int) -> list[SessionRecord]:
        """The account's sessions, newest first."""

    @abc.abstractmethod
    async def record_session_activity(self, session_id: str, last_accessed_at: dt.datetime, steps: int) -> bool:
        """Save an open session's last access and step count; False if it has ended meanwhile."""

    @abc.abstractmethod
    async def finish_session(self, session: SessionRecord) -> bool:
        """Store how an active session ended (status, reason, times, steps); False if it had ended."""

    @abc.abstractmethod
    async def session_host_alive(self, owner_url: str) -> None:
        """The heartbeat of the process that hosts sessions at `owner_url`."""

    @abc.abstractmethod
    async def end_hosted_sessions(self, owner_url: str, closed_by: str) -> list[str]:
        """End (status `error`) the active sessions hosted at `owner_url`; their ids."""

    @abc.abstractmethod
    async def end_sessions_of_silent_hosts(self, alive_url: str, silent_s: float, closed_by: str) -> list[str]:
        """End (status `error`) the active sessions whose host, other than `alive_url`, has sent no
        heartbeat for `silent_s`; their ids."""
